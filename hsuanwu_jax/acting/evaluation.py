"""Greedy evaluation: full episodes with the policy's mode on a test env; statistics and video frames."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from hsuanwu_jax.acting.episodes import EpisodeTracker
from hsuanwu_jax.acting.stall import StallLimit
from hsuanwu_jax.acting.watched_env import WatchedEnv
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core.acting_state import ActingState
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Params
from hsuanwu_jax.envs.atari_scores import aggregate_human_normalised, human_normalised
from hsuanwu_jax.envs.interface import check_obs, check_same_spec, checked_step, env_spec, num_envs_of
from hsuanwu_jax.envs.making import make_env
from hsuanwu_jax.envs.vector_env import as_batched_env
from hsuanwu_jax.runtime.compilation import jit_quick_compile


class Evaluator:
    """Play of given params on the run's test envs: `test()` statistics and `record()` videos.

    Owns the test env of each of the run's tasks (built from `settings` on first use, unless one is given for a
    single-task run) and the PRNG key of the next evaluation (`key`, part of the checkpointed run state).
    Envs are played through `WatchedEnv`: a step far slower than the others (`StallLimit` of the config) ends
    the play with a TimeoutError.
    """

    def __init__(
        self,
        settings: Settings,
        spec: EnvSpec,
        network: ImpalaNetwork,
        greedy_policy: PolicyFn,
        sample_policy: PolicyFn,
        key: jax.Array,
        env=None,
    ):
        self._settings, self._spec, self._network = settings, spec, network
        self._policies = {True: greedy_policy, False: sample_policy}
        self.greedy = settings.test_policy == "greedy"  # what a test plays when not told
        self.key = key
        self._limit = StallLimit.of(settings)
        self.tasks = settings.task_ids
        self._envs: dict[tuple[str, bool], WatchedEnv] = {}  # (task, like_training): made on first use
        if env is not None:
            if len(self.tasks) > 1:
                raise ValueError(
                    f"config field tasks={self.tasks}: a multi-task run makes each task's test env from the "
                    "config; pass no test_env"
                )
            self._envs[self.tasks[0], False] = self._watched(env)
            check_same_spec(env_spec(self._envs[self.tasks[0], False]), spec, "test_env")

    def test(
        self,
        params: Params,
        should_stop: Callable[[], bool] | None = None,
        greedy: bool | None = None,
        task: str | None = None,
    ) -> dict[str, Any]:
        """`num_test_episodes` episodes on the test env, greedy or with actions sampled as the actors do
        (None: as the config's `test_policy` says; `policy` in the result names it: "greedy" or "sampled";
        see `evaluate` for the statistics and for `should_stop`). With the config's `test_train_envs`, also
        on envs made with `env_kwargs` alone (`make_env(..., like_training=True)`: e.g. Procgen's training
        levels), whose statistics are the result's `train_envs`. In a multi-task run, on `task`'s test env,
        or (None) on each task's: `tasks` then holds each task's statistics (with its human-normalised score
        for an Atari game), and the aggregate is `episode_reward` (the tasks' mean), `num_episodes` (all),
        `worst_task` (the lowest human-normalised score, or the lowest return where some task has no
        reference scores), and for Atari games the median and IQM of the human-normalised scores with their
        95% confidence intervals over the test episodes (`atari_scores.aggregate_human_normalised`).
        `episode_rewards` lists each episode's return."""
        greedy = self.greedy if greedy is None else greedy
        if task is not None or len(self.tasks) == 1:
            return self._test_task(task or self.tasks[0], params, should_stop, greedy)
        per_task = {name: self._test_task(name, params, should_stop, greedy) for name in self.tasks}
        for name, result in per_task.items():
            normalised = human_normalised(name, result["episode_reward"])
            if normalised is not None:
                result["human_normalised"] = normalised
        returns = {name: result["episode_reward"] for name, result in per_task.items()}
        ranked = {
            name: result.get("human_normalised", result["episode_reward"])
            for name, result in per_task.items()
        }
        if any("human_normalised" not in result for result in per_task.values()):
            ranked = returns
        episodes = {name: result["episode_rewards"] for name, result in per_task.items()}
        return {
            "episode_reward": float(np.mean(list(returns.values()))),
            "num_episodes": sum(result["num_episodes"] for result in per_task.values()),
            "worst_task": min(ranked, key=ranked.get),
            "policy": policy_name(greedy),
            **aggregate_human_normalised(episodes),
            "tasks": per_task,
        }

    def record(
        self, params: Params, num_episodes: int, task: str | None = None
    ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Plays `num_episodes` episodes (as the config's `test_policy` says) on a fresh one-env test env of
        `task` (default: the run's first) with EnvPool's renderer; returns the frames (RGB `[H, W, 3]` uint8,
        one after the reset and one after every step) and the test statistics."""
        env = self._watched(make_env(self._settings, test=True, num_envs=1, render=True, task=task))
        frames: list[np.ndarray] = []
        try:
            result = self._play(
                params,
                env,
                num_episodes,
                after_step=lambda: frames.append(env.render()[0]),
                greedy=self.greedy,
            )
        finally:
            env.close()
        return frames, result

    def close(self) -> None:
        for env in self._envs.values():
            env.close()

    def _test_task(self, task: str, params: Params, should_stop, greedy: bool) -> dict[str, float]:
        if task not in self.tasks:
            raise ValueError(f"task={task!r} is not one of the run's tasks {self.tasks}")
        result = self._play_task(task, False, params, should_stop, greedy)
        if self._settings.test_train_envs:
            result["train_envs"] = self._play_task(task, True, params, should_stop, greedy)
        return result

    def _play_task(self, task: str, like_training: bool, params: Params, should_stop, greedy: bool):
        """`num_test_episodes` episodes on `task`'s test env, or its env `like_training`."""
        if (task, like_training) not in self._envs:
            env = self._watched(make_env(self._settings, test=True, task=task, like_training=like_training))
            name = f"{task}'s {'training-like ' if like_training else ''}test env"
            check_same_spec(env_spec(env), self._spec, name)
            self._envs[task, like_training] = env
        return self._play(
            params,
            self._envs[task, like_training],
            self._settings.num_test_episodes,
            should_stop=should_stop,
            greedy=greedy,
        )

    def _watched(self, env) -> WatchedEnv:
        return WatchedEnv(as_batched_env(env), self._limit, "the test env")

    def _play(
        self, params: Params, env, num_episodes: int, *, greedy: bool, after_step=None, should_stop=None
    ) -> dict[str, Any]:
        self.key, key = _split_in_two(self.key)
        core_state = self._network.initial_core_state(num_envs_of(env))
        result = evaluate(
            env,
            self._spec,
            self._policies[greedy],
            params,
            core_state,
            key,
            num_episodes,
            after_step,
            max_episode_steps=self._settings.test_max_episode_steps,
            should_stop=should_stop,
        )
        return {**result, "policy": policy_name(greedy)}


def policy_name(greedy: bool) -> str:
    """The test protocol's name, as results and metrics (`test_policy`) carry it."""
    return "greedy" if greedy else "sampled"


@jit_quick_compile
def _split_in_two(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`jax.random.split(key)` as one program (eagerly it is two, both compiled again in every process)."""
    first, second = jax.random.split(key)
    return first, second


class EvaluationStopped(Exception):
    """Raised by `evaluate` when its `should_stop()` turned true (e.g. SIGTERM during a scheduled test)."""


def evaluate(
    env,
    spec: EnvSpec,
    policy: PolicyFn,
    params: Params,
    initial_core_state: CoreState,
    key: jax.Array,
    num_episodes: int,
    after_step: Callable[[], None] | None = None,
    *,
    max_episode_steps: int = 108_000,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """Plays `num_episodes` episodes with `policy` (greedy, or sampling) on EnvPool `env` (reset first) and returns statistics.

    With N envs, each env plays its first ceil(num_episodes / N) episodes and the first
    `num_episodes` of those count, so short episodes are not favoured. The play stops after
    `max_episode_steps` env steps per episode an env owes (an env without a time limit cannot hang
    it): an episode still running then counts as it stands, and `num_cut_episodes` says how many did.
    `should_stop()`, checked after every step, ends the play early with `EvaluationStopped`. Observations
    that differ from the spec's shape or dtype are an `ObservationMismatch` naming the step.

    Returns `episode_reward` (mean, in the game's own units), `episode_reward_std`, `_min`, `_max`,
    `episode_length` (mean, env steps), `num_episodes` and `num_cut_episodes`. `after_step()`, if
    given, is called after the reset and after every step (e.g. to render a frame).
    """
    num_envs = num_envs_of(env)
    per_env = math.ceil(num_episodes / num_envs)
    results: list[list[tuple[float, int, bool]]] = [[] for _ in range(num_envs)]  # (return, length, cut)
    tracker = EpisodeTracker(num_envs)
    # The policy returns its next key on the params' device. Placed there from the start, every call has
    # the same argument placements: one compiled policy, not one for the first step and one for the rest.
    leaf = jax.tree.leaves(params)[0]
    if isinstance(leaf, jax.Array):
        key = jax.device_put(key, leaf.sharding)
    obs, _ = env.reset()
    check_obs(obs, spec, num_envs, "the test env's reset()")
    state = ActingState.initial(obs, spec, initial_core_state)
    if after_step is not None:
        after_step()
    for index in range(max_episode_steps * per_env):
        if all(len(r) >= per_env for r in results):
            break
        step, key = policy(params, key, *state.policy_inputs())
        action = np.asarray(step.action)
        obs, reward, terminated, truncated, info = checked_step(
            env,
            np.asarray(step.env_action),
            spec,
            num_envs,
            f"the test env's step() call {index + 1} of this test",
        )
        for index, episode_reward, length in tracker.update(reward, terminated, truncated, info):
            results[index].append((episode_reward, length, False))
        if after_step is not None:
            after_step()
        if should_stop is not None and should_stop():
            raise EvaluationStopped
        state = state.next(obs, reward, terminated, truncated, action, step.core_state)
    for index, finished in enumerate(results):
        if len(finished) < per_env:  # the step cap ended this env's episode: it counts as it stands
            finished.append((*tracker.running(index), True))
    return _statistics([e for per in results for e in per[:per_env]][:num_episodes])


def _statistics(episodes: list[tuple[float, int, bool]]) -> dict[str, float]:
    """`evaluate`'s statistics of `(return, length, cut)` episodes."""
    rewards = np.array([e[0] for e in episodes])
    lengths = np.array([e[1] for e in episodes])
    return {
        "episode_reward": float(rewards.mean()),
        "episode_reward_std": float(rewards.std()),
        "episode_reward_min": float(rewards.min()),
        "episode_reward_max": float(rewards.max()),
        "episode_length": float(lengths.mean()),
        "num_episodes": len(episodes),
        "num_cut_episodes": sum(e[2] for e in episodes),
        "episode_rewards": rewards.tolist(),  # each episode's return, in the order the envs are numbered
    }
