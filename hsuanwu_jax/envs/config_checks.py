"""Checks of a config's env fields against EnvPool itself, before any env is made: the task id, the
envpool.make arguments (names, types, values known to crash EnvPool) and rendering."""

from __future__ import annotations

import difflib
import functools
import os
import warnings
from collections.abc import Mapping
from typing import Any

import envpool

from hsuanwu_jax.config.settings import Settings


@functools.cache
def known_env_ids() -> tuple[str, ...]:
    return tuple(envpool.list_all_envs())


def check_env_id(env_id: str) -> None:
    """Raises a ValueError naming close matches if EnvPool has no env `env_id`."""
    if env_id in known_env_ids():
        return
    close = difflib.get_close_matches(str(env_id), known_env_ids(), n=5, cutoff=0.5)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    raise ValueError(f"env_id={env_id!r} is not an EnvPool task{hint} (envpool.list_all_envs() lists all)")


# envpool.make arguments that make_env sets from the config itself.
SET_BY_MAKE_ENV = {
    "num_envs": "num_envs",
    "batch_size": "num_envs",
    "num_threads": "env_threads",
    "seed": "seed",
}
INTERNAL_KWARGS = ("max_num_players", "thread_affinity_offset", "base_path", "env_seed")


def check_env_kwargs(env_id: str, kwargs: Mapping[str, Any], field: str) -> None:
    """Checks envpool.make arguments against EnvPool's own spec of `env_id`: known names, the types of
    their defaults, and values known to crash EnvPool. Raises ValueError naming `field` and the key."""
    defaults = envpool.make_spec(env_id).config._asdict()
    accepted = sorted(k for k in defaults if k not in SET_BY_MAKE_ENV and k not in INTERNAL_KWARGS)
    for key, value in kwargs.items():
        if key in SET_BY_MAKE_ENV:
            raise ValueError(
                f"{field}[{key!r}] is set from the config field {SET_BY_MAKE_ENV[key]!r}: set that instead"
            )
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{field}[{key!r}] is not an argument of {env_id}: {hint}it takes {accepted}")
        default = defaults[key]
        if not _same_kind(value, default):
            raise ValueError(
                f"{field}[{key!r}]={value!r} has the wrong type for {env_id}: expected a "
                f"{type(default).__name__} like its default {default!r}"
            )
    if _is_atari(env_id) and kwargs.get("noop_max") == 0:
        raise ValueError(
            f"{field}['noop_max']=0 crashes EnvPool 1.2.5 on Atari: use noop_max=1 for no no-op starts"
        )


def _same_kind(value, default) -> bool:
    """Whether `value` can stand for an EnvPool config default of `default`'s type."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def check_env_config(settings: Settings) -> None:
    """Checks the config's env fields before any env is made: each task's id (`env_id`, or every one of
    `tasks`), `env_kwargs`, and `env_kwargs` with `test_env_kwargs` over them (what test() will make); the
    tasks of a multi-task run must share one observation space and one action space."""
    kwargs = dict(settings.env_kwargs)
    for env_id in settings.task_ids:
        check_env_id(env_id)
        check_env_kwargs(env_id, kwargs, "env_kwargs")
        check_env_kwargs(env_id, dict(settings.test_env_kwargs), "test_env_kwargs")
    if settings.tasks:
        _check_same_spaces(settings.tasks, kwargs)


def _check_same_spaces(tasks, kwargs: Mapping[str, Any]) -> None:
    """One network acts in every task: refuse tasks whose observations or actions differ, naming them."""
    spaces = {}
    for env_id in tasks:
        with warnings.catch_warnings():  # EnvPool's float64 bounds for float32 Boxes (as in making.py)
            warnings.filterwarnings("ignore", message=".*precision lowered by casting", category=UserWarning)
            spec = envpool.make_spec(env_id, **kwargs)
            spaces[env_id] = (spec.observation_space, spec.action_space)
    first = tasks[0]
    for env_id in tasks[1:]:
        for index, kind in enumerate(("observation", "action")):
            if spaces[env_id][index] != spaces[first][index]:
                hint = (
                    ": Atari games share one action set with env_kwargs full_action_space=True (18 actions)"
                    if kind == "action" and _is_atari(env_id)
                    else ""
                )
                raise ValueError(
                    f"config field tasks: {env_id}'s {kind} space {spaces[env_id][index]} differs from "
                    f"{first}'s {spaces[first][index]}; one agent needs the same spaces in every task{hint}"
                )


def _is_atari(env_id: str) -> bool:
    return envpool.registration.registry.specs[env_id][0].startswith("envpool.atari")


def check_renderable(env_id: str) -> None:
    """MuJoCo's renderer aborts the whole process without an OpenGL context: refuse before that."""
    module = envpool.registration.registry.specs[env_id][0]
    if module.startswith("envpool.mujoco") and not os.environ.get("MUJOCO_GL"):
        raise ValueError(
            f"rendering {env_id} needs an OpenGL context: set MUJOCO_GL=egl (GPU machines) or "
            "MUJOCO_GL=osmesa (with libosmesa installed) before starting Python"
        )
