"""The batched-env interface the actors rely on, checked: spaces read into an `EnvSpec`, the number of envs,
`step()`'s five values, one env per actor with equal spaces."""

from __future__ import annotations

import gymnasium
import numpy as np

from hsuanwu_jax.core.spec import EnvSpec


def env_spec(env) -> EnvSpec:
    """Reads and checks the spaces of an EnvPool env (gymnasium API)."""
    obs_space, action_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gymnasium.spaces.Box) or len(obs_space.shape) not in (1, 3):
        raise ValueError(
            f"observation space {obs_space} is not supported: the networks take a Box of rank 1 "
            "(vectors, encoder 'mlp'; a Dict of them is flattened) or rank 3 (uint8 [C, H, W] frames, encoder 'nature_cnn' or 'resnet')"
        )
    obs = (tuple(obs_space.shape), np.dtype(obs_space.dtype))
    layout = {"obs_layout": getattr(env, "obs_layout", None)}  # a flattened Dict's (FlatDictObsEnv)
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return EnvSpec(*obs, (), int(action_space.n), **layout)
    if isinstance(action_space, gymnasium.spaces.Box) and len(action_space.shape) == 1:
        low, high = (
            np.broadcast_to(action_space.low, action_space.shape),
            np.broadcast_to(action_space.high, action_space.shape),
        )
        return EnvSpec(
            *obs,
            tuple(action_space.shape),
            action_space.shape[0],
            tuple(map(float, low)),
            tuple(map(float, high)),
            **layout,
        )
    raise ValueError(
        f"action space {action_space} is not supported: the policy takes Discrete actions "
        "(categorical) or a rank-1 Box (diagonal Gaussian)"
    )


def num_envs_of(env) -> int:
    return int(env.config["num_envs"])


def step_env(env, action) -> tuple:
    """`env.step(action)`, with the old gym API (4 values) named rather than failing to unpack."""
    result = env.step(action)
    if not isinstance(result, tuple) or len(result) != 5:
        count = len(result) if isinstance(result, tuple) else type(result).__name__
        raise TypeError(
            f"{type(env).__name__}.step() returned {count} values; hsuanwu_jax needs gymnasium's 5 "
            "(obs, reward, terminated, truncated, info): the 4-value step is the old gym API"
        )
    return result


def check_same_spec(spec: EnvSpec, expected: EnvSpec, name: str) -> None:
    if spec != expected:
        raise ValueError(f"{name} has spec {spec}, which differs from the training envs' {expected}")


def check_actor_envs(envs: list, num_actors: int, num_envs: int) -> EnvSpec:
    """Checks that there is one env per actor, each of `num_envs` envs, all with the same spaces;
    returns their common spec."""
    if len(envs) != num_actors:
        raise ValueError(
            f"train_env has {len(envs)} envs but num_actors={num_actors}: give one env per actor"
        )
    for index, env in enumerate(envs):
        if num_envs_of(env) != num_envs:
            raise ValueError(
                f"train_env[{index}] has num_envs={num_envs_of(env)} but the config says num_envs={num_envs}"
            )
    spec = env_spec(envs[0])
    for index, env in enumerate(envs[1:], start=1):
        check_same_spec(env_spec(env), spec, f"train_env[{index}]")
    return spec


class ObservationMismatch(ValueError):
    """Observations whose shape or dtype differs from what the env's observation space declares."""


def check_obs(obs, spec: EnvSpec, num_envs: int, call: str) -> None:
    """Refuses observations that are not `[num_envs, *spec.obs_shape]` of `spec.obs_dtype` (the env's
    declared space) with an `ObservationMismatch`; `call` names the call that returned them (e.g.
    "actor-1's env.step() call 12")."""
    received = np.asarray(obs)
    expected = (num_envs, *spec.obs_shape)
    if received.shape != expected or received.dtype != spec.obs_dtype:
        raise ObservationMismatch(
            f"{call} returned observations of shape {received.shape} and dtype {received.dtype}, but the "
            f"env's observation space declares {spec.obs_shape} {spec.obs_dtype} for each of its {num_envs} "
            f"envs ({expected} {spec.obs_dtype} in all): an env's observations must keep that shape and "
            "dtype all run long"
        )


def checked_step(env, action, spec: EnvSpec, num_envs: int, call: str) -> tuple:
    """`step_env(env, action)` with its observations checked (`check_obs`). `call` names this step in
    the errors, those raised inside the env included (e.g. "actor-1's env.step() call 12")."""
    try:
        result = step_env(env, action)
    except ObservationMismatch as error:  # found inside the env (a gymnasium vector env's stacking)
        raise ObservationMismatch(f"{call}: {error}") from error
    except Exception as error:
        error.add_note(f"raised in {call}")
        raise
    check_obs(result[0], spec, num_envs, call)
    return result
