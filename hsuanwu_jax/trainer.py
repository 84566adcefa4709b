"""`DistributedTrainer`: the seed's face (`act`, `train`, `test`, `save`) over the parts that do the work.

settings (settings.py) + envs (envs.py) -> run plan (plan.py) -> agent (agent.py)
-> Learner + actors (acting.py, xla_acting.py) -> TrainingLoop (loop.py) -> RunCheckpoints (checkpoint.py)
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax import sharding
from hsuanwu_jax.acting import Actor
from hsuanwu_jax.agent import build_agent
from hsuanwu_jax.checkpoint import RunCheckpoints
from hsuanwu_jax.envs import (
    as_batched_env,
    check_actor_envs,
    check_same_spec,
    env_spec,
    make_env,
    num_envs_of,
)
from hsuanwu_jax.evaluation import evaluate
from hsuanwu_jax.export import Policy, load_policy, spec_to_json, write_export
from hsuanwu_jax.loop import BatchAssembler, Learner, TrainingLoop
from hsuanwu_jax.metrics import EpisodeLog, read_metrics, truncate_metrics
from hsuanwu_jax.plan import plan_run
from hsuanwu_jax.settings import validate
from hsuanwu_jax.types import RunState, Trajectory
from hsuanwu_jax.video import check_video_path, write_video
from hsuanwu_jax.xla_acting import XlaActor


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
        self.settings = s = _validate_and_join(cfgs)
        train_envs = make_env(s.config, process_index=jax.process_index()) if train_env is None else train_env
        train_envs = [
            as_batched_env(env)
            for env in (train_envs if isinstance(train_envs, (list, tuple)) else [train_envs])
        ]
        self.spec = check_actor_envs(train_envs, s.num_actors, s.num_envs)
        self._test_env = None if test_env is None else as_batched_env(test_env)
        if self._test_env is not None:
            check_same_spec(env_spec(self._test_env), self.spec, "test_env")
        self.plan = plan_run(
            s,
            self.spec,
            envs_have_xla=all(hasattr(env, "xla") for env in train_envs),
            local_devices=jax.local_devices(),
            global_devices=jax.devices(),
        )
        init_key, actors_key, self._test_key = jax.random.split(jax.random.PRNGKey(s.seed), 3)
        actors_key = jax.random.fold_in(actors_key, jax.process_index())  # each host its own streams
        self.agent = build_agent(s, self.spec, self.plan, init_key)
        self.learner = Learner(
            self.agent.learner_step, self.plan.mesh, self.agent.initial_state, self.plan.actor_device
        )
        self._episodes = EpisodeLog()
        actor_class = XlaActor if self.plan.actor_mode == "xla" else Actor
        self.actors = [
            actor_class(
                env,
                self.spec,
                self.agent.sample_policy,
                self.network.initial_core_state(s.num_envs),
                s.num_steps,
                key,
                self.plan.actor_device,
                on_episodes=self._episodes.add,
            )
            for env, key in zip(train_envs, jax.random.split(actors_key, len(train_envs)), strict=True)
        ]
        self.stopped_early = False  # set when train() ended on SIGTERM or Ctrl-C
        self._last_record: dict[str, Any] = {}
        self.workdir = s.workdir or os.path.join("runs", s.env_id)
        self._checkpoints = RunCheckpoints(
            os.path.join(self.workdir, "checkpoints"), s.checkpoint_keep, s.config
        )
        self._loop = TrainingLoop(
            s=s,
            workdir=self.workdir,
            learner=self.learner,
            actors=self.actors,
            batches=BatchAssembler(self.spec, s, self.network.initial_core_state(s.batch_size)),
            episodes=self._episodes,
            checkpoints=self._checkpoints,
            run_state=self._run_state,
            test=self.test,
        )
        self._resume()

    state = property(lambda self: self.learner.state, doc="The learner's state (replicated over the mesh).")
    env_steps = property(
        lambda self: self.learner.env_steps, doc="Env steps trained on, all processes together."
    )
    network = property(lambda self: self.agent.network, doc="The Flax network (`ImpalaNetwork`).")
    actor_mode = property(lambda self: self.plan.actor_mode, doc='What actor_mode="auto" resolved to.')
    learner_chunks = property(lambda self: self.plan.learner_chunks, doc="What learner_chunks=0 resolved to.")

    def act(self, actor_index: int = 0) -> Trajectory:
        """Collects one rollout `[T+1, num_envs, ...]` (host arrays) with actor `actor_index` and the
        current params, without learning; the actor's envs continue from where they were."""
        return self.actors[actor_index].collect(self.actor_params())

    def update(self, batch: Trajectory) -> dict[str, float]:
        """One learner update on this process's host batch `[T+1, batch_size, ...]` (e.g. from `act`),
        without actors, env-step counting or logging; returns its metrics. For benchmarks and tests:
        every process of a multi-host run must call it together."""
        return sharding.fetch(self.learner.dispatch(batch))

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
        self._last_record, self.stopped_early = self._loop.run(target)
        if self.stopped_early:
            print(
                f"stopped at env step {self.env_steps:,}: checkpoint written; run again to resume", flush=True
            )
        return self._last_record

    def test(self) -> dict[str, float]:
        """Greedy episodes on the test env: `num_test_episodes` of them, one per test env where possible.

        Returns `episode_reward` (mean), `episode_reward_std`, `episode_reward_min`,
        `episode_reward_max`, `episode_length` (mean) and `num_episodes`.
        """
        if self._test_env is None:
            self._test_env = make_env(self.settings.config, test=True)
            check_same_spec(env_spec(self._test_env), self.spec, "test_env")
        return self._play_greedily(self._test_env, self.settings.num_test_episodes)

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
            "network": self.agent.network_args,
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
        self._checkpoints.close()
        for actor in self.actors:
            actor.env.close()
        if self._test_env is not None:
            self._test_env.close()

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self.learner.actor_params()

    def _play_greedily(self, env, num_episodes: int, after_step=None) -> dict[str, float]:
        """`evaluate` with the current params and the next test key (see `evaluation.evaluate`)."""
        self._test_key, key = jax.random.split(self._test_key)
        core_state = self.network.initial_core_state(num_envs_of(env))
        return evaluate(
            env,
            self.spec,
            self.agent.greedy_policy,
            self.actor_params(),
            core_state,
            key,
            num_episodes,
            after_step,
        )

    def _run_state(self) -> RunState:
        return RunState(
            learner=self.state,
            actor_keys=np.stack([np.asarray(actor.key) for actor in self.actors]),
            test_key=np.asarray(self._test_key),
            env_steps=self.env_steps,
            total_episodes=self._episodes.total,
        )

    def _resume(self) -> None:
        """Continues from the newest readable checkpoint in the workdir, if there is one; a workdir that
        has metrics but no checkpoint is refused rather than silently overwritten."""
        metrics_path = os.path.join(self.workdir, "metrics.jsonl")
        restored = self._checkpoints.restore_newest(self._run_state())
        if restored is None:
            if sharding.any_process(sharding.is_primary() and bool(read_metrics(metrics_path))):
                raise ValueError(
                    f"workdir {self.workdir!r} holds a metrics.jsonl but no checkpoint to resume from: "
                    "choose another workdir or remove that one"
                )
            return
        self.learner.state, self.learner.env_steps = restored.learner, restored.env_steps
        for actor, key in zip(self.actors, restored.actor_keys, strict=True):
            if jax.process_index() > 0:  # the checkpoint holds process 0's keys; others derive theirs
                key = jax.random.fold_in(key, jax.process_index())
            actor.key = jax.device_put(key, self.plan.actor_device)
        self._test_key = jnp.asarray(restored.test_key)
        self._episodes.total = restored.total_episodes
        if sharding.is_primary():
            truncate_metrics(metrics_path, restored.env_steps)
        print(
            f"resuming from the checkpoint at env step {self.env_steps:,} in {self._checkpoints.directory}",
            flush=True,
        )


def _validate_and_join(cfgs):
    """The validated settings; for a multi-host run, first joins it (batch sizes count every process)."""
    s = validate(cfgs)
    if s.multi_host:
        sharding.initialize_distributed(
            coordinator_address=s.coordinator_address,
            num_processes=s.num_processes,
            process_id=s.process_id,
            timeout_seconds=s.distributed_timeout_seconds,
        )
        s = validate(cfgs, num_processes=jax.process_count())
    return s
