"""Hsuanwu's `train.log` and `test.log`: the CSV logs a run in Hsuanwu's config layout also writes."""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from hsuanwu_jax.outputs.records import write_atomically


class HsuanwuLogs:
    """Hsuanwu's `train.log` and `test.log` in the workdir: CSV files with the columns Hsuanwu's logger
    wrote (hsuanwu/common/logger.py: sorted names, a header first), for users who read them with their
    own tools. `episode` counts finished training episodes; `total_time` is seconds since `train()` began."""

    TRAIN_COLUMNS = ("episode", "episode_length", "episode_reward", "fps", "step", "total_time")
    TEST_COLUMNS = ("episode", "episode_length", "episode_reward", "step", "total_time")
    FILES = ("train.log", "test.log")

    def __init__(self, workdir: str):
        self._train, self._test = (os.path.join(workdir, name) for name in self.FILES)

    def write(self, record: dict[str, Any]) -> None:
        common = {"step": record["step"], "episode": record["total_episodes"], "total_time": record["time"]}
        if record["episode_reward"] is not None:  # Hsuanwu logged only once episodes had finished
            row = {
                "episode_length": record["episode_length"],
                "episode_reward": record["episode_reward"],
                "fps": record["sps"],
            }
            _append_csv_row(self._train, self.TRAIN_COLUMNS, {**common, **row})
        if "test_episode_reward" in record:
            row = {
                "episode_length": record["test_episode_length"],
                "episode_reward": record["test_episode_reward"],
            }
            _append_csv_row(self._test, self.TEST_COLUMNS, {**common, **row})

    def close(self) -> None:
        pass  # each row is written and closed at once

    @classmethod
    def truncate(cls, workdir: str, last_step: int) -> None:
        """Keeps the rows with `step <= last_step` (a resumed run logs the later steps again)."""
        for name in cls.FILES:
            path = os.path.join(workdir, name)
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                kept = [row for row in reader if row["step"].isdigit() and int(row["step"]) <= last_step]
            text = io.StringIO()
            if reader.fieldnames:
                writer = csv.DictWriter(text, fieldnames=reader.fieldnames)
                writer.writeheader()
                writer.writerows(kept)
            write_atomically(path, text.getvalue())


def _append_csv_row(path: str, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)
