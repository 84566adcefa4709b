"""A fully jitted actor: the whole T-step rollout (EnvPool step, policy, sampling) is one `lax.scan`.

EnvPool's XLA interface (`env.xla()`) turns the env's send and receive into custom calls inside a
jitted function, so a rollout is one compiled call with no Python work per step. `XlaActor` is a
drop-in for `acting.Actor`: with the same key, params and identically seeded envs both give the
same rollouts and report the same episodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax.acting.actor import Actor
from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Params, Trajectory

TRACKED_INFO = ("reward", "terminated")  # the info entries EpisodeTracker.update reads, where present


class EnvFields(NamedTuple):
    """The per-env fields of one trajectory entry, each `[B, ...]` (`[T, B, ...]` stacked over steps)."""

    obs: jax.Array
    first: jax.Array
    prev_action: jax.Array
    reward: jax.Array
    done: jax.Array
    terminated: jax.Array


class XlaCarry(NamedTuple):
    """What a rollout hands the next: entry T's fields, the core's state and EnvPool's XLA handle."""

    handle: jax.Array  # uint8 [8]; threading it through every env call orders those calls
    fields: EnvFields
    core_state: CoreState


class EpisodeStep(NamedTuple):
    """`EpisodeTracker.update`'s arguments for one env step, in its order; `[T, B]` once stacked."""

    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict[str, jax.Array]  # the TRACKED_INFO entries the env has


class RolloutSteps(NamedTuple):
    """What the jitted rollout records at each of its T steps, `[T, B, ...]`."""

    fields: EnvFields  # trajectory entries 0..T-1 (entry T is the returned carry's)
    action: jax.Array
    log_prob: jax.Array
    episode: EpisodeStep


RolloutFn = Callable[[Params, jax.Array, XlaCarry], tuple[XlaCarry, jax.Array, RolloutSteps]]


def make_rollout_fn(
    *, env_step: Callable, policy_fn: PolicyFn, spec: EnvSpec, num_steps: int, env_action_dtype: np.dtype
) -> RolloutFn:
    """`rollout(params, key, carry) -> (carry, key, steps)`: `num_steps` env steps in one jitted scan.

    Step t is Actor.collect's step t: the same policy call (so the same key sequence), the action
    clipped as `EnvSpec.env_action` does and cast to the env's dtype, the same field updates. Like
    Actor it sends actions without env ids: with `batch_size == num_envs` (as `making.make_env` makes
    them) EnvPool returns every env in its env-id slot, so no reordering is needed.

    It traces and runs with 64-bit types enabled because EnvPool's custom calls use the env's own
    dtypes (MuJoCo's are float64; `env.xla()` made with 64-bit types off declares them float32 and
    refuses the action). The policy is traced with them disabled, as in Actor: otherwise JAX's
    default dtypes (e.g. `jax.nn.one_hot`'s) become float64 and change the logits and samples.
    """
    if not spec.is_discrete:
        low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)  # float64, as NumPy clips

    def env_action(action):
        if spec.is_discrete:
            return action.astype(env_action_dtype)
        return jnp.clip(action.astype(jnp.float64), low, high).astype(env_action_dtype)

    def rollout(params, key, carry):
        def step(carry_and_key, _):
            carry, key = carry_and_key
            f = carry.fields
            with jax.enable_x64(False):
                # What jit makes of Actor's NumPy observations: float64 becomes float32.
                obs = f.obs.astype(jax.dtypes.canonicalize_dtype(f.obs.dtype))
                policy, key = policy_fn(params, key, obs, f.prev_action, f.reward, f.first, carry.core_state)
            handle, (obs, reward, terminated, truncated, info) = env_step(
                carry.handle, env_action(policy.action)
            )
            fields = EnvFields(
                obs, f.done, policy.action, reward.astype(jnp.float32), terminated | truncated, terminated
            )
            info = {k: info[k] for k in TRACKED_INFO if k in info}
            steps = RolloutSteps(
                f, policy.action, policy.log_prob, EpisodeStep(reward, terminated, truncated, info)
            )
            return (XlaCarry(handle, fields, policy.core_state), key), steps

        (carry, key), steps = jax.lax.scan(step, (carry, key), length=num_steps)
        return carry, key, steps

    jitted = jax.jit(rollout)

    def rollout_x64(params, key, carry):
        with jax.enable_x64(True):
            return jitted(params, key, carry)

    return rollout_x64


class XlaActor(Actor):
    """`acting.Actor` with each rollout one jitted call through EnvPool's XLA interface.

    Same constructor, `collect`, `run` and attributes; the per-env fields between rollouts live on
    the device in an `XlaCarry` instead of Actor's host fields. The rollout's time is
    `timings["rollout_seconds"]`: env and inference cannot be told apart within one call, so
    `env_seconds` and `inference_seconds` stay 0.
    """

    def __init__(self, env, *args, **kwargs):
        """Takes `acting.Actor`'s arguments; `env` must be an EnvPool env."""
        if not hasattr(env, "xla"):
            raise ValueError(
                f"actor_mode='xla' needs an EnvPool env (it steps through env.xla()); {type(env).__name__} "
                "has no XLA interface (gymnasium vector envs step in Python): use actor_mode='python'"
            )
        super().__init__(env, *args, **kwargs)
        self.timings["rollout_seconds"] = 0.0
        # 64-bit types on: env.xla() fixes its custom calls' dtypes now, and device_put would
        # otherwise turn MuJoCo's float64 observations into float32.
        with jax.enable_x64(True):
            handle, _, _, env_step = env.xla()
            fields = EnvFields(
                self._obs, self._first, self._prev_action, self._reward, self._done, self._terminated
            )
            self._carry = jax.device_put(XlaCarry(handle, fields, self._core_state), self.device)
        self._rollout = make_rollout_fn(
            env_step=env_step,
            policy_fn=self._policy_fn,
            spec=self._spec,
            num_steps=self.num_steps,
            env_action_dtype=np.dtype(env.spec.action_array_spec["action"].dtype),
        )

    def collect(self, params: Params, buffer: Trajectory | None = None) -> Trajectory:
        """Runs `num_steps` env steps with `params` and returns the rollout `[T+1, B, ...]`, as Actor does.

        Episodes are tracked on the host afterwards, step by step, from the rollout's records.
        """
        traj = buffer if buffer is not None else self._allocate()
        jax.tree.map(
            lambda dst, src: np.copyto(dst, np.asarray(src)), traj.initial_core_state, self._carry.core_state
        )
        started = time.perf_counter()
        self.activity = "the jitted rollout (EnvPool's XLA steps and the policy)"
        self._carry, self.key, steps = self._rollout(params, self.key, self._carry)
        steps, last = jax.device_get((steps, self._carry.fields))
        self.timings["rollout_seconds"] += time.perf_counter() - started
        T = self.num_steps
        for name in EnvFields._fields:
            getattr(traj, name)[:T] = getattr(steps.fields, name)
            getattr(traj, name)[T] = getattr(last, name)
        traj.action[:T] = steps.action
        traj.behaviour_log_prob[:T] = steps.log_prob
        for t in range(T):
            finished = self._tracker.update(*jax.tree.map(lambda x, t=t: x[t], steps.episode))
            if finished:
                self._report_episodes(finished)
        self.boundary = (self.key, self.episodes)
        return traj


def make_actors(actor_mode: str, envs: list, keys, **actor_args) -> list[Actor]:
    """One actor per env: `XlaActor`s for `actor_mode="xla"`, else `Actor`s, each with its key of `keys`;
    `actor_args` are the other arguments of `acting.Actor`, by name."""
    actor_class = XlaActor if actor_mode == "xla" else Actor
    return [actor_class(env, key=k, **actor_args) for env, k in zip(envs, keys, strict=True)]
