"""A rollout's T steps as one jitted `lax.scan` (EnvPool step, policy, sampling) through EnvPool's XLA
interface: `env.xla()` turns the env's send and receive into custom calls inside a jitted function, so a
rollout is one compiled call with no Python work per step. With the same key, params and identically seeded
envs it gives the same rollouts and episodes as the Python loop (python_rollout.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.core.acting_state import ENTRY_FIELDS, ActingState
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import Params, Trajectory

TRACKED_INFO = ("reward", "terminated")  # the info entries EpisodeTracker.update reads, where present


class XlaCarry(NamedTuple):
    """What a rollout hands the next: the envs' acting state and EnvPool's XLA handle."""

    handle: jax.Array  # uint8 [8]; threading it through every env call orders those calls
    state: ActingState


class EpisodeStep(NamedTuple):
    """`EpisodeTracker.update`'s arguments for one env step, in its order; `[T, B]` once stacked."""

    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict[str, jax.Array]  # the TRACKED_INFO entries the env has


class RolloutSteps(NamedTuple):
    """What the jitted rollout records at each of its T steps, `[T, B, ...]`."""

    entries: ActingState  # trajectory entries 0..T-1, without the core's state (entry T is the carry's)
    action: jax.Array
    log_prob: jax.Array
    episode: EpisodeStep


RolloutFn = Callable[[Params, jax.Array, XlaCarry], tuple[XlaCarry, jax.Array, RolloutSteps]]


def make_rollout_fn(
    *, env_step: Callable, policy_fn: PolicyFn, num_steps: int, env_action_dtype: np.dtype
) -> RolloutFn:
    """`rollout(params, key, carry) -> (carry, key, steps)`: `num_steps` env steps in one jitted scan.

    Step t is the Python loop's step t: the same policy call (so the same key sequence), its env action
    cast to the env's dtype, the same `ActingState.next`. Like the loop it sends actions without env ids:
    with `batch_size == num_envs` (as `making.make_env` makes them) EnvPool returns every env in its
    env-id slot, so no reordering is needed.

    It traces and runs with 64-bit types enabled because EnvPool's custom calls use the env's own
    dtypes (MuJoCo's are float64; `env.xla()` made with 64-bit types off declares them float32 and
    refuses the action). The policy is traced with them disabled, as in the loop: otherwise JAX's
    default dtypes (e.g. `jax.nn.one_hot`'s) become float64 and change the logits and samples.
    """

    def rollout(params, key, carry):
        def step(carry_and_key, _):
            carry, key = carry_and_key
            state = carry.state
            with jax.enable_x64(False):
                # What jit makes of the loop's NumPy observations: float64 becomes float32.
                obs = state.obs.astype(jax.dtypes.canonicalize_dtype(state.obs.dtype))
                policy, key = policy_fn(params, key, *state._replace(obs=obs).policy_inputs())
            handle, (obs, reward, terminated, truncated, info) = env_step(
                carry.handle, policy.env_action.astype(env_action_dtype)
            )
            info = {k: info[k] for k in TRACKED_INFO if k in info}
            steps = RolloutSteps(
                state._replace(core_state=()),
                policy.action,
                policy.log_prob,
                EpisodeStep(reward, terminated, truncated, info),
            )
            state = state.next(obs, reward, terminated, truncated, policy.action, policy.core_state)
            return (XlaCarry(handle, state), key), steps

        (carry, key), steps = jax.lax.scan(step, (carry, key), length=num_steps)
        return carry, key, steps

    jitted = jax.jit(rollout)

    def rollout_x64(params, key, carry):
        with jax.enable_x64(True):
            return jitted(params, key, carry)

    return rollout_x64


class XlaRollout:
    """Fills rollouts with one jitted call each; the envs' acting state stays on the actor device between
    them. Env and inference cannot be told apart within one call: the rollout's time is `rollout_seconds`,
    and `env_seconds` and `inference_seconds` stay 0."""

    STAGES = ("env_seconds", "inference_seconds", "rollout_seconds")

    @staticmethod
    def check_env(env) -> None:
        """Refuses an env without EnvPool's XLA interface."""
        if not hasattr(env, "xla"):
            raise ValueError(
                f"actor_mode='xla' needs an EnvPool env (it steps through env.xla()); {type(env).__name__} "
                "has no XLA interface (gymnasium vector envs step in Python): use actor_mode='python'"
            )

    def __init__(self, env, spec: EnvSpec, policy_fn: PolicyFn, num_steps: int, device, state: ActingState):
        self._num_steps = num_steps
        # 64-bit types on: env.xla() fixes its custom calls' dtypes now, and device_put would
        # otherwise turn MuJoCo's float64 observations into float32.
        with jax.enable_x64(True):
            handle, _, _, env_step = env.xla()
            self._carry = jax.device_put(XlaCarry(handle, state), device)
        self._rollout = make_rollout_fn(
            env_step=env_step,
            policy_fn=policy_fn,
            num_steps=num_steps,
            env_action_dtype=np.dtype(env.spec.action_array_spec["action"].dtype),
        )

    def fill(self, traj: Trajectory, params: Params, key: jax.Array, actor) -> jax.Array:
        """Writes one rollout into `traj`; returns the key after it. Episodes are tracked on the host
        afterwards, step by step, from the rollout's records (`actor.track`)."""
        jax.tree.map(
            lambda dst, src: np.copyto(dst, np.asarray(src)),
            traj.initial_core_state,
            self._carry.state.core_state,
        )
        started = time.perf_counter()
        actor.activity = "the jitted rollout (EnvPool's XLA steps and the policy)"
        self._carry, key, steps = self._rollout(params, key, self._carry)
        steps, last = jax.device_get((steps, self._carry.state._replace(core_state=())))
        actor.timings["rollout_seconds"] += time.perf_counter() - started
        T = self._num_steps
        for name in ENTRY_FIELDS:
            getattr(traj, name)[:T] = getattr(steps.entries, name)
            getattr(traj, name)[T] = getattr(last, name)
        traj.action[:T] = steps.action
        traj.behaviour_log_prob[:T] = steps.log_prob
        for t in range(T):
            actor.track(*jax.tree.map(lambda x, t=t: x[t], steps.episode))
        return key
