"""The actor threads' envs: one env per actor, made from the config, given as a list, or one env split."""

from __future__ import annotations

from collections.abc import Callable

import envpool
import gymnasium

from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.envs.dict_obs import FlatDictObsEnv
from hsuanwu_jax.envs.interface import num_envs_of
from hsuanwu_jax.envs.making import make_env, make_envpool
from hsuanwu_jax.envs.registry import envpool_origin
from hsuanwu_jax.envs.vector_env import as_batched_env


def actor_envs(train_env, settings: Settings, process_index: Callable[[], int]) -> tuple[list, list]:
    """The actor threads' envs, one per actor, and those of them made here (to be closed if the trainer
    cannot be built): made from the config when `train_env` is None (as process `process_index()` of the
    run: called only then, as it starts JAX), a list as given, or one env split over `num_actors` actors."""
    if train_env is None:
        envs = make_env(settings, process_index=process_index())
        return envs, envs
    if settings.tasks:
        raise ValueError(
            f"config field tasks={settings.tasks}: a multi-task run makes each actor's envs for its task "
            "from the config; pass no train_env"
        )
    if isinstance(train_env, (list, tuple)):
        return list(train_env), []
    if settings.num_actors > 1:
        envs = split_env(train_env, settings.num_actors, settings.env_threads)
        return envs, envs
    return [train_env], []


def split_env(env, num_actors: int, env_threads: int) -> list:
    """One env of `num_actors` x k envs as `num_actors` envs of k each, for the actor threads: an EnvPool
    env is made again as `num_actors` envs with the same task, arguments and per-env seeds (the given one
    is closed); a gymnasium vector env's sub-envs are grouped (`SyncVectorEnv`) or made again from their
    factories (`AsyncVectorEnv`)."""
    total = num_envs_of(as_batched_env(env))
    if total % num_actors:
        raise ValueError(
            f"train_env holds {total} envs, which num_actors={num_actors} actor threads cannot share evenly: "
            f"give a multiple of {num_actors} envs, or a list of {num_actors} envs"
        )
    if hasattr(env, "split"):  # a wrapper that knows how (hsuanwu/factories.py's FlatObservationEnv)
        return env.split(num_actors, env_threads)
    if isinstance(env, FlatDictObsEnv):  # its Dict observations flattened again in each part
        return [FlatDictObsEnv(part) for part in split_env(env.env, num_actors, env_threads)]
    per_actor = total // num_actors
    groups = [range(a * per_actor, (a + 1) * per_actor) for a in range(num_actors)]
    if isinstance(env, envpool.python.envpool.EnvPoolMixin):
        origin = envpool_origin(env)
        if origin is None:
            raise ValueError(
                "train_env is one EnvPool env whose task cannot be read back from EnvPool's registry, so it "
                f"cannot be split over num_actors={num_actors} actor threads: pass a list of {num_actors} envs"
            )
        env.close()
        return [
            make_envpool(origin.env_id, per_actor, env_threads, origin.seed + group.start, origin.kwargs)
            for group in groups
        ]
    if isinstance(env, gymnasium.vector.SyncVectorEnv):
        return [gymnasium.vector.SyncVectorEnv([lambda e=env.envs[i]: e for i in group]) for group in groups]
    if isinstance(env, gymnasium.vector.AsyncVectorEnv):
        env.close()
        return [gymnasium.vector.AsyncVectorEnv([env.env_fns[i] for i in group]) for group in groups]
    raise ValueError(
        f"train_env is one {type(env).__name__} and num_actors={num_actors}: pass a list of {num_actors} envs "
        "(or an EnvPool or gymnasium vector env, which can be split)"
    )
