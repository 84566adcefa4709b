"""Episode statistics: each env's running return and length (`EpisodeTracker`, one per actor or test), and
the finished episodes of every actor thread collected for the log (`EpisodeLog`)."""

from __future__ import annotations

import threading

import numpy as np


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
    """Collects finished episodes from many actor threads; the trainer drains it at each log step."""

    def __init__(self, total: int = 0):
        self._lock = threading.Lock()
        self._episodes: list[tuple[float, int]] = []
        self.total = total  # episodes finished over the whole run (restored on resume)

    def add(self, episodes: list[tuple[int, float, int]]) -> None:
        """Takes `(env_index, episode_reward, episode_length)` tuples from an actor."""
        with self._lock:
            self._episodes.extend((reward, length) for _, reward, length in episodes)
            self.total += len(episodes)

    def drain(self) -> dict[str, float | None]:
        """Mean reward and length of the episodes that ended since the last drain (None if none did)."""
        with self._lock:
            episodes, self._episodes = self._episodes, []
        if not episodes:
            return {
                "episode_reward": None,
                "episode_length": None,
                "num_episodes": 0,
                "total_episodes": self.total,
            }
        return {
            "episode_reward": sum(r for r, _ in episodes) / len(episodes),
            "episode_length": sum(n for _, n in episodes) / len(episodes),
            "num_episodes": len(episodes),
            "total_episodes": self.total,
        }
