"""The run assembled from its parts, each built from what the earlier ones decided:

settings (validated; a multi-host run joined) -> envs and their spec -> run plan -> agent -> learner,
actors, evaluator -> checkpoints -> training loop (resumed from the newest checkpoint).
"""

from __future__ import annotations

import functools
import os
from typing import Any, NamedTuple

import jax

from hsuanwu_jax.acting.actor import make_actors
from hsuanwu_jax.acting.batches import BatchAssembler
from hsuanwu_jax.acting.episodes import EpisodeLog
from hsuanwu_jax.acting.evaluation import Evaluator
from hsuanwu_jax.agent.builder import Agent, build_agent
from hsuanwu_jax.config.settings import NO_ENV_FACTS, Settings, validate
from hsuanwu_jax.core.spec import EnvFacts, EnvSpec
from hsuanwu_jax.envs.interface import check_actor_envs
from hsuanwu_jax.parallel.hosts import initialize_distributed, is_primary
from hsuanwu_jax.parallel.plan import RunPlan, plan_run
from hsuanwu_jax.run.checkpoints import RunCheckpoints
from hsuanwu_jax.run.learner import Learner
from hsuanwu_jax.run.loop import TrainingLoop
from hsuanwu_jax.run.workdir import new_run_directory
from hsuanwu_jax.runtime.compilation import jit_quick_compile
from hsuanwu_jax.runtime.host import HostFacts, host_cores
from hsuanwu_jax.runtime.process import quiet_library_logs


def settings_for_the_run(cfgs, env: EnvFacts = NO_ENV_FACTS) -> Settings:
    """The run's settings from `cfgs` (`env`: what the train env tells a config in Hsuanwu's layout). Validated
    first without looking at the devices (JAX's backend logs at INFO as it starts, so the library logs are quieted
    before; a multi-host run must join the others before it starts), then, a multi-host run joined, again with
    the devices looked at ("auto" actor layouts depend on them; batch sizes count every process)."""
    settings = validate(cfgs, env=env, host=HostFacts(host_cores(), accelerator=None))
    quiet_library_logs(settings.verbosity)  # before joining a run: jax.distributed logs at INFO
    if settings.multi_host:
        initialize_distributed(
            coordinator_address=settings.coordinator_address,
            num_processes=settings.num_processes,
            process_id=settings.process_id,
            timeout_seconds=settings.distributed_timeout_seconds,
        )
    return validate(cfgs, num_processes=jax.process_count(), env=env)


def run_keys(seed: int, process_index: int, num_actors: int):
    """The run's random streams from its seed: the params' initialisation key, one key per actor of this
    process (each host its own streams) and the greedy tests' key."""
    return _split_run_key(jax.random.PRNGKey(seed), process_index, num_actors)


@functools.partial(jit_quick_compile, static_argnums=(1, 2))
def _split_run_key(key, process_index: int, num_actors: int):
    # One program, not the eight one-op programs (each compiled at every start, too small for the persistent
    # cache) that these calls make when run eagerly.
    init_key, actors_key, test_key = jax.random.split(key, 3)
    actor_keys = jax.random.split(jax.random.fold_in(actors_key, process_index), num_actors)
    return init_key, tuple(actor_keys), test_key


class RunParts(NamedTuple):
    """The parts of one run, as `assemble_run` built them."""

    spec: EnvSpec
    workdir: str
    plan: RunPlan
    agent: Agent
    learner: Learner
    actors: list[Any]
    episodes: EpisodeLog
    evaluator: Evaluator
    checkpoints: RunCheckpoints
    loop: TrainingLoop

    def close(self) -> None:
        """Closes the checkpoint manager and the envs (an actor's only if its thread stopped)."""
        self.checkpoints.close()
        for actor in self.actors:
            if actor.name not in self.loop.stuck_actors:  # a stuck thread may still be in its env
                actor.env.close()
        self.evaluator.close()


def assemble_run(settings: Settings, envs: list, test_env, owned: list) -> RunParts:
    """The run of `settings` on the actor threads' batched `envs` (one per actor) and `test_env` (None: made
    on first use), resumed from its workdir's newest checkpoint. What it opens is appended to `owned`,
    for the caller to close if a later step fails."""
    spec = check_actor_envs(envs, settings.num_actors, settings.num_envs)
    workdir = settings.workdir or new_run_directory(
        os.path.join("runs", settings.experiment or settings.env_id)
    )
    if is_primary():
        print(f"run directory: {workdir}", flush=True)
        for note in settings.config_notes:
            print(f"hsuanwu config: {note}", flush=True)
    plan = plan_run(
        settings,
        spec,
        envs_have_xla=all(hasattr(env, "xla") for env in envs),
        local_devices=jax.local_devices(),
        global_devices=jax.devices(),
    )
    if is_primary():
        print(
            f"actors: {settings.actor_layout}; {plan.actor_mode} rollouts. {plan.learner_summary()}",
            flush=True,
        )
    init_key, actor_keys, test_key = run_keys(settings.seed, jax.process_index(), len(envs))
    agent = build_agent(settings, spec, plan, init_key)
    evaluator = Evaluator(
        settings, spec, agent.network, agent.greedy_policy, agent.sample_policy, test_key, test_env
    )
    learner = Learner(agent.update, plan.mesh, agent.initial_state, plan.actor_device)
    episodes = EpisodeLog(task_names=settings.task_ids)
    core_state = agent.network.initial_core_state
    actors = make_actors(
        plan.actor_mode,
        envs,
        actor_keys,
        tasks=settings.actor_tasks(jax.process_index()),
        spec=spec,
        policy_fn=agent.sample_policy,
        initial_core_state=core_state(settings.num_envs),
        num_steps=settings.num_steps,
        device=plan.actor_device,
        on_episodes=episodes.add,
    )
    checkpoints = RunCheckpoints(f"{workdir}/checkpoints", settings, spec)
    owned.append(checkpoints)
    batches = BatchAssembler(
        spec,
        settings.num_steps,
        settings.num_envs,
        settings.rollouts_per_batch,
        core_state(settings.batch_size),
    )
    loop = TrainingLoop(
        settings=settings,
        workdir=workdir,
        learner=learner,
        actors=actors,
        batches=batches,
        episodes=episodes,
        checkpoints=checkpoints,
        evaluator=evaluator,
        max_entropy=spec.max_entropy,
    )
    loop.resume()
    return RunParts(spec, workdir, plan, agent, learner, actors, episodes, evaluator, checkpoints, loop)
