"""Metrics records and metrics.jsonl: one record per log step, written line by line, read back skipping a
half-written line, truncated on resume; and as CSV."""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any

import numpy as np

from hsuanwu_jax.acting.episodes import EpisodeLog


def metrics_entropy(metrics) -> float:
    """The policy's entropy in an update's metrics, in nats per step (the loss holds its sum)."""
    return _per_transition(metrics, "entropy")["entropy"]


def metrics_record(
    metrics,
    env_steps: int,
    updates: int,
    episodes: EpisodeLog,
    lags: list[int],
    steps: int,
    seconds: float,
    task_steps: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One log line: counters, speed, episode statistics, losses and the policy lags since the last line. In
    a multi-task run (`task_steps`: each task's env steps learned from since the last line), each task's
    share of them (`env_steps_share/<task>`) and PopArt statistics (`value_mean/<task>`, `value_std/<task>`)."""
    value_stats = {}
    for name in ("value_mean", "value_std"):
        if name in metrics:
            values = np.atleast_1d(np.asarray(metrics[name], np.float64))
            if task_steps is None:
                value_stats[name] = float(values[0])
            else:
                value_stats.update(
                    {f"{name}/{task}": float(v) for task, v in zip(task_steps, values, strict=True)}
                )
    shares = {}
    if task_steps is not None:
        learned = max(sum(task_steps.values()), 1)
        shares = {f"env_steps_share/{task}": count / learned for task, count in task_steps.items()}
    return {
        "step": env_steps,
        "updates": updates,
        "sps": steps / max(seconds, 1e-9),
        **episodes.drain(),
        "loss": float(metrics["loss"]),
        "pg_loss": float(metrics["pg_loss"]),
        "baseline_loss": float(metrics["baseline_loss"]),
        "entropy": metrics_entropy(metrics),
        **_per_transition(metrics, "action_entropy"),
        **_per_transition(metrics, "policy_kl"),
        "grad_norm": float(metrics["grad_norm"]),
        **value_stats,
        **shares,
        "policy_lag_mean": float(np.mean(lags)) if lags else 0.0,
        "policy_lag_max": max(lags, default=0),
        "policy_lag_counts": np.bincount(lags).tolist() if lags else [],  # [k]: rollouts k updates old
    }


def _per_transition(metrics, name: str) -> dict[str, float]:
    """`{name: its sum over the update's transitions / their number}` where `metrics` has it, else {}."""
    if name not in metrics:
        return {}
    return {name: float(metrics[name]) / max(float(metrics["num_transitions"]), 1.0)}


class MetricsWriter:
    """Appends one JSON object per line to `path`, flushed at once so a killed run keeps its lines."""

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        _drop_partial_last_line(path)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({k: jsonable(v) for k, v in record.items()}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


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
    write_atomically(path, "".join(json.dumps(r) + "\n" for r in kept))


def write_csv(records: list[dict[str, Any]], path: str) -> None:
    """Writes metrics records as CSV: one row per record, one column per field seen in any record
    (in order of first appearance); a field a record lacks, or a null, is an empty cell."""
    columns = list(dict.fromkeys(name for record in records for name in record))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in record.items()} for record in records)


def write_atomically(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def jsonable(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
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
