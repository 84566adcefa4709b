"""`DistributedTrainer`: the seed's face (`act`, `train`, `test`, `save`) over the parts that do the work.

settings (settings.py) + envs (envs.py) -> run plan (plan.py) -> agent (agent.py)
-> Learner + actors (acting.py, xla_acting.py) -> TrainingLoop (loop.py) -> RunCheckpoints (checkpoint.py)
"""

from __future__ import annotations

import functools
import os
from typing import Any

import jax

from hsuanwu_jax import sharding
from hsuanwu_jax.agent import build_agent
from hsuanwu_jax.checkpoint import RunCheckpoints
from hsuanwu_jax.env_checks import check_env_config
from hsuanwu_jax.envs import actor_envs, as_batched_env, check_actor_envs, env_facts, spec_to_json
from hsuanwu_jax.evaluation import Evaluator
from hsuanwu_jax.export import Policy, load_policy, stats_to_json, write_export
from hsuanwu_jax.loop import Learner, TrainingLoop
from hsuanwu_jax.metrics import EpisodeLog
from hsuanwu_jax.pipeline import BatchAssembler
from hsuanwu_jax.plan import plan_run, validate_and_join
from hsuanwu_jax.runtime import jit_once, new_run_directory, quiet_library_logs, use_compile_cache
from hsuanwu_jax.settings import NO_ENV_FACTS
from hsuanwu_jax.types import Trajectory
from hsuanwu_jax.xla_acting import make_actors


def run_keys(seed: int, process_index: int, num_actors: int):
    """The run's random streams from its seed: the params' initialisation key, one key per actor of this
    process (each host its own streams) and the greedy tests' key."""
    return _split_run_key(jax.random.PRNGKey(seed), process_index, num_actors)


@functools.partial(jit_once, static_argnums=(1, 2))
def _split_run_key(key, process_index: int, num_actors: int):
    # One program, not the eight one-op programs (each compiled at every start, too small for the persistent
    # cache) that these calls make when run eagerly.
    init_key, actors_key, test_key = jax.random.split(key, 3)
    actor_keys = jax.random.split(jax.random.fold_in(actors_key, process_index), num_actors)
    return init_key, tuple(actor_keys), test_key


class DistributedTrainer:
    """IMPALA on EnvPool with a jitted V-trace learner, with the seed's `act/train/test/save` face.

    Args:
      cfgs: a ConfigDict (`hsuanwu_jax.config.default_config` has every field), a dict, an omegaconf
        DictConfig, a YAML file, or Hsuanwu's config tree (translated by `hsuanwu_config.py`).
      train_env: an EnvPool env per actor thread (`num_actors` of them, `num_envs` envs each), or one
        env of `num_actors` x k envs (split over the actors), or gymnasium vector envs (see
        `GymnasiumVectorEnv`); `None` builds them with `make_env(cfgs)`.
      test_env: an env for `test()`; `None` builds one with `make_env(cfgs, test=True)` on first use.

    Without a `workdir` every trainer writes to a new `runs/<experiment or env_id>/<date-time>` (printed
    first); with one, it resumes from that directory's newest checkpoint.
    """

    def __init__(self, cfgs, train_env=None, test_env=None):
        facts = NO_ENV_FACTS if train_env is None else env_facts(train_env)
        self.settings = s = validate_and_join(cfgs, facts)
        quiet_library_logs(s.verbosity)
        use_compile_cache(s.compile_cache_dir)
        if test_env is None:
            check_env_config(s.config)  # test() will make its env from the config: refuse bad kwargs now
        envs, made = actor_envs(train_env, s.config, jax.process_index)
        self._owned = list(made)  # what this constructor opened: closed again if it fails
        try:
            self._build(s, [as_batched_env(env) for env in envs], test_env)
        except BaseException:
            for resource in self._owned:
                resource.close()
            raise

    def _build(self, s, envs, test_env) -> None:
        self.spec = check_actor_envs(envs, s.num_actors, s.num_envs)
        self.workdir = s.workdir or new_run_directory(os.path.join("runs", s.experiment or s.env_id))
        if sharding.is_primary():
            print(f"run directory: {self.workdir}", flush=True)
            for note in s.config_notes:
                print(f"hsuanwu config: {note}", flush=True)
        self.plan = plan_run(
            s,
            self.spec,
            envs_have_xla=all(hasattr(env, "xla") for env in envs),
            local_devices=jax.local_devices(),
            global_devices=jax.devices(),
        )
        init_key, actor_keys, test_key = run_keys(s.seed, jax.process_index(), len(envs))
        self.agent = a = build_agent(s, self.spec, self.plan, init_key)
        self._evaluator = Evaluator(s.config, self.spec, a.network, a.greedy_policy, test_key, test_env)
        self.learner = Learner(a.learner_step, self.plan.mesh, a.initial_state, self.plan.actor_device)
        self._episodes = EpisodeLog()
        core_state = a.network.initial_core_state
        self.actors = make_actors(
            self.plan.actor_mode,
            envs,
            actor_keys,
            spec=self.spec,
            policy_fn=a.sample_policy,
            initial_core_state=core_state(s.num_envs),
            num_steps=s.num_steps,
            device=self.plan.actor_device,
            on_episodes=self._episodes.add,
        )
        self.stopped_early = False  # set when train() ended on SIGTERM or Ctrl-C
        self.export_path: str | None = None  # the export train() wrote when it finished
        self._last_record: dict[str, Any] = {}
        self._checkpoints = RunCheckpoints(
            f"{self.workdir}/checkpoints", s.checkpoint_keep, s.config, self.spec
        )
        self._owned.append(self._checkpoints)
        batches = BatchAssembler(
            self.spec, s.num_steps, s.num_envs, s.rollouts_per_batch, core_state(s.batch_size)
        )
        self._loop = TrainingLoop(
            s=s,
            workdir=self.workdir,
            learner=self.learner,
            actors=self.actors,
            batches=batches,
            episodes=self._episodes,
            checkpoints=self._checkpoints,
            evaluator=self._evaluator,
        )
        self._loop.resume()

    state = property(lambda self: self.learner.state, doc="The learner's state (replicated over the mesh).")
    env_steps = property(lambda self: self.learner.env_steps, doc="Env steps trained on (all processes).")
    network = property(lambda self: self.agent.network, doc="The Flax network (`ImpalaNetwork`).")
    actor_mode = property(lambda self: self.plan.actor_mode, doc='What actor_mode="auto" resolved to.')
    learner_chunks = property(lambda self: self.plan.learner_chunks, doc="What learner_chunks=0 resolved to.")
    global_step = property(lambda self: self.env_steps, doc="Hsuanwu's name: env steps trained on.")
    global_episode = property(
        lambda self: self._episodes.total, doc="Training episodes (whole games) finished so far, all actors."
    )

    def act(self, actor_index: int = 0) -> Trajectory:
        """Collects one rollout `[T+1, num_envs, ...]` (host arrays) with actor `actor_index` and the
        current params, without learning; the actor's envs continue from where they were."""
        self._check_usable()
        return self.actors[actor_index].collect(self.actor_params())

    def update(self, batch: Trajectory) -> dict[str, float]:
        """One learner update on this process's host batch `[T+1, batch_size, ...]` (e.g. from `act`),
        without actors, env-step counting or logging; returns its metrics. For benchmarks and tests:
        every process of a multi-host run must call it together."""
        return {name: value.item() for name, value in sharding.fetch(self.learner.dispatch(batch)).items()}

    def train(self, num_steps: int | None = None) -> dict[str, Any]:
        """Trains for `num_steps` more env steps (default: until `num_train_steps`, which also bounds
        it); returns the last metrics record. In a multi-host run every process calls it.

        Logs every `log_every` env steps (`<workdir>/metrics.jsonl`, progress), checkpoints every
        `checkpoint_every` and at the end, then writes the model export (`save()`, path in
        `export_path`), as Hsuanwu saved the model. SIGTERM or a first Ctrl-C stops at the next update
        with a checkpoint and sets `stopped_early` (run again to resume). An exception in an actor
        thread or env stops all threads and is re-raised here.
        """
        self._check_usable()
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
        else:
            self.export_path = self.save()
            if sharding.is_primary():
                print(f"model export: {self.export_path}", flush=True)
        return self._last_record

    def test(self) -> dict[str, float]:
        """Greedy episodes on the test env: `num_test_episodes` of them, one per test env where possible.

        Returns `episode_reward` (mean), `episode_reward_std`, `episode_reward_min`,
        `episode_reward_max`, `episode_length` (mean) and `num_episodes`.
        """
        return self._evaluator.test(self.actor_params())

    def record(self, path: str, num_episodes: int = 1, fps: float = 25.0) -> dict[str, Any]:
        """Plays `num_episodes` greedy episodes on one fresh test env and writes them as a video to
        `path` (.gif, or .mp4 with imageio-ffmpeg installed), frames from EnvPool's renderer (RGB;
        for Atari the emulator's screen). Returns `path`, `num_frames` and the test statistics
        (`episode_reward`, ...). In a notebook: `IPython.display.Image(path)` shows a GIF."""
        return self._evaluator.record(self.actor_params(), path, num_episodes, fps)

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
            "value_stats": stats_to_json(sharding.fetch(self.state.value_stats)),
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
        for index, actor in enumerate(self.actors):
            if f"actor-{index}" not in self._loop.stuck_actors:  # a stuck thread may still be in its env
                actor.env.close()
        self._evaluator.close()

    def _check_usable(self) -> None:
        if self._loop.stuck_actors:
            raise RuntimeError(
                f"actor threads {self._loop.stuck_actors} did not stop when asked and may still step their "
                "envs: this trainer cannot act or train again; close() it and build a new one"
            )

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self.learner.actor_params()
