"""Actors: the loop that steps one EnvPool env with the policy and assembles rollouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import jax
import numpy as np

from hsuanwu_jax.acting.episodes import EpisodeTracker
from hsuanwu_jax.acting.pipeline import BufferPool, ParamsSource, Rollout, RolloutQueue, allocate_trajectory
from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Params, Trajectory
from hsuanwu_jax.envs.interface import num_envs_of, step_env


class Actor:
    """Steps one EnvPool env (B envs, synchronous) with the newest params and fills rollouts.

    Between rollouts it keeps the env's current observation and the per-env step fields, so
    consecutive rollouts continue each other: entry 0 of a rollout is entry T of the previous one.
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
    ):
        self.env = env
        self._spec = spec
        self.num_envs = num_envs_of(env)
        self.num_steps = num_steps
        self._policy_fn = policy_fn
        self.device = device
        self._on_episodes = on_episodes
        self.episodes = 0  # episodes finished by this actor's envs (since it was built)
        self.set_key(jax.device_put(key, device))
        self._tracker = EpisodeTracker(self.num_envs)
        self._allocate = lambda: allocate_trajectory(spec, num_steps, self.num_envs, initial_core_state)
        self._buffers = [self._allocate() for _ in range(num_buffers)]
        self.timings = {"env_seconds": 0.0, "inference_seconds": 0.0}
        obs, _ = env.reset()
        self._obs_shape = (self.num_envs, *spec.obs_shape)
        _check_obs(obs, self._obs_shape, "reset()")
        zeros = np.zeros(self.num_envs)
        self._obs = obs
        self._first = np.ones(self.num_envs, bool)
        self._prev_action = np.zeros((self.num_envs, *spec.action_shape), spec.action_dtype)
        self._reward = zeros.astype(np.float32)
        self._done = zeros.astype(bool)
        self._terminated = zeros.astype(bool)
        self._core_state = jax.device_put(initial_core_state, device)
        # What the actor is doing, for the learner's progress watchdog: `busy_since` is the monotonic
        # time its current rollout started (None while it waits on the learner) and `activity` the call
        # it is in. Single attribute writes: safe to read from another thread.
        self.busy_since: float | None = None
        self.activity = "starting"

    def collect(self, params: Params, buffer: Trajectory | None = None) -> Trajectory:
        """Runs `num_steps` env steps with `params` and returns the rollout `[T+1, B, ...]`.

        Writes into `buffer` when given (one of the actor's preallocated buffers), else into a
        new one. Entry T's action and log-prob are left unset: the next rollout recomputes them
        with the params it acts with, and the learner only reads entry T's observation fields.
        """
        traj = buffer if buffer is not None else self._allocate()
        jax.tree.map(
            lambda dst, src: np.copyto(dst, np.asarray(src)), traj.initial_core_state, self._core_state
        )
        for t in range(self.num_steps + 1):
            traj.obs[t] = self._obs
            traj.first[t] = self._first
            traj.prev_action[t] = self._prev_action
            traj.reward[t] = self._reward
            traj.done[t] = self._done
            traj.terminated[t] = self._terminated
            if t == self.num_steps:
                break
            started = time.perf_counter()
            self.activity = "the policy step"
            step, self.key = self._policy_fn(
                params, self.key, self._obs, self._prev_action, self._reward, self._first, self._core_state
            )
            action, log_prob = jax.device_get((step.action, step.log_prob))
            self.timings["inference_seconds"] += time.perf_counter() - started
            traj.action[t] = action
            traj.behaviour_log_prob[t] = log_prob
            started = time.perf_counter()
            self.activity = "env.step()"
            obs, reward, terminated, truncated, info = step_env(self.env, self._spec.env_action(action))
            _check_obs(obs, self._obs_shape, "step()")
            self.timings["env_seconds"] += time.perf_counter() - started
            finished = self._tracker.update(reward, terminated, truncated, info)
            if finished:
                self._report_episodes(finished)
            self._core_state = step.core_state
            self._first = self._done
            self._obs, self._reward, self._prev_action = obs, reward.astype(np.float32), action
            self._done = terminated | truncated
            self._terminated = terminated
        self.boundary = (self.key, self.episodes)
        return traj

    def set_key(self, key: jax.Array) -> None:
        """Sets the PRNG key the next rollout starts from (e.g. a checkpoint's)."""
        self.key = key
        # The key and episode count at the end of the last whole rollout, one tuple assigned at once: what a
        # checkpoint taken from another thread saves, never a key from the middle of a rollout.
        self.boundary = (key, self.episodes)

    def _report_episodes(self, finished: list[tuple[int, float, int]]) -> None:
        self.episodes += len(finished)
        self._on_episodes(finished)

    def run(self, params_source: ParamsSource, rollouts: RolloutQueue, stop: threading.Event) -> None:
        """Fills rollouts into the queue until `stop` is set; each uses the newest params at its start."""
        pool = BufferPool(self._buffers, stop)
        while not stop.is_set():
            index = pool.acquire()
            params, version = params_source.latest()
            self.busy_since = time.monotonic()
            traj = self.collect(params, pool.buffers[index])
            self.busy_since = None
            rollouts.put(Rollout(traj, version, lambda index=index: pool.release(index)))


def _check_obs(obs, expected: tuple[int, ...], call: str) -> None:
    if np.shape(obs) != expected:
        raise ValueError(
            f"the env's {call} returned observations of shape {np.shape(obs)}, but its observation space "
            f"declares {expected[1:]} for each of its {expected[0]} envs ({expected} in all)"
        )
