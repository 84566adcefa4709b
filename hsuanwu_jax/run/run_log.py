"""The training loop's log: the sinks and the progress display (the primary process writes them), and what a
log line reports about the updates since the previous line (speed, policy lags, stage and actor times)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
        self.stages = StageTimes()
        self.last_record: dict[str, Any] = {}
        self._actor_seconds = actor_seconds
        self._actor_totals = actor_seconds()

    def advance(self, env_steps: int) -> None:
        if self.primary:
            self._progress.advance(env_steps)

    def record(self, metrics, env_steps: int, updates: int, episodes: EpisodeLog) -> dict[str, Any]:
        """The record of a log line at `env_steps`, from the update's `metrics` and the interval's counts."""
        self._now = time.perf_counter()
        seconds, steps = self._now - self._last_time, env_steps - self._last_steps
        record = metrics_record(metrics, env_steps, updates, episodes, self.lags, steps, seconds)
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

    def close(self) -> None:
        if self.primary:
            self._progress.close()
            self._sinks.close()
