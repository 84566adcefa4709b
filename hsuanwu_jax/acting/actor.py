"""Actors: each steps one batched env with the newest params and fills rollouts for the learner. How a
rollout's T steps run is the actor's rollout part, chosen by `mode`: a Python loop (python_rollout.py) or one
jitted scan through EnvPool's XLA interface (xla_rollout.py); both give the same rollouts and episodes."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

import jax

from hsuanwu_jax.acting.episodes import EpisodeTracker
from hsuanwu_jax.acting.pipeline import BufferPool, ParamsSource, Rollout, RolloutQueue, allocate_trajectory
from hsuanwu_jax.acting.python_rollout import PythonRollout
from hsuanwu_jax.acting.xla_rollout import XlaRollout
from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.core.acting_state import ActingState
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Params, Trajectory
from hsuanwu_jax.envs.interface import check_obs, num_envs_of

ROLLOUTS = {"python": PythonRollout, "xla": XlaRollout}  # actor_mode -> how a rollout's steps run


class Actor:
    """Steps one batched env (B envs, synchronous) with the newest params and fills rollouts `[T+1, B, ...]`.

    Its rollout part keeps the envs' `ActingState` between rollouts, so consecutive rollouts continue each
    other: entry 0 of a rollout is entry T of the previous one. `mode` "python" steps the env from a Python
    loop; "xla" runs each rollout as one jitted call (EnvPool envs only).
    """

    def __init__(
        self,
        env,
        spec: EnvSpec,
        policy_fn: PolicyFn,
        initial_core_state: CoreState,
        num_steps: int,
        key: jax.Array,
        device: jax.Device,
        num_buffers: int = 2,
        on_episodes: Callable[[list[tuple[int, float, int]]], None] = lambda episodes: None,
        mode: str = "python",
        name: str = "actor-0",
        task: int = 0,
    ):
        rollout = ROLLOUTS[mode]
        self.name = name  # its thread's name; errors and the watchdog name the actor by it
        rollout.check_env(env)
        self.env = env
        self.num_envs = num_envs_of(env)
        self.num_steps = num_steps
        self.device = device
        self._on_episodes = on_episodes
        self.episodes = 0  # episodes finished by this actor's envs (since it was built)
        self.set_key(jax.device_put(key, device))
        self._tracker = EpisodeTracker(self.num_envs)
        self.task = task  # the index of the task its envs play (0 in a single-task run); rollouts carry it
        self._allocate = lambda: allocate_trajectory(spec, num_steps, self.num_envs, initial_core_state, task)
        self._buffers = [self._allocate() for _ in range(num_buffers)]
        self.timings = dict.fromkeys(rollout.STAGES, 0.0)  # seconds spent in each stage of the rollouts
        obs, _ = env.reset()
        check_obs(obs, spec, self.num_envs, f"{name}'s env.reset()")
        state = ActingState.initial(obs, spec, jax.device_put(initial_core_state, device))
        self._rollout = rollout(env, spec, policy_fn, num_steps, device, state)
        # What the actor is doing, for the learner's progress watchdog: `busy_since` is the monotonic
        # time its current rollout started (None while it waits on the learner), `activity` the call it
        # is in, and `slowest_rollout` the seconds of its slowest rollout after its first (None before
        # its second ends): the first compiles its programs. Single attribute writes: safe to read from
        # another thread. A rollout during which the process was paused (SIGSTOP) counts its pause: that
        # only raises the limit.
        self.busy_since: float | None = None
        self.activity = "starting"
        self.slowest_rollout: float | None = None
        self.rollouts = 0  # rollouts collected so far (counted before each is queued)

    def collect(self, params: Params, buffer: Trajectory | None = None) -> Trajectory:
        """Runs `num_steps` env steps with `params` and returns the rollout `[T+1, B, ...]`.

        Writes into `buffer` when given (one of the actor's preallocated buffers), else into a
        new one. Entry T's action and log-prob are left unset: the next rollout recomputes them
        with the params it acts with, and the learner only reads entry T's observation fields.
        """
        traj = buffer if buffer is not None else self._allocate()
        started = self.busy_since = time.monotonic()
        self.key = self._rollout.fill(traj, params, self.key, self)
        self.busy_since = None
        if self.rollouts:
            self.slowest_rollout = max(time.monotonic() - started, self.slowest_rollout or 0.0)
        self.rollouts += 1
        self.boundary = (self.key, self.episodes)
        return traj

    def track(self, reward, terminated, truncated, info) -> None:
        """Adds one env step to the episode statistics; reports the episodes it ended."""
        finished = self._tracker.update(reward, terminated, truncated, info)
        if finished:
            self.episodes += len(finished)
            self._on_episodes(finished)

    def set_key(self, key: jax.Array) -> None:
        """Sets the PRNG key the next rollout starts from (e.g. a checkpoint's)."""
        self.key = key
        # The key and episode count at the end of the last whole rollout, one tuple assigned at once: what a
        # checkpoint taken from another thread saves, never a key from the middle of a rollout.
        self.boundary = (key, self.episodes)

    def run(self, params_source: ParamsSource, rollouts: RolloutQueue, stop: threading.Event) -> None:
        """Fills rollouts into the queue until `stop` is set; each uses the newest params at its start."""
        pool = BufferPool(self._buffers, stop)
        while not stop.is_set():
            index = pool.acquire()
            params, version = params_source.latest()
            traj = self.collect(params, pool.buffers[index])
            rollouts.put(Rollout(traj, version, lambda index=index: pool.release(index)))


def make_actors(
    actor_mode: str, envs: list, keys, tasks: list[int], on_episodes: Callable, **actor_args
) -> list[Actor]:
    """One actor per env, `actor-<index>`, each with its key of `keys`, its task index of `tasks` (its
    finished episodes reported as `on_episodes(episodes, task)`) and rollouts of `actor_mode` ("python" or
    "xla"); `actor_args` are the other arguments of `Actor`, by name."""
    return [
        Actor(
            env,
            key=k,
            mode=actor_mode,
            name=f"actor-{index}",
            task=task,
            on_episodes=functools.partial(on_episodes, task=task),
            **actor_args,
        )
        for index, (env, k, task) in enumerate(zip(envs, keys, tasks, strict=True))
    ]
