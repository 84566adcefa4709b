"""Training statistics and their sinks: finished episodes from actor threads; metrics.jsonl (always),
TensorBoard event files and Weights & Biases runs (each switched on by config); CSV export."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np


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


def metrics_record(
    metrics, env_steps: int, updates: int, episodes: EpisodeLog, lags: list[int], steps: int, seconds: float
) -> dict[str, Any]:
    """One log line: counters, speed, episode statistics, losses and the policy lags since the last line."""
    transitions = max(float(metrics["num_transitions"]), 1.0)
    return {
        "step": env_steps,
        "updates": updates,
        "sps": steps / max(seconds, 1e-9),
        **episodes.drain(),
        "loss": float(metrics["loss"]),
        "pg_loss": float(metrics["pg_loss"]),
        "baseline_loss": float(metrics["baseline_loss"]),
        "entropy": float(metrics["entropy"]) / transitions,
        "grad_norm": float(metrics["grad_norm"]),
        **{name: float(metrics[name]) for name in ("value_mean", "value_std") if name in metrics},
        "policy_lag_mean": float(np.mean(lags)) if lags else 0.0,
        "policy_lag_max": max(lags, default=0),
        "policy_lag_counts": np.bincount(lags).tolist() if lags else [],  # [k]: rollouts k updates old
    }


class StageTimes:
    """Seconds spent in named stages of a loop since the last drain (one thread's stopwatch)."""

    def __init__(self):
        self._seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def time(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def add(self, stage: str, seconds: float) -> None:
        self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds

    def drain(self) -> dict[str, float]:
        """`{"<stage>_seconds": total}` since the last drain, then starts again from zero."""
        seconds, self._seconds = self._seconds, {}
        return {f"{stage}_seconds": value for stage, value in seconds.items()}


class MetricsWriter:
    """Appends one JSON object per line to `path`, flushed at once so a killed run keeps its lines."""

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        _drop_partial_last_line(path)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({k: _jsonable(v) for k, v in record.items()}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardWriter:
    """Writes every numeric field of a record as a scalar at `step` to TensorBoard event files in `logdir`."""

    def __init__(self, logdir: str):
        from tensorboardX import SummaryWriter  # imported here: only runs that ask for it pay for it

        self._writer = SummaryWriter(logdir)

    def write(self, record: dict[str, Any]) -> None:
        for name, value in _scalars(record).items():
            self._writer.add_scalar(name, value, global_step=record["step"])
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class WandbWriter:
    """Logs each record to a Weights & Biases run (wandb is optional: only this class imports it).

    The run id is kept in `<workdir>/wandb_run_id`, so a resumed training run continues the same W&B run.
    """

    def __init__(self, workdir: str, project: str, entity: str, config: Mapping[str, Any]):
        import wandb

        id_path = os.path.join(workdir, "wandb_run_id")
        if os.path.exists(id_path):
            with open(id_path, encoding="utf-8") as f:
                run_id = f.read().strip()
        else:
            run_id = uuid.uuid4().hex[:16]
            _write_atomically(id_path, run_id)
        self._run = wandb.init(
            project=project,
            entity=entity or None,
            config=json.loads(json.dumps(dict(config), default=list)),
            dir=workdir,
            id=run_id,
            resume="allow",
        )

    def write(self, record: dict[str, Any]) -> None:
        self._run.log(_scalars(record), step=record["step"])

    def close(self) -> None:
        self._run.finish()


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
            _write_atomically(path, text.getvalue())


def _append_csv_row(path: str, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)


class MetricSinks:
    """Every sink a run's config asks for, written together: metrics.jsonl always, then TensorBoard, W&B
    and Hsuanwu's CSV logs."""

    def __init__(
        self,
        workdir: str,
        *,
        tensorboard: bool,
        wandb_project: str,
        wandb_entity: str,
        config: Mapping,
        hsuanwu_logs: bool = False,
    ):
        os.makedirs(workdir, exist_ok=True)
        _write_atomically(
            os.path.join(workdir, "config.json"), json.dumps(dict(config), default=list, indent=1)
        )
        self._sinks = [MetricsWriter(os.path.join(workdir, "metrics.jsonl"))]
        if tensorboard:
            self._sinks.append(TensorBoardWriter(os.path.join(workdir, "tensorboard")))
        if wandb_project:
            self._sinks.append(WandbWriter(workdir, wandb_project, wandb_entity, config))
        if hsuanwu_logs:
            self._sinks.append(HsuanwuLogs(workdir))

    def write(self, record: dict[str, Any]) -> None:
        for sink in self._sinks:
            sink.write(record)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


def _scalars(record: dict[str, Any]) -> dict[str, float]:
    """The finite numeric fields of a record other than `step`."""
    return {
        name: value
        for name, value in ((k, _jsonable(v)) for k, v in record.items() if k != "step")
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def _write_atomically(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def _jsonable(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    value = float(value) if not isinstance(value, int) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _drop_partial_last_line(path: str) -> None:
    """Cuts a last line without its newline (a run killed mid-write): appending to it would garble the
    next record too. Complete lines are kept as they are."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


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
    _write_atomically(path, "".join(json.dumps(r) + "\n" for r in kept))


def write_csv(records: list[dict[str, Any]], path: str) -> None:
    """Writes metrics records as CSV: one row per record, one column per field seen in any record
    (in order of first appearance); a field a record lacks, or a null, is an empty cell."""
    columns = list(dict.fromkeys(name for record in records for name in record))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in record.items()} for record in records)
