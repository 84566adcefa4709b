"""The training loop's log: the sinks and the progress display (the primary process writes them), and what a
log line reports about the updates since the previous line (speed, policy lags, stage and actor times)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hsuanwu_jax.acting.batches import StageTimes
from hsuanwu_jax.acting.episodes import EpisodeLog
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.outputs.progress import Progress
from hsuanwu_jax.outputs.records import metrics_record
from hsuanwu_jax.outputs.sinks import MetricSinks
from hsuanwu_jax.runtime.compilation import COMPILE_STATS


class RunLog:
    """One `TrainingLoop.run`'s log, from env step `env_steps` to `target`. Every process keeps the interval
    (`lags`, `stages`, `interval_done`) so that all keep one schedule; only the `primary` one opens, builds
    and writes records. `actor_seconds()` gives the actor threads' stage totals so far."""

    def __init__(
        self,
        settings: Settings,
        workdir: str,
        *,
        target: int,
        env_steps: int,
        primary: bool,
        actor_seconds: Callable[[], dict[str, float]],
    ):
        self.primary = primary
        if primary:
            self._sinks = MetricSinks(
                workdir,
                tensorboard=settings.tensorboard,
                wandb_project=settings.wandb_project,
                wandb_entity=settings.wandb_entity,
                config=settings.config,
                hsuanwu_logs=settings.hsuanwu_form,
            )
            self._progress = Progress(settings.progress, total=target, initial=env_steps)
        self._started = self._last_time = self._now = time.perf_counter()
        self._last_steps = env_steps
        self.lags: list[int] = []  # policy lags of the rollouts learned from since the last line
        tasks = settings.task_ids
        # env steps of each task learned from since the last line (multi-task runs; None: one task)
        self._task_steps = dict.fromkeys(tasks, 0) if len(tasks) > 1 else None
        self.stages = StageTimes()
        self.last_record: dict[str, Any] = {}
        self._actor_seconds = actor_seconds
        self._actor_totals = actor_seconds()

    def count_tasks(self, batch_tasks: np.ndarray) -> None:
        """Counts a batch's env steps per task, from its `task` indices `[T+1, B]` (entry 0 starts no step)."""
        if self._task_steps is not None:
            counts = np.bincount(np.asarray(batch_tasks)[1:].ravel(), minlength=len(self._task_steps))
            for name, count in zip(self._task_steps, counts, strict=True):
                self._task_steps[name] += int(count)

    def advance(self, env_steps: int) -> None:
        if self.primary:
            self._progress.advance(env_steps)

    def record(self, metrics, env_steps: int, updates: int, episodes: EpisodeLog) -> dict[str, Any]:
        """The record of a log line at `env_steps`, from the update's `metrics` and the interval's counts."""
        self._now = time.perf_counter()
        seconds, steps = self._now - self._last_time, env_steps - self._last_steps
        record = metrics_record(
            metrics, env_steps, updates, episodes, self.lags, steps, seconds, self._task_steps
        )
        record["time"] = self._now - self._started
        record.update(COMPILE_STATS.totals())  # this process's, since it started
        totals = self._actor_seconds()
        record.update({k: totals[k] - self._actor_totals[k] for k in totals}, **self.stages.drain())
        self._actor_totals = totals
        return record

    def restart_clock(self) -> None:
        """The next line's time starts now (after a test, whose time is not training's)."""
        self._now = time.perf_counter()

    def write(self, record: dict[str, Any]) -> None:
        self._sinks.write(record)
        self._progress.log(record)
        self.last_record, self._last_time = record, self._now

    def interval_done(self, env_steps: int) -> None:
        """A log step passed (on every process): the next line's interval starts at `env_steps`."""
        self._last_steps, self.lags = env_steps, []
        if self._task_steps is not None:
            self._task_steps = dict.fromkeys(self._task_steps, 0)

    def close(self) -> None:
        if self.primary:
            self._progress.close()
            self._sinks.close()
