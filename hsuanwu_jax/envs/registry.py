"""Reading an EnvPool env back from EnvPool's registry: the task id and arguments it was made with, and what
a train env tells the config (`EnvFacts`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import envpool

from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.envs.config_checks import INTERNAL_KWARGS, SET_BY_MAKE_ENV
from hsuanwu_jax.envs.interface import num_envs_of
from hsuanwu_jax.envs.vector_env import as_batched_env


class EnvOrigin(NamedTuple):
    """How to build an EnvPool env like a given one: its task id and envpool.make arguments."""

    env_id: str
    kwargs: dict[str, Any]  # the arguments that differ from the task's defaults (num_envs, seed apart)
    seed: int  # env i of the env was seeded seed + i
    same_tasks: tuple[str, ...]  # every task id that makes this env (EnvPool registers some twice: v3 / v4)


def envpool_origin(env) -> EnvOrigin | None:
    """The task id and arguments an EnvPool env was made with, read back from its config and EnvPool's
    registry; None for other envs or when the registry cannot tell (no task with its spec and kind)."""
    if not isinstance(env, envpool.python.envpool.EnvPoolMixin):
        return None
    env_config = dict(env.config)
    spec_class = type(env.spec).__name__
    matching = []
    for env_id, (_, registered_class, registered) in envpool.registration.registry.specs.items():
        kind = {k: v for k, v in registered.items() if k not in ("base_path", "max_episode_steps")}
        if registered_class == spec_class and all(env_config.get(k) == v for k, v in kind.items()):
            matching.append(env_id)
    # Tasks of one kind can differ only in their episode cap (CartPole-v0 / -v1): prefer the one that fits.
    exact = [
        i
        for i in matching
        if envpool.registration.registry.specs[i][2].get("max_episode_steps")
        == env_config.get("max_episode_steps")
    ]
    candidates = sorted(exact or matching)
    if not candidates:
        return None
    defaults = envpool.make_spec(candidates[0]).config._asdict()
    kwargs = {
        k: v
        for k, v in env_config.items()
        if k not in SET_BY_MAKE_ENV and k not in INTERNAL_KWARGS and defaults.get(k) != v
    }
    return EnvOrigin(candidates[0], kwargs, int(env_config["seed"]), tuple(candidates))


def env_facts(train_env) -> EnvFacts:
    """What a train env (one env, or a list of them) tells the config: its envs in all, its task, its
    arguments (task and arguments for EnvPool envs only)."""
    envs = list(train_env) if isinstance(train_env, (list, tuple)) else [train_env]
    batched = [as_batched_env(env) for env in envs]
    origin = envpool_origin(getattr(envs[0], "envpool_env", envs[0]))  # a wrapper's EnvPool env
    return EnvFacts(
        total_envs=sum(num_envs_of(env) for env in batched),
        actor_envs=len(envs) if isinstance(train_env, (list, tuple)) else None,
        env_id=None if origin is None else origin.env_id,
        same_tasks=() if origin is None else origin.same_tasks,
        env_kwargs=None if origin is None else origin.kwargs,
        obs_rank=len(getattr(batched[0].observation_space, "shape", None) or ()) or None,
    )
