"""`DistributedTrainer`: the seed's face (`act`, `train`, `test`, `save`) over the parts of a run (assembly.py:
settings -> envs -> plan -> agent -> learner, actors, evaluator -> checkpoints -> loop)."""

from __future__ import annotations

import os
from typing import Any

import jax

from hsuanwu_jax.config.settings import NO_ENV_FACTS
from hsuanwu_jax.core.types import Trajectory
from hsuanwu_jax.envs.config_checks import check_env_config
from hsuanwu_jax.envs.registry import env_facts
from hsuanwu_jax.envs.splitting import actor_envs
from hsuanwu_jax.envs.vector_env import as_batched_env
from hsuanwu_jax.outputs.export import Policy, export_run, load_policy
from hsuanwu_jax.outputs.video import check_video_path, write_video
from hsuanwu_jax.parallel.hosts import is_primary
from hsuanwu_jax.parallel.mesh import fetch
from hsuanwu_jax.run.assembly import assemble_run, settings_for_the_run
from hsuanwu_jax.runtime.compilation import use_compile_cache


class DistributedTrainer:
    """IMPALA on EnvPool with a jitted V-trace learner, with the seed's `act/train/test/save` face.

    Args:
      cfgs: a ConfigDict (`hsuanwu_jax.config.default_config` has every field), a dict, an omegaconf
        DictConfig, a YAML file, or Hsuanwu's config tree (translated by `config/hsuanwu_tree.py`).
      train_env: an EnvPool env per actor thread (`num_actors` of them, `num_envs` envs each), or one
        env of `num_actors` x k envs (split over the actors), or gymnasium vector envs (see
        `GymnasiumVectorEnv`); `None` builds them with `make_env(cfgs)`.
      test_env: an env for `test()`; `None` builds one with `make_env(cfgs, test=True)` on first use.

    Without a `workdir` every trainer writes to a new `runs/<experiment or env_id>/<date-time>` (printed
    first); with one, it resumes from that directory's newest checkpoint.
    """

    def __init__(self, cfgs, train_env=None, test_env=None):
        facts = NO_ENV_FACTS if train_env is None else env_facts(train_env)
        self.settings = settings = settings_for_the_run(cfgs, facts)
        use_compile_cache(settings.compile_cache_dir)
        if test_env is None:  # test() will make its env from the config: refuse bad kwargs now
            check_env_config(settings)
        envs, made = actor_envs(train_env, settings, jax.process_index)
        owned = list(made)  # what this constructor opened: closed again if it fails
        try:
            parts = assemble_run(settings, [as_batched_env(env) for env in envs], test_env, owned)
        except BaseException:
            for resource in owned:
                resource.close()
            raise
        self._parts = parts
        self.spec, self.workdir, self.plan, self.agent = parts.spec, parts.workdir, parts.plan, parts.agent
        self.learner, self.actors, self._loop = parts.learner, parts.actors, parts.loop
        self._evaluator, self._checkpoints = parts.evaluator, parts.checkpoints
        self.stopped_early = False  # set when train() ended on SIGTERM or Ctrl-C
        self.export_path: str | None = None  # the export train() wrote when it finished
        self._last_record: dict[str, Any] = {}

    state = property(lambda self: self.learner.state, doc="The learner's state (replicated over the mesh).")
    env_steps = property(lambda self: self.learner.env_steps, doc="Env steps trained on (all processes).")
    network = property(lambda self: self.agent.network, doc="The Flax network (`ImpalaNetwork`).")
    actor_mode = property(lambda self: self.plan.actor_mode, doc='What actor_mode="auto" resolved to.')
    learner_chunks = property(lambda self: self.plan.learner_chunks, doc='What "auto" resolved to.')
    global_step = property(lambda self: self.env_steps, doc="Env steps trained on (Hsuanwu's name).")
    global_episode = property(
        lambda self: self._parts.episodes.total, doc="Training games ended, all actors."
    )

    def act(self, actor_index: int = 0) -> Trajectory:
        """Collects one rollout `[T+1, num_envs, ...]` (host arrays) with actor `actor_index` and the
        current params, without learning; the actor's envs continue from where they were."""
        self._loop.check_usable()
        return self.actors[actor_index].collect(self.actor_params())

    def update(self, batch: Trajectory) -> dict[str, float]:
        """One learner update on this process's host batch `[T+1, batch_size, ...]` (e.g. from `act`),
        without actors, env-step counting or logging; returns its metrics. For benchmarks and tests:
        every process of a multi-host run must call it together."""
        return {name: value.item() for name, value in fetch(self.learner.dispatch(batch)).items()}

    def train(self, num_steps: int | None = None) -> dict[str, Any]:
        """Trains for `num_steps` more env steps (default: until `num_train_steps`, which also bounds
        it); returns the last metrics record. In a multi-host run every process calls it.

        Logs every `log_every` env steps (`<workdir>/metrics.jsonl`, progress), checkpoints every
        `checkpoint_every` and at the end, then writes the model export (`save()`, path in
        `export_path`), as Hsuanwu saved the model. SIGTERM or a first Ctrl-C stops at the next update
        with a checkpoint and sets `stopped_early` (run again to resume). An exception in an actor
        thread or env stops all threads and is re-raised here.
        """
        self._loop.check_usable()
        target = self.settings.num_train_steps
        if num_steps is not None:
            target = min(target, self.env_steps + num_steps)
        if self.env_steps >= target:
            return self._last_record
        self._last_record, self.stopped_early = self._loop.run(target)
        if self.stopped_early:
            print(
                f"stopped at env step {self.env_steps:,}: checkpoint written; run again to resume", flush=True
            )
        else:
            self.export_path = self.save()
            if is_primary():
                print(f"model export: {self.export_path}", flush=True)
        return self._last_record

    def test(self, greedy: bool | None = None, task: str | None = None) -> dict[str, Any]:
        """`num_test_episodes` episodes on the test env as `test_policy` says (default greedy), or `greedy`
        (False: sampled). Returns `policy`, `episode_reward` (mean), `_std`, `_min`, `_max`, `episode_length`,
        `num_episodes`, `episode_rewards`; a multi-task run's `tasks` too (`Evaluator.test`)."""
        return self._evaluator.test(self.actor_params(), greedy=greedy, task=task)

    def record(
        self, path: str, num_episodes: int = 1, fps: float = 25.0, task: str | None = None
    ) -> dict[str, Any]:
        """Plays `num_episodes` episodes (as `test_policy` says) on a fresh test env (of `task`, multi-task;
        default the first) into a video at `path` (.gif, or .mp4 with imageio-ffmpeg) from EnvPool's renderer.
        Returns `path`, `num_frames` and the test statistics; `IPython.display.Image(path)` shows a GIF."""
        check_video_path(path)
        frames, result = self._evaluator.record(self.actor_params(), num_episodes, task)
        write_video(path, frames, fps)
        return {"path": path, "num_frames": len(frames), **result}

    def save(self, path: str | None = None) -> str:
        """Writes a model export (params as msgpack; network, specs and config as JSON; no pickle) to `path`
        (default `<workdir>/export`), atomically; returns the path. `load_policy(path)` or
        `DistributedTrainer.load(path)` reads it back for inference; `init_model_path` trains on from it."""
        path = path or os.path.join(self.workdir, "export")
        return export_run(path, self.state, self.agent.network_args, self.spec, self.settings, self.env_steps)

    @staticmethod
    def load(path: str, env=None, *, greedy: bool = True) -> Policy:
        """The policy in a model export (see `hsuanwu_jax.load_policy`), for inference."""
        return load_policy(path, env, greedy=greedy)

    def close(self) -> None:
        """Closes the envs and the checkpoint manager; the trainer cannot act afterwards."""
        self._parts.close()

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self.learner.actor_params()
