"""Episode statistics: each env's running return and length (`EpisodeTracker`, one per actor or test), and
the finished episodes of every actor thread collected for the log (`EpisodeLog`)."""

from __future__ import annotations

import threading

import numpy as np

FIRST_EPISODES = 32  # how many of a process's first episodes stand for the policy it started with


class EpisodeTracker:
    """Running return and length of each of B envs; collects finished episodes.

    Uses the game's own score and end where EnvPool reports them (`info["reward"]`, the unclipped
    reward, and `info["terminated"]`, game over rather than a lost life), so Atari statistics are
    per game even with reward clipping and episodic life.
    """

    def __init__(self, num_envs: int):
        self._return = np.zeros(num_envs, np.float64)
        self._length = np.zeros(num_envs, np.int64)
        self._reset_pending = np.zeros(num_envs, bool)

    def update(self, reward, terminated, truncated, info) -> list[tuple[int, float, int]]:
        """Adds one env step; returns `(env_index, episode_reward, episode_length)` of episodes that ended."""
        counted = ~self._reset_pending  # EnvPool's reset step after an episode end is not part of one
        self._return += np.where(counted, info.get("reward", reward), 0.0)
        self._length += counted
        game_over = np.asarray(info.get("terminated", terminated), bool) | truncated
        ended = np.flatnonzero(game_over)
        finished = [(int(i), float(self._return[i]), int(self._length[i])) for i in ended]
        self._return[ended] = 0.0
        self._length[ended] = 0
        self._reset_pending = np.asarray(terminated | truncated, bool)
        return finished

    def running(self, index: int) -> tuple[float, int]:
        """The return and length so far of env `index`'s current episode."""
        return float(self._return[index]), int(self._length[index])


class EpisodeLog:
    """Collects finished episodes from many actor threads; the trainer drains it at each log step. With
    several `task_names` (a multi-task run) each task's episodes are also reported on their own."""

    def __init__(self, total: int = 0, task_names: tuple[str, ...] = ()):
        self._lock = threading.Lock()
        self._episodes: list[tuple[int, float, int]] = []  # (task, reward, length)
        self.total = total  # episodes finished over the whole run (restored on resume)
        self._task_names = task_names if len(task_names) > 1 else ()
        self._first: list[float] = []  # the returns of this process's first FIRST_EPISODES episodes

    def add(self, episodes: list[tuple[int, float, int]], task: int = 0) -> None:
        """Takes `(env_index, episode_reward, episode_length)` tuples from an actor whose envs play `task`."""
        with self._lock:
            self._episodes.extend((task, reward, length) for _, reward, length in episodes)
            self.total += len(episodes)
            self._first.extend(reward for _, reward, _ in episodes[: FIRST_EPISODES - len(self._first)])

    @property
    def first_reward(self) -> float | None:
        """The mean return of the first FIRST_EPISODES episodes this process saw (of those there are so far;
        None before any): the level of the policy it started with, whatever it learned by the first log."""
        with self._lock:
            return sum(self._first) / len(self._first) if self._first else None

    def drain(self) -> dict[str, float | None]:
        """Mean reward and length of the episodes that ended since the last drain (None if none did), over
        every task and, in a multi-task run, per task (`episode_reward/<task>`, `episode_length/<task>`,
        `num_episodes/<task>`)."""
        with self._lock:
            episodes, self._episodes = self._episodes, []
        record = {**_means(episodes, ""), "total_episodes": self.total}
        for index, name in enumerate(self._task_names):
            record.update(_means([e for e in episodes if e[0] == index], f"/{name}"))
        return record


def _means(episodes: list[tuple[int, float, int]], suffix: str) -> dict[str, float | None]:
    count = len(episodes)
    return {
        f"episode_reward{suffix}": sum(r for _, r, _ in episodes) / count if count else None,
        f"episode_length{suffix}": sum(n for _, _, n in episodes) / count if count else None,
        f"num_episodes{suffix}": count,
    }
