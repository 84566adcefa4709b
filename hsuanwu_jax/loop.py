"""The training loop: batches from the actors, updates on the learner mesh, params published back, and
one schedule for logging, testing and checkpointing.

One iteration, in order: dispatch the update on the batch in hand (asynchronous); assemble the next batch
on the host while it runs; wait for its metrics and refuse non-finite ones; publish the new params to the
actors; then whatever the schedule says is due (log with a test, checkpoint) and the stop agreement.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax import sharding
from hsuanwu_jax.checkpoint import RunCheckpoints
from hsuanwu_jax.evaluation import Evaluator
from hsuanwu_jax.learner import LearnerStep
from hsuanwu_jax.metrics import EpisodeLog, MetricSinks, StageTimes, read_metrics, truncate_metrics
from hsuanwu_jax.pipeline import BatchAssembler, ParamsSource, RolloutQueue, StopRequests, WorkerGroup
from hsuanwu_jax.progress import Progress
from hsuanwu_jax.settings import Settings
from hsuanwu_jax.types import LearnerState, RunState, Trajectory

JOIN_TIMEOUT_SECONDS = 10.0


class Learner:
    """The learner's current state on the mesh and the env steps trained on; `dispatch` advances both."""

    def __init__(self, learner_step: LearnerStep, mesh, state: LearnerState, actor_device: jax.Device):
        self._step, self._mesh = learner_step, mesh
        self.state = sharding.replicate(state, mesh)
        self.env_steps = 0  # counted by the training loop, which knows how many steps a batch holds
        self._copy_to_actor_device = sharding.make_local_copier(mesh, actor_device)

    def dispatch(self, batch: Trajectory) -> dict[str, jax.Array]:
        """Starts one update on this process's host batch `[T+1, batch_size, ...]`; returns its metrics as
        device arrays (the update runs asynchronously until they are fetched)."""
        self.state, metrics = self._step(self.state, sharding.shard_trajectory(batch, self._mesh))
        return metrics

    def update_step(self) -> int:
        return int(sharding.fetch(self.state.update_step))

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self._copy_to_actor_device(self.state.params)


class Due(NamedTuple):
    log: bool
    test: bool
    checkpoint: bool


class Schedule:
    """When logging, testing and checkpointing are due, in env steps.

    Tests and checkpoints fall on multiples of `test_every` / `checkpoint_every` (0: never; a
    checkpoint is still written when training ends); a log line is written `log_every` env steps
    after the previous one, with every test, and when training ends.
    """

    def __init__(self, env_steps: int, *, log_every: int, test_every: int, checkpoint_every: int):
        self._log_every, self._test_every, self._checkpoint_every = log_every, test_every, checkpoint_every
        self._last_log = env_steps
        self._next_test = _next_multiple(env_steps, test_every)
        self._next_checkpoint = _next_multiple(env_steps, checkpoint_every)

    def due(self, env_steps: int, finished: bool) -> Due:
        test = env_steps >= self._next_test
        log = finished or test or env_steps - self._last_log >= self._log_every
        return Due(log, test, finished or env_steps >= self._next_checkpoint)

    def logged(self, env_steps: int, tested: bool) -> None:
        self._last_log = env_steps
        if tested:
            self._next_test = _next_multiple(env_steps, self._test_every)

    def checkpointed(self, env_steps: int) -> None:
        self._next_checkpoint = _next_multiple(env_steps, self._checkpoint_every)


def _next_multiple(steps: int, every: int) -> float:
    """The first multiple of `every` above `steps` (infinity when `every` is 0: never)."""
    return (steps // every + 1) * every if every > 0 else math.inf


class TrainingLoop:
    """Runs actor threads and the learner together until a target number of env steps.

    Built once per trainer from its long-lived parts; `run(target)` starts the actor threads, runs the
    loop, and stops and joins the threads in a fixed order whatever happens. `test()` greedily plays
    the current params; `run_state()` is the state a checkpoint holds at this moment.
    """

    def __init__(
        self,
        *,
        s: Settings,
        workdir: str,
        learner: Learner,
        actors: list,
        batches: BatchAssembler,
        episodes: EpisodeLog,
        checkpoints: RunCheckpoints,
        evaluator: Evaluator,
    ):
        self._s, self._workdir, self._learner, self._actors = s, workdir, learner, actors
        self._batches, self._episodes, self._checkpoints = batches, episodes, checkpoints
        self._evaluator = evaluator
        self._metrics_path = os.path.join(workdir, "metrics.jsonl")

    def run_state(self) -> RunState:
        """The state a checkpoint holds, as it is now."""
        return RunState(
            learner=self._learner.state,
            actor_keys=np.stack([np.asarray(actor.key) for actor in self._actors]),
            test_key=np.asarray(self._evaluator.key),
            env_steps=self._learner.env_steps,
            total_episodes=self._episodes.total,
        )

    def resume(self) -> None:
        """Continues from the newest readable checkpoint in the workdir, if there is one (metrics logged
        after it are dropped, to be logged again); a workdir that has metrics but no checkpoint is
        refused rather than silently overwritten."""
        restored = self._checkpoints.restore_newest(self.run_state())
        if restored is None:
            if sharding.any_process(sharding.is_primary() and bool(read_metrics(self._metrics_path))):
                raise ValueError(
                    f"workdir {self._workdir!r} holds a metrics.jsonl but no checkpoint to resume from: "
                    "choose another workdir or remove that one"
                )
            return
        self._learner.state, self._learner.env_steps = restored.learner, restored.env_steps
        for actor, key in zip(self._actors, restored.actor_keys, strict=True):
            if jax.process_index() > 0:  # the checkpoint holds process 0's keys; others derive theirs
                key = jax.random.fold_in(key, jax.process_index())
            actor.key = jax.device_put(key, actor.device)
        self._evaluator.key = jnp.asarray(restored.test_key)
        self._episodes.total = restored.total_episodes
        if sharding.is_primary():
            truncate_metrics(self._metrics_path, restored.env_steps)
        print(
            f"resuming from the checkpoint at env step {restored.env_steps:,} in {self._checkpoints.directory}",
            flush=True,
        )

    def run(self, target: int) -> tuple[dict[str, Any], bool]:
        """Trains to `target` env steps or an agreed stop request; returns `(last record, stopped early)`."""
        stop = threading.Event()
        workers = WorkerGroup(stop)
        rollouts = RolloutQueue(self._s.queue_size, stop)
        params_source = ParamsSource(self._learner.actor_params(), self._learner.update_step())
        for index, actor in enumerate(self._actors):
            workers.start(f"actor-{index}", functools.partial(actor.run, params_source, rollouts, stop))
        try:
            with StopRequests() as stop_requested:
                result = self._learn(target, rollouts, workers, params_source, stop_requested)
        finally:
            alive = workers.join(JOIN_TIMEOUT_SECONDS)
            rollouts.drain()
        workers.raise_if_failed()
        if alive:
            raise RuntimeError(f"actor threads did not stop within {JOIN_TIMEOUT_SECONDS} s: {alive}")
        return result

    def _learn(self, target, rollouts, workers, params_source, stop_requested) -> tuple[dict[str, Any], bool]:
        """The loop itself. Every process runs it in lockstep; only the primary one logs and tests."""
        s, learner = self._s, self._learner
        primary = sharding.is_primary()
        if primary:
            sinks = MetricSinks(
                self._workdir,
                tensorboard=s.tensorboard,
                wandb_project=s.wandb_project,
                wandb_entity=s.wandb_entity,
                config=s.config,
            )
            progress = Progress(s.progress, total=target, initial=learner.env_steps)
        schedule = Schedule(
            learner.env_steps,
            log_every=s.log_every,
            test_every=s.test_every,
            checkpoint_every=s.checkpoint_every,
        )
        started = last_log_time = time.perf_counter()
        last_log_steps, last_record, lags = learner.env_steps, {}, []
        stages = StageTimes()
        actor_totals = self._actor_seconds()
        try:
            batch, versions = self._batches.next(rollouts, workers, stages)
            while True:
                version = learner.update_step()
                lags.extend(version - v for v in versions)
                with stages.time("update_dispatch"):
                    metrics = learner.dispatch(batch)
                learner.env_steps += s.steps_per_update
                finished = learner.env_steps >= target
                if not finished:  # assembled on the host while the update runs
                    batch, versions = self._batches.next(rollouts, workers, stages)
                with stages.time("update_wait"):
                    metrics = sharding.fetch(metrics)
                self._check_finite(metrics)
                with stages.time("publish"):
                    params_source.publish(learner.actor_params(), version + 1)
                due = schedule.due(learner.env_steps, finished)
                if primary:
                    progress.advance(learner.env_steps)
                if primary and due.log:
                    now = time.perf_counter()
                    seconds, steps = now - last_log_time, learner.env_steps - last_log_steps
                    record = metrics_record(metrics, learner, self._episodes, lags, steps, seconds)
                    record["time"] = now - started
                    totals = self._actor_seconds()
                    record.update({k: totals[k] - actor_totals[k] for k in totals}, **stages.drain())
                    actor_totals = totals
                    if due.test:
                        record.update(
                            {f"test_{k}": v for k, v in self._evaluator.test(learner.actor_params()).items()}
                        )
                        now = time.perf_counter()
                    sinks.write(record)
                    progress.log(record)
                    last_record, last_log_steps, last_log_time, lags = record, learner.env_steps, now, []
                    schedule.logged(learner.env_steps, due.test)
                stopped_early = sharding.any_process(stop_requested()) and not finished
                if due.checkpoint or stopped_early:
                    self._checkpoints.save(self.run_state())
                    schedule.checkpointed(learner.env_steps)
                if finished or stopped_early:
                    return last_record, stopped_early
        finally:
            if primary:
                progress.close()
                sinks.close()

    def _check_finite(self, metrics) -> None:
        if np.isfinite(metrics["loss"]) and np.isfinite(metrics["grad_norm"]):
            return
        steps = self._checkpoints.steps()
        kept = f"the newest checkpoint is at env step {steps[-1]:,}" if steps else "no checkpoint was written"
        raise FloatingPointError(
            f"non-finite loss ({metrics['loss']}) or gradient norm ({metrics['grad_norm']}) at update "
            f"{self._learner.update_step()} (env step {self._learner.env_steps:,}); training stopped and {kept}"
        )

    def _actor_seconds(self) -> dict[str, float]:
        """Seconds all actor threads together spent so far in each of their stages (`actor_<stage>_seconds`)."""
        return {
            f"actor_{name}": sum(actor.timings[name] for actor in self._actors)
            for name in self._actors[0].timings
        }


def metrics_record(
    metrics, learner: Learner, episodes: EpisodeLog, lags: list[int], steps: int, seconds: float
):
    """One log line: counters, speed, episode statistics, losses and the policy lags since the last line."""
    transitions = max(float(metrics["num_transitions"]), 1.0)
    return {
        "step": learner.env_steps,
        "updates": learner.update_step(),
        "sps": steps / max(seconds, 1e-9),
        **episodes.drain(),
        "loss": metrics["loss"],
        "pg_loss": metrics["pg_loss"],
        "baseline_loss": metrics["baseline_loss"],
        "entropy": metrics["entropy"] / transitions,
        "grad_norm": metrics["grad_norm"],
        "policy_lag_mean": float(np.mean(lags)) if lags else 0.0,
        "policy_lag_max": max(lags, default=0),
        "policy_lag_counts": np.bincount(lags).tolist() if lags else [],  # [k]: rollouts k updates old
    }
