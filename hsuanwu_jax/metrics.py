"""Training statistics and their sinks: finished episodes from actor threads, metrics.jsonl."""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any


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


class MetricsWriter:
    """Appends one JSON object per line to `path`, flushed at once so a killed run keeps its lines."""

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({k: _jsonable(v) for k, v in record.items()}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _jsonable(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    value = float(value) if not isinstance(value, int) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def format_progress(record: dict[str, Any]) -> str:
    """A one-line summary of a metrics record for the terminal."""
    reward = record.get("episode_reward")
    reward_text = "   n/a" if reward is None else f"{reward:8.2f}"
    return (
        f"step {record['step']:>11,} | sps {record['sps']:>9,.0f} | episode_reward {reward_text} | "
        f"loss {record['loss']:9.3f} | entropy {record['entropy']:.3f} | lag {record['policy_lag_mean']:.2f}"
    )


def read_metrics(path: str) -> list[dict[str, Any]]:
    """The complete records of a metrics.jsonl; a half-written or garbled line (a killed run) is skipped."""
    records = []
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "step" in record:
                records.append(record)
    return records


def truncate_metrics(path: str, last_step: int) -> None:
    """Rewrites `path` (atomically) keeping only complete records with `step <= last_step`: a resumed
    run redoes the steps after its checkpoint and must not log them twice."""
    kept = [r for r in read_metrics(path) if r["step"] <= last_step]
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
    os.replace(temporary, path)
