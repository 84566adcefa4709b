"""Greedy evaluation: full episodes with the policy's mode on a test env."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import numpy as np

from hsuanwu_jax.envs import EnvSpec, EpisodeTracker, num_envs_of
from hsuanwu_jax.policy import PolicyFn
from hsuanwu_jax.types import CoreState, Params


def evaluate(
    env,
    spec: EnvSpec,
    greedy_policy: PolicyFn,
    params: Params,
    initial_core_state: CoreState,
    key: jax.Array,
    num_episodes: int,
    after_step: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Plays `num_episodes` episodes greedily on EnvPool `env` (reset first) and returns statistics.

    With N envs, each env plays its first ceil(num_episodes / N) episodes and the first
    `num_episodes` of those count, so short episodes are not favoured.

    Returns `episode_reward` (mean, in the game's own units), `episode_reward_std`, `_min`, `_max`,
    `episode_length` (mean, env steps) and `num_episodes`. `after_step()`, if given, is called after
    the reset and after every step (e.g. to render a frame).
    """
    num_envs = num_envs_of(env)
    per_env = math.ceil(num_episodes / num_envs)
    results: list[list[tuple[float, int]]] = [[] for _ in range(num_envs)]
    tracker = EpisodeTracker(num_envs)
    obs, _ = env.reset()
    first = np.ones(num_envs, bool)
    prev_action = np.zeros((num_envs, *spec.action_shape), spec.action_dtype)
    reward = np.zeros(num_envs, np.float32)
    done = np.zeros(num_envs, bool)
    core_state = initial_core_state
    if after_step is not None:
        after_step()
    while any(len(r) < per_env for r in results):
        step, key = greedy_policy(params, key, obs, prev_action, reward, first, core_state)
        action = np.asarray(step.action)
        obs, reward, terminated, truncated, info = env.step(spec.env_action(action))
        for index, episode_reward, length in tracker.update(reward, terminated, truncated, info):
            results[index].append((episode_reward, length))
        if after_step is not None:
            after_step()
        # EnvPool resets on the step after an episode ends: that step's observation is a first one.
        first, done = done, terminated | truncated
        prev_action, core_state = action, step.core_state
    episodes = [e for per in results for e in per[:per_env]][:num_episodes]
    rewards = np.array([e[0] for e in episodes])
    lengths = np.array([e[1] for e in episodes])
    return {
        "episode_reward": float(rewards.mean()),
        "episode_reward_std": float(rewards.std()),
        "episode_reward_min": float(rewards.min()),
        "episode_reward_max": float(rewards.max()),
        "episode_length": float(lengths.mean()),
        "num_episodes": len(episodes),
    }
