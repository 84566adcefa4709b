"""Observations that are a Dict of arrays (EnvPool's DeepMind Control tasks) as one float32 vector.

The order is fixed: the Dict's keys sorted by name, each array flattened in C order, concatenated. A CheetahRun-v1
observation {"position": [8], "velocity": [9]} becomes [position (8), velocity (9)]: 17 float32 values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import gymnasium
import numpy as np

Layout = tuple[tuple[str, tuple[int, ...]], ...]  # (key, the entry's shape) in the order of the vector


def dict_layout(space: gymnasium.spaces.Dict) -> Layout:
    """The keys of a Dict observation space in the vector's order, with their entries' shapes. Every entry
    must be a numeric Box (vectors, matrices or scalars)."""
    layout = []
    for key in sorted(space.spaces):
        entry = space.spaces[key]
        if not isinstance(entry, gymnasium.spaces.Box) or not np.issubdtype(entry.dtype, np.number):
            raise ValueError(
                f"observation space entry {key!r} is {entry}: a Dict observation is flattened only when every "
                "entry is a numeric Box"
            )
        layout.append((key, tuple(entry.shape)))
    return tuple(layout)


def flat_size(layout: Layout) -> int:
    """D: the length of the flattened vector."""
    return sum(math.prod(shape) for _, shape in layout)


def flatten(obs: Mapping[str, np.ndarray], layout: Layout) -> np.ndarray:
    """A Dict observation as float32 `[B, D]` (each entry `[B, *shape]`), or `[D]` for one observation (each
    entry `[*shape]`)."""
    missing = [key for key, _ in layout if key not in obs]
    if missing:
        raise ValueError(f"the observation has no {missing} (expected the keys {[key for key, _ in layout]})")
    arrays = [np.asarray(obs[key], np.float32) for key, _ in layout]
    batch_shapes = {
        array.shape[: array.ndim - len(shape)] for array, (_, shape) in zip(arrays, layout, strict=True)
    }
    wrong = [
        f"{key} {array.shape}"
        for array, (key, shape) in zip(arrays, layout, strict=True)
        if array.shape[array.ndim - len(shape) :] != shape
    ]
    if wrong or len(batch_shapes) != 1 or len(next(iter(batch_shapes))) > 1:
        raise ValueError(
            f"observation entries {[f'{k} {a.shape}' for a, (k, _) in zip(arrays, layout, strict=True)]} do not fit the "
            f"layout {list(layout)} (each entry [*shape] or [B, *shape], one B for all)"
        )
    (batch_shape,) = batch_shapes
    return np.concatenate([array.reshape(*batch_shape, -1) for array in arrays], axis=-1)


class FlatDictObsEnv:
    """A batched env whose observations are a Dict, seen as one whose observations are float32 vectors
    `[B, D]` (the order above); actions, rewards and the rest pass through."""

    def __init__(self, env):
        self.env = env
        self.envpool_env = getattr(env, "envpool_env", env)  # what reading the task back looks at
        self.obs_layout = dict_layout(env.observation_space)
        self.observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, (flat_size(self.obs_layout),), np.float32
        )
        self.action_space = env.action_space
        self.config = env.config

    def reset(self):
        obs, info = self.env.reset()
        return flatten(obs, self.obs_layout), info

    def step(self, action):
        obs, *rest = self.env.step(action)
        return (flatten(obs, self.obs_layout), *rest)

    def render(self):
        return self.env.render()

    def close(self) -> None:
        self.env.close()
