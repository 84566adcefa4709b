"""What the rest of the package knows about an env: its spaces (`EnvSpec`, stored in checkpoints and exports
as JSON) and what a train env tells the config's validation (`EnvFacts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np


class ObsEntry(NamedTuple):
    """One entry of a Dict observation as it is flattened (envs/dict_obs.py): its key, the entry's shape,
    and whether it is text (bytes, one-hot encoded per character) rather than numbers."""

    key: str
    shape: tuple[int, ...]
    text: bool = False


class EnvSpec(NamedTuple):
    """What the networks and buffers need to know about an env's spaces."""

    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype
    action_shape: tuple[int, ...]  # () for discrete actions, (A,) for continuous ones
    action_size: int  # the number of discrete actions, or A
    action_low: tuple[float, ...] | None = None  # bounds of continuous actions
    action_high: tuple[float, ...] | None = None
    # For Dict observations flattened into obs_shape (envs/dict_obs.py): the entries, in order.
    obs_layout: tuple[ObsEntry, ...] | None = None

    @property
    def is_image(self) -> bool:
        return len(self.obs_shape) == 3

    @property
    def is_discrete(self) -> bool:
        return self.action_shape == ()

    @property
    def action_dtype(self) -> np.dtype:
        return np.dtype(np.int32 if self.is_discrete else np.float32)

    @property
    def distribution(self) -> str:
        """The distribution that fits the action space."""
        return "categorical" if self.is_discrete else "diag_gaussian"

    @property
    def max_entropy(self) -> float | None:
        """The most entropy a policy can have, in nats per step: ln(actions) for discrete actions (the uniform
        policy), None for continuous ones (a Gaussian's has no bound)."""
        return float(np.log(self.action_size)) if self.is_discrete else None


def spec_to_json(spec: EnvSpec) -> dict[str, Any]:
    return {**spec._asdict(), "obs_dtype": spec.obs_dtype.name}


def spec_from_json(data: Mapping[str, Any]) -> EnvSpec:
    def optional_tuple(x):
        return None if x is None else tuple(x)

    return EnvSpec(
        obs_shape=tuple(data["obs_shape"]),
        obs_dtype=np.dtype(data["obs_dtype"]),
        action_shape=tuple(data["action_shape"]),
        action_size=int(data["action_size"]),
        action_low=optional_tuple(data["action_low"]),
        action_high=optional_tuple(data["action_high"]),
        obs_layout=None
        if data.get("obs_layout") is None  # specs stored before Dict observations were taken have none
        # entries stored before text entries existed have two fields: numbers
        else tuple(ObsEntry(key, tuple(shape), *text) for key, shape, *text in data["obs_layout"]),
    )


def spec_differences(first: EnvSpec, second: EnvSpec, first_name: str, second_name: str) -> list[str]:
    """`"<field>: <first_name> <value>, <second_name> <value>"` for each field where two specs differ."""
    return [
        f"{field}: {first_name} {a!r}, {second_name} {b!r}"
        for field, a, b in zip(EnvSpec._fields, first, second, strict=True)
        if a != b
    ]


class EnvFacts(NamedTuple):
    """What validation needs from the train env a script hands over (None where unknown)."""

    total_envs: int | None = None  # envs in train_env, all actors together
    actor_envs: int | None = None  # the number of envs in train_env when it is a list (one per actor thread)
    env_id: str | None = None  # the EnvPool task id
    same_tasks: tuple[str, ...] = ()  # every task id EnvPool makes identically (HalfCheetah-v3 and -v4)
    env_kwargs: Mapping[str, Any] | None = None  # its envpool.make arguments
    obs_rank: int | None = None  # 3 for [C, H, W] frames, 1 for vectors
