"""The training loop: batches from the actors, updates on the learner mesh, params published back, and
one schedule (schedule.py) for logging, testing and checkpointing.

One iteration, in order: dispatch the update on the batch in hand (asynchronous); assemble the next batch
on the host while it runs; wait for its metrics and refuse non-finite ones; publish the new params to the
actors; then whatever the schedule says is due (log with a test, checkpoint) and the stop agreement.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax.acting.batches import BatchAssembler
from hsuanwu_jax.acting.episodes import EpisodeLog
from hsuanwu_jax.acting.evaluation import EvaluationStopped, Evaluator
from hsuanwu_jax.acting.pipeline import POLL_SECONDS, ParamsSource, RolloutQueue
from hsuanwu_jax.acting.stall import StallLimit
from hsuanwu_jax.acting.workers import StopRequests, WorkerGroup
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core.types import RunState, Trajectory
from hsuanwu_jax.outputs.hsuanwu_logs import HsuanwuLogs
from hsuanwu_jax.outputs.records import metrics_entropy, read_metrics, truncate_metrics
from hsuanwu_jax.parallel.failures import report_failure
from hsuanwu_jax.parallel.hosts import any_process, is_primary
from hsuanwu_jax.parallel.mesh import fetch
from hsuanwu_jax.run.checkpoints import RunCheckpoints
from hsuanwu_jax.run.collapse_alarm import CollapseAlarm
from hsuanwu_jax.run.learner import Learner
from hsuanwu_jax.run.run_log import RunLog
from hsuanwu_jax.run.schedule import Due, Schedule
from hsuanwu_jax.run.stall_alarm import StallAlarm
from hsuanwu_jax.run.watch import ActorWatch

JOIN_TIMEOUT_SECONDS = 10.0


class TrainingLoop:
    """Runs actor threads and the learner together until a target number of env steps.

    Built once per trainer from its long-lived parts; `run(target)` starts the actor threads, runs the
    loop, and stops and joins the threads in a fixed order whatever happens. `test()` greedily plays
    the current params; `run_state()` is the state a checkpoint holds at this moment. `max_entropy`: the
    uniform policy's entropy (`EnvSpec.max_entropy`), for the stall alarm.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        workdir: str,
        learner: Learner,
        actors: list,
        batches: BatchAssembler,
        episodes: EpisodeLog,
        checkpoints: RunCheckpoints,
        evaluator: Evaluator,
        max_entropy: float | None = None,
    ):
        self._settings, self._workdir, self._learner, self._actors = settings, workdir, learner, actors
        self._batches, self._episodes, self._checkpoints = batches, episodes, checkpoints
        self._evaluator = evaluator
        self._episodes_before = 0  # episodes of earlier runs, restored from the checkpoint
        # Actor threads that did not stop when asked: their envs may still be in use.
        self.stuck_actors: list[str] = []
        self._metrics_path = os.path.join(workdir, "metrics.jsonl")
        self._has_checkpoint = False  # whether the workdir holds a checkpoint of this run
        self._collapse_alarm = CollapseAlarm()
        self._stall_alarm = StallAlarm(
            target_steps=settings.num_train_steps,
            max_grad_norm=settings.max_grad_norm,
            max_entropy=max_entropy,
        )

    def check_usable(self) -> None:
        """Refuses to act or train again once actor threads did not stop when asked."""
        if self.stuck_actors:
            raise RuntimeError(
                f"actor threads {self.stuck_actors} did not stop when asked and may still step their "
                "envs: this trainer cannot act or train again; close() it and build a new one"
            )

    def run_state(self) -> RunState:
        """The state a checkpoint holds, as it is now: the learner's, and each actor's key and episode count
        at the end of its last whole rollout (actor threads may be in the middle of the next one)."""
        boundaries = [actor.boundary for actor in self._actors]
        return RunState(
            learner=self._learner.state,
            actor_keys=np.stack([np.asarray(key) for key, _ in boundaries]),
            test_key=np.asarray(self._evaluator.key),
            env_steps=self._learner.env_steps,
            total_episodes=self._episodes_before + sum(episodes for _, episodes in boundaries),
        )

    def resume(self) -> None:
        """Continues from the newest readable checkpoint in the workdir, if there is one (metrics logged
        after it are dropped, to be logged again); a workdir that has metrics but no checkpoint is
        refused rather than silently overwritten."""
        restored = self._checkpoints.restore_newest(self.run_state())
        if restored is None:
            if any_process(is_primary() and bool(read_metrics(self._metrics_path))):
                raise ValueError(
                    f"workdir {self._workdir!r} holds a metrics.jsonl but no checkpoint to resume from: "
                    "choose another workdir or remove that one"
                )
            return
        self._learner.state, self._learner.env_steps = restored.learner, restored.env_steps
        self._has_checkpoint = True
        for actor, key in zip(self._actors, restored.actor_keys, strict=True):
            if jax.process_index() > 0:  # the checkpoint holds process 0's keys; others derive theirs
                key = jax.random.fold_in(key, jax.process_index())
            actor.set_key(jax.device_put(key, actor.device))
        self._evaluator.key = jnp.asarray(restored.test_key)
        self._episodes_before = restored.total_episodes - sum(actor.episodes for actor in self._actors)
        self._episodes.total = restored.total_episodes
        if is_primary():
            truncate_metrics(self._metrics_path, restored.env_steps)
            HsuanwuLogs.truncate(self._workdir, restored.env_steps)
        print(
            f"resuming from the checkpoint at env step {restored.env_steps:,} in {self._checkpoints.directory}",
            flush=True,
        )

    def run(self, target: int) -> tuple[dict[str, Any], bool]:
        """Trains to `target` env steps or an agreed stop request; returns `(last record, stopped early)`."""
        stop = threading.Event()
        workers = WorkerGroup(stop)
        rollouts = RolloutQueue(self._settings.queue_size, stop)
        params_source = ParamsSource(self._learner.actor_params(), self._learner.update_step())
        collected_before = [actor.rollouts for actor in self._actors]
        for actor in self._actors:
            workers.start(actor.name, functools.partial(actor.run, params_source, rollouts, stop))
        # Traced and compiled (or loaded from the cache) here while the actors compile their rollouts, rather
        # than after their first rollouts arrive: on a warm start the tracing is most of the learner's cost.
        self._learner.compile(self._batches.empty_batch)
        watch = ActorWatch(StallLimit.of(self._settings))
        check = functools.partial(self._check_progress, workers, watch)
        try:
            with StopRequests() as stop_requested:
                self._await_every_actor(collected_before, check)
                result = self._learn(target, rollouts, check, params_source, stop_requested)
        except BaseException as error:
            report_failure(error)  # the other processes may be waiting in a collective
            raise
        finally:
            alive = workers.join(JOIN_TIMEOUT_SECONDS, stuck=watch.stuck)
            rollouts.drain()
            if alive:  # their envs may still be in use: the trainer must not act, train or close them
                self.stuck_actors = alive
        workers.raise_if_failed()
        if alive:
            raise RuntimeError(f"actor threads did not stop within {JOIN_TIMEOUT_SECONDS} s: {alive}")
        return result

    def _await_every_actor(self, collected_before: list[int], check) -> None:
        """Waits until every actor has collected a rollout in this run (`collected_before`: each one's count
        at its start), calling `check()` (which may raise) between short waits. The first batch is taken only
        then: an actor whose programs compile a second later would otherwise see the others fill the first
        updates alone, and in a multi-task run its task would be missing from them (for a whole short run)."""
        while any(a.rollouts <= n for a, n in zip(self._actors, collected_before, strict=True)):
            check()
            time.sleep(POLL_SECONDS)

    def _check_progress(self, workers: WorkerGroup, watch: ActorWatch) -> None:
        """Raises an actor thread's exception, or a TimeoutError naming an actor that has been busy on one
        rollout for longer than its limit (while the process ran; `StallLimit`) and the call it is in."""
        workers.raise_if_failed()
        watch.check(self._actors)

    def _learn(self, target, rollouts, check, params_source, stop_requested) -> tuple[dict[str, Any], bool]:
        """The loop itself. Every process runs it in lockstep; only the primary one logs and tests."""
        settings, learner = self._settings, self._learner
        log = RunLog(
            settings,
            self._workdir,
            target=target,
            env_steps=learner.env_steps,
            primary=is_primary(),
            actor_seconds=self._actor_seconds,
        )
        schedule = Schedule(
            learner.env_steps,
            log_every=settings.log_every,
            test_every=settings.test_every,
            checkpoint_every=settings.checkpoint_every,
        )
        try:
            batch, versions = self._batches.next(rollouts, check, log.stages)
            while True:
                version = learner.update_step()
                log.lags.extend(version - v for v in versions)
                log.count_tasks(batch.task)
                with log.stages.time("update_dispatch"):
                    metrics = learner.dispatch(batch)
                learned, learner.env_steps = batch, learner.env_steps + settings.steps_per_update
                finished = learner.env_steps >= target
                if not finished:  # assembled on the host while the update runs
                    batch, versions = self._batches.next(rollouts, check, log.stages)
                with log.stages.time("update_wait"):
                    metrics = fetch(metrics)
                self._check_finite(metrics, learned)
                self._stall_alarm.see_rewards(learned.reward)
                self._collapse_alarm.first_update(metrics_entropy(metrics))
                with log.stages.time("publish"):
                    params_source.publish(learner.actor_params(), version + 1)
                stopped_early = any_process(stop_requested()) and not finished
                due = schedule.due(learner.env_steps, finished, stopping=stopped_early)
                self._do_due(due, metrics, log, schedule, stop_requested)
                if finished or stopped_early:
                    return log.last_record, stopped_early
        finally:
            log.close()

    def _do_due(self, due: Due, metrics, log: RunLog, schedule: Schedule, stop_requested) -> None:
        """What the schedule says is due after an update: a log line (with a test), a checkpoint."""
        env_steps = self._learner.env_steps
        log.advance(env_steps)
        if due.log and self._settings.checkpoint_every and not self._has_checkpoint:
            # No metrics line before a checkpoint: a run killed after its first lines and before its
            # first periodic checkpoint would leave a workdir that resume() refuses.
            self._checkpoints.save(self.run_state())
            self._has_checkpoint = True
        if log.primary and due.log:
            record = log.record(metrics, env_steps, self._learner.update_step(), self._episodes)
            if due.test:
                record.update(self._scheduled_test(stop_requested))
                log.restart_clock()
            warning = self._collapse_alarm.check(record, self._episodes.first_reward)
            if warning:
                record["collapse_warning"] = warning
            stalls = self._stall_alarm.check(record, self._episodes.first_reward)
            if stalls:
                record["stall_warning"] = "; ".join(stalls)
            log.write(record)
        if due.log:  # on every process, so they keep one schedule (only the primary one writes)
            log.interval_done(env_steps)
            schedule.logged(env_steps, due.test)
        if due.checkpoint:
            self._checkpoints.save(self.run_state())  # a no-op when just written above
            self._has_checkpoint = True
            schedule.checkpointed(env_steps)

    def _scheduled_test(self, stop_requested) -> dict[str, float]:
        """`test_*` fields of a test (`test_policy`); none when a stop request (SIGTERM, Ctrl-C) cut it short."""
        try:
            result = self._evaluator.test(self._learner.actor_params(), should_stop=stop_requested)
        except EvaluationStopped:
            return {}
        per_task = result.pop("tasks", {})
        return {
            **{f"test_{k}": v for k, v in _scalars(result).items()},
            **{f"test_{k}/{task}": v for task, stats in per_task.items() for k, v in _scalars(stats).items()},
        }

    def _check_finite(self, metrics, batch: Trajectory) -> None:
        """Stops training on a non-finite loss or gradient, naming the update and what the batch held."""
        if np.isfinite(metrics["loss"]) and np.isfinite(metrics["grad_norm"]):
            return
        steps = self._checkpoints.steps()
        kept = f"the newest checkpoint is at env step {steps[-1]:,}" if steps else "no checkpoint was written"
        bad_inputs = [
            name
            for name in ("obs", "reward")
            if np.issubdtype(getattr(batch, name).dtype, np.floating)
            and not np.isfinite(getattr(batch, name)).all()
        ]
        cause = (
            f"; the env produced non-finite {' and '.join(bad_inputs)} in this batch" if bad_inputs else ""
        )
        raise FloatingPointError(
            f"non-finite loss ({metrics['loss']}) or gradient norm ({metrics['grad_norm']}) at update "
            f"{self._learner.update_step()} (env step {self._learner.env_steps:,}){cause}; training stopped "
            f"and {kept}"
        )

    def _actor_seconds(self) -> dict[str, float]:
        """Seconds all actor threads together spent so far in each of their stages (`actor_<stage>_seconds`)."""
        return {
            f"actor_{name}": sum(actor.timings[name] for actor in self._actors)
            for name in self._actors[0].timings
        }


def _scalars(result: dict[str, Any]) -> dict[str, Any]:
    """A test result without its lists (each episode's return): metrics lines hold scalars; the statistics
    of the envs like training (`train_envs`) as `train_envs_<name>`."""
    nested = {f"train_envs_{k}": v for k, v in result.get("train_envs", {}).items()}
    return {k: v for k, v in {**result, **nested}.items() if not isinstance(v, (list, dict))}
