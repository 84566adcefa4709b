"""Observations that are a Dict of arrays (EnvPool's DeepMind Control and MiniGrid tasks) as one float32 vector.

The order is fixed. A Dict of numeric arrays: its keys sorted by name, each array flattened in C order,
concatenated; a CheetahRun-v1 observation {"position": [8], "velocity": [9]} becomes [position (8), velocity (9)]:
17 float32 values. EnvPool's MiniGrid observation {"direction", "image": uint8 [7, 7, 3], "mission": uint8 [96]}
is encoded as minigrid's FlatObsWrapper encodes it (Hsuanwu's `fully_observable=False` processing): the agent's
view flattened (147 values), then the mission's characters one-hot (96 x 28 values); the direction is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import gymnasium
import numpy as np

from hsuanwu_jax.core.spec import ObsEntry

Layout = tuple[ObsEntry, ...]  # the entries in the order of the vector

MINIGRID_KEYS = frozenset({"direction", "image", "mission"})  # EnvPool's MiniGrid observation
TEXT_CODES = 28  # FlatObsWrapper's codes per character: a-z -> 0..25, space -> 26, comma -> 27
_CHARACTER_CODES = np.full(256, -1, np.int16)  # byte -> code; -1: a character FlatObsWrapper cannot encode
_CHARACTER_CODES[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(26)
_CHARACTER_CODES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(26)  # lower-cased
_CHARACTER_CODES[[ord(" "), ord(",")]] = [26, 27]


def dict_layout(space: gymnasium.spaces.Dict) -> Layout:
    """The entries of a Dict observation space in the vector's order: MiniGrid's view and mission, or every
    entry (each must then be a numeric Box: vectors, matrices or scalars) sorted by key."""
    if set(space.spaces) == MINIGRID_KEYS:
        return (
            ObsEntry("image", tuple(space["image"].shape)),
            ObsEntry("mission", tuple(space["mission"].shape), text=True),
        )
    layout = []
    for key in sorted(space.spaces):
        entry = space.spaces[key]
        if not isinstance(entry, gymnasium.spaces.Box) or not np.issubdtype(entry.dtype, np.number):
            raise ValueError(
                f"observation space entry {key!r} is {entry}: a Dict observation is flattened only when every "
                "entry is a numeric Box (or it is MiniGrid's, with the keys "
                f"{sorted(MINIGRID_KEYS)})"
            )
        layout.append(ObsEntry(key, tuple(entry.shape)))
    return tuple(layout)


def entry_size(entry: ObsEntry) -> int:
    """The entry's length in the vector: its values, or TEXT_CODES per character of text."""
    return math.prod(entry.shape) * (TEXT_CODES if entry.text else 1)


def flat_size(layout: Layout) -> int:
    """D: the length of the flattened vector."""
    return sum(entry_size(entry) for entry in layout)


def encode_text(text: np.ndarray) -> np.ndarray:
    """One-hot codes float32 `[..., L * 28]` of byte strings `[..., L]` (uint8, zero-padded), as minigrid's
    FlatObsWrapper encodes a mission: lower case, a-z -> 0..25, space -> 26, comma -> 27; zero rows from the
    first zero byte on."""
    text = np.asarray(text, np.uint8)
    codes = _CHARACTER_CODES[text]
    ended = np.cumsum(text == 0, axis=-1) > 0
    unknown = (codes < 0) & ~ended
    if unknown.any():
        index = tuple(np.argwhere(unknown)[0])
        row = bytes(text[index[:-1]]).split(b"\0")[0].decode("latin-1")
        raise ValueError(
            f"mission {row!r} has the character {chr(text[index])!r}, which FlatObsWrapper cannot encode"
        )
    one_hot = (codes[..., None] == np.arange(TEXT_CODES)) & ~ended[..., None]
    return one_hot.reshape(*text.shape[:-1], -1).astype(np.float32)


def flatten(obs: Mapping[str, np.ndarray], layout: Layout) -> np.ndarray:
    """A Dict observation as float32 `[B, D]` (each entry `[B, *shape]`), or `[D]` for one observation (each
    entry `[*shape]`)."""
    missing = [entry.key for entry in layout if entry.key not in obs]
    if missing:
        raise ValueError(
            f"the observation has no {missing} (expected the keys {[entry.key for entry in layout]})"
        )
    arrays = [np.asarray(obs[entry.key]) for entry in layout]
    batch_shapes = {
        array.shape[: array.ndim - len(entry.shape)] for array, entry in zip(arrays, layout, strict=True)
    }
    wrong = [
        f"{entry.key} {array.shape}"
        for array, entry in zip(arrays, layout, strict=True)
        if array.shape[array.ndim - len(entry.shape) :] != entry.shape
    ]
    if wrong or len(batch_shapes) != 1 or len(next(iter(batch_shapes))) > 1:
        raise ValueError(
            f"observation entries {[f'{e.key} {a.shape}' for a, e in zip(arrays, layout, strict=True)]} do not "
            f"fit the layout {[(e.key, e.shape) for e in layout]} (each entry [*shape] or [B, *shape], one B for all)"
        )
    (batch_shape,) = batch_shapes
    return np.concatenate(
        [
            encode_text(array) if entry.text else array.reshape(*batch_shape, -1).astype(np.float32)
            for array, entry in zip(arrays, layout, strict=True)
        ],
        axis=-1,
    )


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
