"""EnvPool envs made from a config (its env fields checked first by config_checks.py), seeded per env."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import envpool

from hsuanwu_jax.config.settings import Settings, as_settings
from hsuanwu_jax.envs.config_checks import check_env_config, check_renderable

TEST_SEED_OFFSET = 1_000_003  # test envs never share a seed with a training env


def make_env(
    cfg: Settings | Mapping[str, Any],
    test: bool = False,
    process_index: int | None = None,
    *,
    num_envs: int | None = None,
    render: bool = False,
    task: str | None = None,
    like_training: bool = False,
):
    """EnvPool envs for a config (validated first, unless it is a run's `Settings`).

    For training, a list of `num_actors` envs with `num_envs` envs each (one per actor thread),
    seeded `seed + i` for the i-th env of the whole run: in a multi-host run process p's envs come
    after those of processes 0..p-1 (`process_index`, default the config's `process_id` or 0; this
    function never starts JAX, so it can run before `jax.distributed` joins). In a multi-task run (`tasks`)
    each thread's env plays its task (`config.tasks.actor_tasks`). With `test=True`, one env of
    `num_test_episodes` envs of `task` (default: the run's first) that plays one test episode each;
    `env_kwargs` apply to both, and
    `test_env_kwargs` override them for testing (e.g. no episodic life, unclipped rewards). A test env
    can instead have `num_envs` envs, and with `render=True` its `render()` returns RGB frames
    `[num_envs, H, W, 3]` uint8 (classic control and Atari; MuJoCo needs an OpenGL context, MUJOCO_GL).
    A test env `like_training` takes `env_kwargs` alone (e.g. Procgen's training levels, where
    `test_env_kwargs` asks for every level).
    """
    settings = as_settings(cfg)
    check_env_config(settings)
    kwargs = dict(settings.env_kwargs)
    if test:
        if not like_training:
            kwargs.update(settings.test_env_kwargs)
        task = task or settings.task_ids[0]
        if task not in settings.task_ids:
            raise ValueError(f"task={task!r} is not one of the run's tasks {settings.task_ids}")
        if render:
            check_renderable(task)
            kwargs["render_mode"] = "rgb_array"
        n = num_envs or settings.num_test_episodes
        return make_envpool(task, n, settings.env_threads, settings.seed + TEST_SEED_OFFSET, kwargs)
    if render or num_envs is not None or task is not None or like_training:
        raise ValueError(
            "num_envs, render, task and like_training apply to test envs (test=True); training envs follow "
            "the config"
        )
    n, actors = settings.num_envs, settings.num_actors
    if process_index is None:
        process_index = settings.process_id or 0
    first = settings.seed + process_index * actors * n
    tasks = [settings.task_ids[index] for index in settings.actor_tasks(process_index)]
    return [make_envpool(tasks[k], n, settings.env_threads, first + k * n, kwargs) for k in range(actors)]


def make_envpool(env_id: str, num_envs: int, num_threads: int, seed: int, kwargs: dict):
    with warnings.catch_warnings():
        # EnvPool declares float64 bounds for float32 Boxes; gymnasium warns when it builds the spaces.
        warnings.filterwarnings("ignore", message=".*precision lowered by casting", category=UserWarning)
        env = envpool.make(
            env_id,
            env_type="gymnasium",
            num_envs=num_envs,
            batch_size=num_envs,
            num_threads=min(int(num_threads), num_envs),
            seed=seed,
            **kwargs,
        )
        _ = env.observation_space, env.action_space  # built (and cached) on first access: warns
    return env
