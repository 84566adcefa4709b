"""`DistributedTrainer`: the one orchestrator. It owns the config, devices, threads and current state,
and hands everything else to pure functions and small components:

  EnvPool envs -> Actor threads (acting.py) -> RolloutQueue (pipeline.py) -> batch on the learner mesh
  -> jitted data-parallel update (learner.py over losses.py / vtrace.py) -> params published to actors.
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax import config as config_lib
from hsuanwu_jax import sharding
from hsuanwu_jax.acting import Actor, allocate_trajectory, make_policy_fn
from hsuanwu_jax.checkpoint import Checkpointer
from hsuanwu_jax.distributions import get_distribution
from hsuanwu_jax.envs import EnvSpec, as_batched_env, env_spec, make_env, num_envs_of
from hsuanwu_jax.evaluation import evaluate
from hsuanwu_jax.export import (
    Policy,
    check_spec,
    init_params,
    load_policy,
    read_export,
    spec_to_json,
    write_export,
)
from hsuanwu_jax.learner import make_learner_step
from hsuanwu_jax.losses import make_impala_loss
from hsuanwu_jax.metrics import EpisodeLog, MetricSinks, StageTimes, read_metrics, truncate_metrics
from hsuanwu_jax.networks import ImpalaNetwork
from hsuanwu_jax.optim import make_optimizer
from hsuanwu_jax.pipeline import ParamsSource, RolloutQueue, StopRequests, WorkerGroup
from hsuanwu_jax.progress import Progress
from hsuanwu_jax.types import LearnerState, Trajectory
from hsuanwu_jax.video import check_video_path, write_video
from hsuanwu_jax.xla_acting import XlaActor

JOIN_TIMEOUT_SECONDS = 10.0
CHECKPOINT_FORMAT = "hsuanwu_jax.checkpoint/1"
# Fields that fix the shapes of the checkpointed state: resuming with other values cannot work.
_STATE_SHAPE_FIELDS = ("env_id", "encoder", "mlp_hidden_sizes", "use_lstm", "lstm_size", "num_actors")
_TIME_MAJOR_FIELDS = tuple(f for f in Trajectory._fields if f != "initial_core_state")


class DistributedTrainer:
    """IMPALA on EnvPool with a jitted V-trace learner, with the seed's `act/train/test/save` face.

    Args:
      cfgs: a ConfigDict (see `hsuanwu_jax.config.default_config` for every field), a dict or an
        omegaconf DictConfig.
      train_env: an EnvPool env or a list of them, one per actor thread (`num_actors` of them, each
        with `num_envs` envs); gymnasium vector envs work too (see `GymnasiumVectorEnv`); `None`
        builds them with `make_env(cfgs)`.
      test_env: an EnvPool (or gymnasium vector) env for `test()`; `None` builds one with
        `make_env(cfgs, test=True)` on first use.
    """

    def __init__(self, cfgs, train_env=None, test_env=None):
        s = config_lib.validate(cfgs)
        if s.multi_host:
            sharding.initialize_distributed(
                coordinator_address=s.coordinator_address,
                num_processes=s.num_processes,
                process_id=s.process_id,
                timeout_seconds=s.distributed_timeout_seconds,
            )
            s = config_lib.validate(cfgs, num_processes=jax.process_count())
        self.settings = s
        train_envs = make_env(s.config, process_index=jax.process_index()) if train_env is None else train_env
        train_envs = list(train_envs) if isinstance(train_envs, (list, tuple)) else [train_envs]
        train_envs = [as_batched_env(env) for env in train_envs]
        test_env = None if test_env is None else as_batched_env(test_env)
        self.spec = _check_envs(train_envs, s)
        self._test_env = test_env
        if test_env is not None:
            _check_same_spec(env_spec(test_env), self.spec, "test_env")

        if s.multi_host:
            learner_devices = jax.devices()
            local_learners = jax.local_device_count()
        else:
            learner_devices = sharding.select_devices(s.learner_device_ids, "learner_device_ids")
            local_learners = len(learner_devices)
        if s.batch_size % local_learners:
            fits = [
                n for n in range(s.num_envs, 4 * s.batch_size + 1, s.num_envs) if n % local_learners == 0
            ][:3]
            raise ValueError(
                f"batch_size={s.batch_size} must split evenly over this process's {local_learners} learner "
                f"devices and be a multiple of num_envs={s.num_envs}: e.g. {fits}, or set learner_device_ids"
            )
        learner_chunks = s.learner_chunks or _default_learner_chunks(
            s.encoder, s.batch_size // local_learners, learner_devices[0].platform
        )
        if (s.batch_size // local_learners) % learner_chunks:
            raise ValueError(
                f"learner_chunks={s.learner_chunks} must divide each learner device's batch of "
                f"{s.batch_size // local_learners} envs (batch_size={s.batch_size} over {local_learners} devices)"
            )
        actor_ids = None if s.actor_device_id is None else [s.actor_device_id]
        self._actor_device = sharding.select_devices(actor_ids, "actor_device_id")[0]
        self._mesh = sharding.learner_mesh(learner_devices)
        self._copy_to_actor_device = sharding.make_local_copier(self._mesh, self._actor_device)
        xla_actor_device = self._actor_device.platform in ("cpu", "gpu", "cuda", "rocm")
        xla_envs = all(hasattr(env, "xla") for env in train_envs)
        actor_mode = (
            s.actor_mode if s.actor_mode != "auto" else ("xla" if xla_actor_device and xla_envs else "python")
        )
        if actor_mode == "xla" and not xla_actor_device:
            raise ValueError(
                f"actor_mode='xla' runs EnvPool's XLA custom calls, which exist for CPU and GPU devices only; "
                f"the actor device is a {self._actor_device.platform} device: use actor_mode='python' or "
                "set actor_device_id to a CPU or GPU device"
            )

        self._network_args = {
            "action_size": self.spec.action_size,
            "distribution": self.spec.distribution,
            "encoder": s.encoder,
            "mlp_hidden_sizes": tuple(s.mlp_hidden_sizes),
            "use_lstm": s.use_lstm,
            "lstm_size": s.lstm_size,
            "weight_init": s.weight_init,
        }
        self.network = ImpalaNetwork(**self._network_args)
        distribution = get_distribution(self.spec.distribution)
        init_key, actors_key, self._test_key = jax.random.split(jax.random.PRNGKey(s.seed), 3)
        actors_key = jax.random.fold_in(actors_key, jax.process_index())  # each host its own streams
        params = self._initial_params(init_key)
        optimizer = make_optimizer(
            lr=s.lr,
            eps=s.eps,
            alpha=s.alpha,
            max_grad_norm=s.max_grad_norm,
            num_updates=s.num_updates,
            warmup_updates=math.ceil(s.lr_warmup_steps / s.steps_per_update),
        )
        state = LearnerState(params, optimizer.init(params), jnp.zeros((), jnp.int32))
        self.state = sharding.replicate(state, self._mesh)
        loss_fn = make_impala_loss(
            apply_fn=self.network.apply,
            distribution=distribution,
            discount=s.discount,
            baseline_coef=s.baseline_coef,
            ent_coef=s.ent_coef,
            clip_rho_threshold=s.clip_rho_threshold,
            clip_pg_rho_threshold=s.clip_pg_rho_threshold,
            lambda_=s.vtrace_lambda,
            reward_scale=s.reward_scale,
        )
        step_fn = make_learner_step(
            loss_fn=loss_fn, optimizer=optimizer, axis_name=sharding.BATCH_AXIS, num_chunks=learner_chunks
        )
        self._learner_step = sharding.data_parallel(step_fn, self._mesh)
        self._greedy_policy = make_policy_fn(self.network, distribution, greedy=True)
        self._episodes = EpisodeLog()
        self._core_template = self.network.initial_core_state(s.batch_size)
        sample_policy = make_policy_fn(self.network, distribution, greedy=False)
        self.actor_mode, self.learner_chunks = actor_mode, learner_chunks  # what "auto" and 0 resolved to
        actor_class = XlaActor if actor_mode == "xla" else Actor
        self.actors = [
            actor_class(
                env,
                self.spec,
                sample_policy,
                self.network.initial_core_state(s.num_envs),
                s.num_steps,
                key,
                self._actor_device,
                on_episodes=self._episodes.add,
            )
            for env, key in zip(train_envs, jax.random.split(actors_key, len(train_envs)), strict=True)
        ]
        self.env_steps = 0
        self.stopped_early = False  # set when train() ended on SIGTERM or Ctrl-C
        self._last_record: dict[str, Any] = {}
        self.workdir = s.workdir or os.path.join("runs", s.env_id)
        self._metrics_path = os.path.join(self.workdir, "metrics.jsonl")
        self._checkpointer = Checkpointer(os.path.join(self.workdir, "checkpoints"), s.checkpoint_keep)
        self._resume()

    # ----------------------------------------------------------------------------- public face

    def act(self, actor_index: int = 0) -> Trajectory:
        """Collects one rollout `[T+1, num_envs, ...]` (host arrays) with actor `actor_index` and the
        current params, without learning; the actor's envs continue from where they were."""
        return self.actors[actor_index].collect(self.actor_params())

    def update(self, batch: Trajectory) -> dict[str, float]:
        """One learner update on this process's host batch `[T+1, batch_size, ...]` (e.g. from `act`),
        without actors, env-step counting or logging; returns its metrics. For benchmarks and tests:
        every process of a multi-host run must call it together."""
        self.state, metrics = self._learner_step(self.state, sharding.shard_trajectory(batch, self._mesh))
        return sharding.fetch(metrics)

    def train(self, num_steps: int | None = None) -> dict[str, Any]:
        """Trains for `num_steps` more env steps (default: until `num_train_steps`, which also bounds
        it); returns the last metrics record. In a multi-host run every process calls it.

        Writes one line to `<workdir>/metrics.jsonl` and prints progress every `log_every` env steps,
        and a checkpoint every `checkpoint_every` env steps and when training ends. SIGTERM (the
        preemption signal) or a first Ctrl-C stops at the next update with a checkpoint and sets
        `stopped_early`; running again (or resuming in a new process) continues from there. An
        exception in any actor thread or env stops all threads and is re-raised here.
        """
        s = self.settings
        target = (
            s.num_train_steps if num_steps is None else min(s.num_train_steps, self.env_steps + num_steps)
        )
        if self.env_steps >= target:
            return self._last_record
        stop = threading.Event()
        workers = WorkerGroup(stop)
        rollouts = RolloutQueue(s.queue_size, stop)
        params_source = ParamsSource(self.actor_params(), self._update_step())
        for index, actor in enumerate(self.actors):
            workers.start(f"actor-{index}", functools.partial(actor.run, params_source, rollouts, stop))
        try:
            with StopRequests() as stop_requested:
                self._learn(target, rollouts, workers, params_source, stop_requested)
        finally:
            alive = workers.join(JOIN_TIMEOUT_SECONDS)
            rollouts.drain()
        workers.raise_if_failed()
        if alive:
            raise RuntimeError(f"actor threads did not stop within {JOIN_TIMEOUT_SECONDS} s: {alive}")
        return self._last_record

    def _learn(self, target: int, rollouts, workers, params_source, stop_requested) -> None:
        """The learner loop: update, publish, log, test and checkpoint until `target` env steps or a
        stop request. Every process runs it in lockstep; only the primary one logs and tests."""
        s = self.settings
        primary = sharding.is_primary()
        sinks = progress = None
        if primary:
            sinks = MetricSinks(
                self.workdir,
                tensorboard=s.tensorboard,
                wandb_project=s.wandb_project,
                wandb_entity=s.wandb_entity,
                config=s.config,
            )
            progress = Progress(s.progress, total=target, initial=self.env_steps)
        started = last_log_time = time.perf_counter()
        last_log_steps = self.env_steps
        next_test = _next_multiple(self.env_steps, s.test_every)
        next_checkpoint = _next_multiple(self.env_steps, s.checkpoint_every)
        lags: list[int] = []
        stages = StageTimes()
        actor_seconds = self._actor_seconds()
        try:
            batch, versions = self._next_batch(rollouts, workers, stages)
            while True:
                version = self._update_step()
                lags.extend(version - v for v in versions)
                with stages.time("update_dispatch"):
                    self.state, metrics = self._learner_step(
                        self.state, sharding.shard_trajectory(batch, self._mesh)
                    )
                self.env_steps += s.steps_per_update
                finished = self.env_steps >= target
                if not finished:  # assembled on the host while the update runs
                    batch, versions = self._next_batch(rollouts, workers, stages)
                with stages.time("update_wait"):
                    metrics = sharding.fetch(metrics)
                self._check_finite(metrics)
                with stages.time("publish"):
                    params_source.publish(self.actor_params(), version + 1)
                if primary:
                    progress.advance(self.env_steps)
                test_due = s.test_every > 0 and self.env_steps >= next_test
                if primary and (finished or test_due or self.env_steps - last_log_steps >= s.log_every):
                    now = time.perf_counter()
                    record = self._record(metrics, lags, self.env_steps - last_log_steps, now - last_log_time)
                    record["time"] = now - started
                    totals = self._actor_seconds()
                    record.update({k: totals[k] - actor_seconds[k] for k in totals}, **stages.drain())
                    actor_seconds = totals
                    if test_due:
                        record.update({f"test_{k}": v for k, v in self.test().items()})
                        next_test = _next_multiple(self.env_steps, s.test_every)
                        now = time.perf_counter()
                    sinks.write(record)
                    progress.log(record)
                    self._last_record = record
                    last_log_steps, last_log_time, lags = self.env_steps, now, []
                self.stopped_early = sharding.any_process(stop_requested()) and not finished
                if finished or self.stopped_early or self.env_steps >= next_checkpoint:
                    self._save_checkpoint()
                    next_checkpoint = _next_multiple(self.env_steps, s.checkpoint_every)
                if finished or self.stopped_early:
                    break
        finally:
            if primary:
                progress.close()
                sinks.close()
        if self.stopped_early:
            print(
                f"stopped at env step {self.env_steps:,}: checkpoint written; run again to resume", flush=True
            )

    def _check_finite(self, metrics) -> None:
        if np.isfinite(metrics["loss"]) and np.isfinite(metrics["grad_norm"]):
            return
        steps = self._checkpointer.steps()
        kept = f"the newest checkpoint is at env step {steps[-1]:,}" if steps else "no checkpoint was written"
        raise FloatingPointError(
            f"non-finite loss ({metrics['loss']}) or gradient norm ({metrics['grad_norm']}) at update "
            f"{self._update_step()} (env step {self.env_steps:,}); training stopped and {kept}"
        )

    def test(self) -> dict[str, float]:
        """Greedy episodes on the test env: `num_test_episodes` of them, one per test env where possible.

        Returns `episode_reward` (mean), `episode_reward_std`, `episode_reward_min`,
        `episode_reward_max`, `episode_length` (mean) and `num_episodes`.
        """
        if self._test_env is None:
            self._test_env = make_env(self.settings.config, test=True)
            _check_same_spec(env_spec(self._test_env), self.spec, "test_env")
        return self._play_greedily(self._test_env, self.settings.num_test_episodes)

    def _play_greedily(self, env, num_episodes: int, after_step=None) -> dict[str, float]:
        """`evaluate` with the current params and the next test key (see `evaluation.evaluate`)."""
        self._test_key, key = jax.random.split(self._test_key)
        core_state = self.network.initial_core_state(num_envs_of(env))
        return evaluate(
            env,
            self.spec,
            self._greedy_policy,
            self.actor_params(),
            core_state,
            key,
            num_episodes,
            after_step,
        )

    def record(self, path: str, num_episodes: int = 1, fps: float = 25.0) -> dict[str, Any]:
        """Plays `num_episodes` greedy episodes on one fresh test env and writes them as a video to
        `path` (.gif, or .mp4 with imageio-ffmpeg installed), frames from EnvPool's renderer (RGB;
        for Atari the emulator's screen). Returns `path`, `num_frames` and the test statistics
        (`episode_reward`, ...). In a notebook: `IPython.display.Image(path)` shows a GIF."""
        check_video_path(path)
        env = make_env(self.settings.config, test=True, num_envs=1, render=True)
        frames: list[np.ndarray] = []
        try:
            result = self._play_greedily(env, num_episodes, after_step=lambda: frames.append(env.render()[0]))
        finally:
            env.close()
        write_video(path, frames, fps)
        return {"path": path, "num_frames": len(frames), **result}

    def save(self, path: str | None = None) -> str:
        """Writes a model export (params as msgpack; network, specs and config as JSON; no pickle)
        to `path` (default `<workdir>/export`), atomically; returns the path. `load_policy(path)`
        or `DistributedTrainer.load(path)` reads it back for inference; `init_model_path` trains on
        from it."""
        path = path or os.path.join(self.workdir, "export")
        params = sharding.fetch(self.state.params)
        if not sharding.is_primary():
            return path  # one export per run: process 0 writes it
        metadata = {
            "network": self._network_args,
            "spec": spec_to_json(self.spec),
            "config": self.settings.config,
            "env_steps": self.env_steps,
        }
        return write_export(path, params, metadata)

    @staticmethod
    def load(path: str, env=None, *, greedy: bool = True) -> Policy:
        """The policy in a model export (see `hsuanwu_jax.load_policy`), for inference."""
        return load_policy(path, env, greedy=greedy)

    def close(self) -> None:
        """Closes the envs and the checkpoint manager; the trainer cannot act afterwards."""
        self._checkpointer.close()
        for actor in self.actors:
            actor.env.close()
        if self._test_env is not None:
            self._test_env.close()

    # ----------------------------------------------------------------------------- internals

    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "params": self.state.params,
            "opt_state": self.state.opt_state,
            "update_step": self.state.update_step,
            "actor_keys": np.stack([np.asarray(actor.key) for actor in self.actors]),
            "test_key": np.asarray(self._test_key),
            "env_steps": np.asarray(self.env_steps, np.int64),
            "total_episodes": np.asarray(self._episodes.total, np.int64),
        }

    def _save_checkpoint(self) -> None:
        metadata = {"format": CHECKPOINT_FORMAT, "config": self.settings.config, "env_steps": self.env_steps}
        self._checkpointer.save(
            self.env_steps, self._checkpoint_state(), json.loads(json.dumps(metadata, default=list))
        )

    def _resume(self) -> None:
        """Continues from the newest readable checkpoint in the workdir, if there is one.

        A workdir that has metrics but no checkpoint is refused rather than silently overwritten.
        """
        restored = self._checkpointer.restore_newest(self._checkpoint_state(), self._check_resumable)
        if restored is None:
            if sharding.any_process(sharding.is_primary() and bool(read_metrics(self._metrics_path))):
                raise ValueError(
                    f"workdir {self.workdir!r} holds a metrics.jsonl but no checkpoint to resume from: "
                    "choose another workdir or remove that one"
                )
            return
        step, state, _ = restored
        self.state = LearnerState(state["params"], state["opt_state"], state["update_step"])
        for actor, key in zip(self.actors, state["actor_keys"], strict=True):
            if jax.process_index() > 0:  # the checkpoint holds process 0's keys; others derive theirs
                key = jax.random.fold_in(key, jax.process_index())
            actor.key = jax.device_put(key, self._actor_device)
        self._test_key = jnp.asarray(state["test_key"])
        self.env_steps = int(state["env_steps"])
        self._episodes.total = int(state["total_episodes"])
        if sharding.is_primary():
            truncate_metrics(self._metrics_path, step)
        print(
            f"resuming from the checkpoint at env step {step:,} in {self._checkpointer.directory}", flush=True
        )

    def _check_resumable(self, metadata: dict[str, Any]) -> None:
        """Refuses a checkpoint whose state cannot fit this config, naming the field that differs."""
        saved = metadata.get("config", {})
        for field in _STATE_SHAPE_FIELDS:
            current = json.loads(json.dumps(self.settings.config[field], default=list))
            if field in saved and saved[field] != current:
                raise ValueError(
                    f"config field {field}={self.settings.config[field]!r} differs from {saved[field]!r} in the "
                    f"checkpoint in {self._checkpointer.directory}: its state cannot be resumed with this "
                    f"config; set {field} back or choose another workdir"
                )

    def _initial_params(self, key: jax.Array):
        """Fresh params, or those of the export at `init_model_path` (checked against the envs)."""
        path = self.settings.init_model_path
        if not path:
            return init_params(self.network, self.spec, key)
        network, spec, params, _ = read_export(path)
        check_spec(spec, self.spec, f"init_model_path={path!r}")
        differences = [
            f"{field}: export {getattr(network, field)!r}, config {value!r}"
            for field, value in self._network_args.items()
            if field != "weight_init" and getattr(network, field) != value  # init: fresh params only
        ]
        if differences:
            raise ValueError(f"init_model_path={path!r} holds a different network: " + "; ".join(differences))
        hint = ""
        if not self.settings.lr_warmup_steps:
            hint = (
                "; the optimizer starts empty: RMSProp's first steps are large, set lr_warmup_steps (e.g. 100 "
                "updates' worth of env steps) to keep the loaded policy's level"
            )
        print(f"starting from the params in {path}{hint}", flush=True)
        return params

    def _update_step(self) -> int:
        return int(sharding.fetch(self.state.update_step))

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self._copy_to_actor_device(self.state.params)

    def _actor_seconds(self) -> dict[str, float]:
        """Seconds all actor threads together spent so far in each of their stages (`actor_<stage>_seconds`)."""
        return {
            f"actor_{name}": sum(actor.timings[name] for actor in self.actors)
            for name in self.actors[0].timings
        }

    def _next_batch(
        self, rollouts: RolloutQueue, workers: WorkerGroup, stages: StageTimes
    ) -> tuple[Trajectory, list[int]]:
        """Copies `rollouts_per_batch` actor rollouts side by side along B into a new host batch.

        Each rollout's buffer goes back to its actor as soon as it is copied, so an actor can
        refill it while the batch is still being assembled. The batch is freshly allocated: the
        device may alias it, so it is never reused.
        """
        s = self.settings
        batch = allocate_trajectory(self.spec, s.num_steps, s.batch_size, self._core_template)
        versions = []
        for index in range(s.rollouts_per_batch):
            with stages.time("queue_wait"):
                rollout = rollouts.get(check=workers.raise_if_failed)
            started = time.perf_counter()
            envs = slice(index * s.num_envs, (index + 1) * s.num_envs)
            for field in _TIME_MAJOR_FIELDS:
                getattr(batch, field)[:, envs] = getattr(rollout.trajectory, field)
            for dst, src in zip(
                jax.tree.leaves(batch.initial_core_state),
                jax.tree.leaves(rollout.trajectory.initial_core_state),
                strict=True,
            ):
                dst[envs] = src
            versions.append(rollout.params_version)
            rollout.release()
            stages.add("batch_copy", time.perf_counter() - started)
        return batch, versions

    def _record(self, metrics, lags, steps, seconds) -> dict[str, Any]:
        transitions = max(float(metrics["num_transitions"]), 1.0)
        record = {
            "step": self.env_steps,
            "updates": self._update_step(),
            "sps": steps / max(seconds, 1e-9),
            **self._episodes.drain(),
            "loss": metrics["loss"],
            "pg_loss": metrics["pg_loss"],
            "baseline_loss": metrics["baseline_loss"],
            "entropy": metrics["entropy"] / transitions,
            "grad_norm": metrics["grad_norm"],
            "policy_lag_mean": float(np.mean(lags)) if lags else 0.0,
            "policy_lag_max": max(lags, default=0),
            "policy_lag_counts": np.bincount(lags).tolist() if lags else [],  # [k]: rollouts k updates old
        }
        return record


def _default_learner_chunks(encoder: str, device_batch: int, platform: str) -> int:
    """`learner_chunks=0`: one env per chunk for the conv encoders on CPUs, where a Nature CNN's update ran
    2.4x faster on 81-frame pieces than on the whole 2,592-frame batch (benchmarks/learner_chunks.py);
    otherwise the whole batch at once (the MLP, and accelerators, which want large batches)."""
    return device_batch if platform == "cpu" and encoder in ("nature_cnn", "resnet") else 1


def _next_multiple(steps: int, every: int) -> float:
    """The first multiple of `every` above `steps` (infinity when `every` is 0: never)."""
    return (steps // every + 1) * every if every > 0 else math.inf


def _check_envs(envs: list, s: config_lib.Settings) -> EnvSpec:
    """Checks the actor envs against the config; returns their common spec."""
    if len(envs) != s.num_actors:
        raise ValueError(
            f"train_env has {len(envs)} envs but num_actors={s.num_actors}: give one env per actor"
        )
    for index, env in enumerate(envs):
        if num_envs_of(env) != s.num_envs:
            raise ValueError(
                f"train_env[{index}] has num_envs={num_envs_of(env)} but the config says num_envs={s.num_envs}"
            )
    spec = env_spec(envs[0])
    for index, env in enumerate(envs[1:], start=1):
        _check_same_spec(env_spec(env), spec, f"train_env[{index}]")
    wants_image = s.encoder in ("nature_cnn", "resnet")
    if spec.is_image != wants_image:
        accepted = "'nature_cnn' or 'resnet'" if spec.is_image else "'mlp'"
        raise ValueError(
            f"encoder={s.encoder!r} does not fit observations of shape {spec.obs_shape}: use {accepted}"
        )
    return spec


def _check_same_spec(spec: EnvSpec, expected: EnvSpec, name: str) -> None:
    if spec != expected:
        raise ValueError(f"{name} has spec {spec}, which differs from the training envs' {expected}")
