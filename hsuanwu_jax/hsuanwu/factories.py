"""Hsuanwu's env factories (`hsuanwu.env.make_*_env`) on EnvPool: the same names, arguments and defaults,
and the same observation processing where EnvPool can give it; a clear error where it cannot.

Each returns one EnvPool env of `num_envs` envs (env i seeded `seed + i`, as Hsuanwu seeded its sub-envs),
which `DistributedTrainer` takes as `train_env` (split over `num_actors` actor threads) or `test_env`.
`device` is accepted and unused: observations stay on the host until the jitted policy takes them.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np

from hsuanwu_jax.envs.config_checks import check_env_id
from hsuanwu_jax.envs.dict_obs import FlatDictObsEnv
from hsuanwu_jax.envs.making import make_envpool
from hsuanwu_jax.envs.splitting import split_env

_AUTO_THREADS = 0  # EnvPool picks its C++ thread count


def atari_task(env_id: str) -> tuple[str, bool]:
    """EnvPool's task id for a Hsuanwu Atari id, and whether it is an old `<Game>NoFrameskip-v4` id.

    Hsuanwu took `<Game>NoFrameskip-v4` (gym's ids: no frame skip, no sticky actions) or `<Game>-v5`
    (made as `ALE/<Game>-v5`: sticky actions); EnvPool has one `<Game>-v5` per game."""
    if env_id.endswith("NoFrameskip-v4"):
        return env_id.removesuffix("NoFrameskip-v4") + "-v5", True
    task = env_id.removeprefix("ALE/")
    if not task.endswith("-v5"):
        raise ValueError(
            f"make_atari_env(env_id={env_id!r}): Hsuanwu's Atari ids are '<Game>NoFrameskip-v4' or '<Game>-v5'"
        )
    return task, False


def make_atari_env(
    env_id: str = "Alien-v5",
    num_envs: int = 8,
    device: str = "cpu",
    seed: int = 1,
    frame_stack: int = 4,
    distributed: bool = False,
):
    """Atari games with Hsuanwu's processing (hsuanwu/env/atari): up to 30 no-op starts, `frame_stack`
    frames skipped per action with the last two max-pooled, a lost life ends an episode, FIRE pressed
    at reset where the game has it, 84x84 grey frames, `frame_stack` of them stacked, rewards clipped
    to their sign for learning. `<Game>NoFrameskip-v4`: no sticky actions, episodes capped at 400,000
    frames (gym's cap); `<Game>-v5`: sticky actions with probability 0.25, capped at 108,000 frames (ALE
    v5's). `distributed` only chose Hsuanwu's vectorisation; it changes nothing here.

    Reported episode returns (`train()` logs, `test()`) are whole games' unclipped scores.
    """
    del device, distributed
    task, no_frameskip_v4 = atari_task(env_id)
    check_env_id(task)
    frames_cap = 400_000 if no_frameskip_v4 else 108_000
    kwargs = dict(
        stack_num=frame_stack,
        frame_skip=frame_stack,  # Hsuanwu's MaxAndSkipEnv(skip=frame_stack)
        noop_max=30,
        episodic_life=True,
        use_fire_reset=True,
        reward_clip=True,
        img_height=84,
        img_width=84,
        gray_scale=True,
        repeat_action_probability=0.0 if no_frameskip_v4 else 0.25,
        max_episode_steps=frames_cap // frame_stack,
    )
    return make_envpool(task, num_envs, _AUTO_THREADS, seed, kwargs)


class FlatObservationEnv:
    """An EnvPool env with dict observations seen through `flatten` (dict of `[B, ...]` arrays -> float32
    `[B, size]`): the batched env interface the actors step, splittable over actor threads like the env."""

    def __init__(self, env, flatten: Callable[[dict], np.ndarray], size: int):
        self.envpool_env, self._flatten = env, flatten
        self.config, self.action_space = env.config, env.action_space
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def reset(self):
        obs, info = self.envpool_env.reset()
        return self._flatten(obs), info

    def step(self, action):
        obs, *rest = self.envpool_env.step(action)
        return (self._flatten(obs), *rest)

    def close(self) -> None:
        self.envpool_env.close()

    def split(self, num_actors: int, env_threads: int) -> list[FlatObservationEnv]:
        envs = split_env(self.envpool_env, num_actors, env_threads)
        return [FlatObservationEnv(env, self._flatten, self.observation_space.shape[0]) for env in envs]


def dmc_task(env_id: str) -> str:
    """EnvPool's id of a Hsuanwu DeepMind Control id `<domain>_<task>` (e.g. cartpole_balance ->
    CartpoleBalance-v1; ball_in_cup_catch -> BallInCupCatch-v1)."""
    return "".join(part.capitalize() for part in env_id.split("_")) + "-v1"


def _refuse_pixels(from_pixels, resource_files, img_source, total_frames, environment_kwargs) -> None:
    """make_dmc_env's arguments that need pixel observations or dm_control's own environment, refused."""
    if from_pixels:
        raise ValueError(
            "make_dmc_env(from_pixels=True): EnvPool's DeepMind Control tasks give state observations only; "
            "pass from_pixels=False"
        )
    for name, value in (
        ("resource_files", resource_files),
        ("img_source", img_source),
        ("total_frames", total_frames),
    ):
        if value is not None:
            raise ValueError(
                f"make_dmc_env({name}=...): background distractors need pixel observations, which EnvPool's tasks lack"
            )
    if environment_kwargs:
        raise ValueError("make_dmc_env(environment_kwargs=...): EnvPool's DeepMind Control tasks take none")


def make_dmc_env(
    env_id: str = "cartpole_balance",
    num_envs: int = 1,
    device: str = "cpu",
    resource_files=None,
    img_source=None,
    total_frames=None,
    seed: int = 1,
    visualize_reward: bool = False,
    from_pixels: bool = True,
    height: int = 84,
    width: int = 84,
    camera_id: int = 0,
    frame_stack: int = 3,
    frame_skip: int = 2,
    episode_length: int = 1000,
    environment_kwargs=None,
):
    """DeepMind Control tasks from state, with Hsuanwu's processing (hsuanwu/env/dmc): each action
    repeated `frame_skip` times, episodes of `episode_length` simulator steps (so `episode_length /
    frame_skip` actions), the observation's arrays flattened into one float32 vector per step and the
    last `frame_stack` of them concatenated.

    EnvPool's dm_control tasks give state vectors only: `from_pixels=True` (Hsuanwu's default, and with
    it `height`, `width`, `camera_id`) and the distractor arguments (`resource_files`, `img_source`,
    `total_frames`) are refused; pass `from_pixels=False`.
    """
    del device, visualize_reward, height, width, camera_id
    _refuse_pixels(from_pixels, resource_files, img_source, total_frames, environment_kwargs)
    task = dmc_task(env_id)
    check_env_id(task)
    kwargs = dict(
        frame_skip=frame_skip,
        frame_stack=frame_stack,
        max_episode_steps=(episode_length + frame_skip - 1) // frame_skip,
    )
    env = make_envpool(task, num_envs, _AUTO_THREADS, seed, kwargs)
    keys = list(env.observation_space.spaces)
    sizes = [int(np.prod(env.observation_space[key].shape)) for key in keys]

    def flatten(obs: dict) -> np.ndarray:
        # Frame by frame, each frame's arrays in order, as Hsuanwu's FrameStack of flattened observations.
        frames = [obs[key].reshape(obs[key].shape[0], frame_stack, -1) for key in keys]
        return np.concatenate(frames, axis=2).reshape(frames[0].shape[0], -1).astype(np.float32)

    return FlatObservationEnv(env, flatten, sum(sizes))


def make_minigrid_env(
    env_id: str = "Alien-v5",
    num_envs: int = 8,
    fully_observable: bool = True,
    seed: int = 0,
    frame_stack: int = 1,
    device: str = "cpu",
    distributed: bool = False,
):
    """MiniGrid tasks with Hsuanwu's `fully_observable=False` processing (minigrid's FlatObsWrapper): the
    agent's 7x7x3 view flattened, then the mission one-hot encoded, one float32 vector per step
    (`envs/dict_obs.py`, which `make_env` applies to MiniGrid tasks too).

    EnvPool's MiniGrid observes the agent's 7x7 view only, so `fully_observable=True` (Hsuanwu's default:
    the whole grid as an image) is refused. (Hsuanwu's default `env_id` was "Alien-v5", not a MiniGrid id.)
    """
    del device, distributed
    if fully_observable:
        raise ValueError(
            "make_minigrid_env(fully_observable=True): EnvPool's MiniGrid gives the agent's 7x7 view, not the "
            "whole grid; pass fully_observable=False (Hsuanwu's FlatObsWrapper processing of that view)"
        )
    if frame_stack != 1:
        raise ValueError(
            "make_minigrid_env(frame_stack=...): Hsuanwu stacked frames of the full grid only; use 1"
        )
    check_env_id(env_id)
    return FlatDictObsEnv(make_envpool(env_id, num_envs, _AUTO_THREADS, seed, {}))


def make_procgen_env(
    env_id: str = "bigfish",
    num_envs: int = 64,
    device: str = "cpu",
    seed: int = 1,
    gamma: float = 0.99,
    num_levels: int = 200,
    start_level: int = 0,
    distribution_mode: str = "easy",
):
    """Procgen games as Hsuanwu made them (hsuanwu/env/procgen): `num_levels` levels from `start_level`,
    64x64 RGB frames channels first. Hsuanwu also normalised rewards by a running estimate of the
    `gamma`-discounted return's spread and clipped them to [-10, 10]; EnvPool has no such normalisation,
    so rewards come as the game gives them (`reward_scale` scales them for learning).

    EnvPool has the "easy" and "hard" distribution modes. Its Procgen needs the system Qt 5 libraries on
    Linux (`apt install libqt5gui5`).
    """
    del device, gamma
    modes = {"easy": "Easy", "hard": "Hard"}
    if distribution_mode not in modes:
        raise ValueError(
            f"make_procgen_env(distribution_mode={distribution_mode!r}): EnvPool has {sorted(modes)}"
        )
    task = f"{env_id.capitalize()}{modes[distribution_mode]}-v0"
    check_env_id(task)
    return make_envpool(
        task, num_envs, _AUTO_THREADS, seed, dict(num_levels=num_levels, start_level=start_level)
    )


def make_bullet_env(
    env_id: str = "AntBulletEnv-v0", num_envs: int = 1, device: str = "cpu", seed: int = 0, **_
):
    """Hsuanwu's PyBullet factory: EnvPool has no PyBullet suite, so this refuses, naming the suite."""
    raise ValueError(
        f"make_bullet_env({env_id!r}): EnvPool has no PyBullet suite; its MuJoCo tasks (e.g. 'Ant-v4', "
        "'HalfCheetah-v4') come through hsuanwu_jax.make_env with env_id set"
    )


def make_multibinary_env(
    env_id: str = "multibinary_state", num_envs: int = 1, device: str = "cpu", seed: int = 0, **_
):
    """Hsuanwu's MultiBinary test envs: refused, as the policy has no MultiBinary distribution (and EnvPool
    no such suite)."""
    raise ValueError(
        f"make_multibinary_env({env_id!r}): MultiBinary action spaces are not supported (the policy is "
        "categorical for Discrete actions or diagonal Gaussian for a Box) and EnvPool has no such suite"
    )
