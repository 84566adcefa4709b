"""Gymnasium vector envs behind EnvPool's batched interface, and the check that an env is batched at all."""

from __future__ import annotations

import envpool
import gymnasium
import numpy as np

from hsuanwu_jax.envs.dict_obs import FlatDictObsEnv
from hsuanwu_jax.envs.interface import ObservationMismatch


class GymnasiumVectorEnv:
    """Lets a gymnasium vector env (e.g. `gymnasium.vector.AsyncVectorEnv` of your own env) stand in
    for an EnvPool env: same `reset`/`step` batch interface, so the same actor loop runs it.

    Gymnasium's default "next step" auto-reset is EnvPool's own reset semantics; other modes are
    refused. Python envs step far slower than EnvPool's C++ ones: use EnvPool where it has the task.
    """

    def __init__(self, vector_env, seed: int | None = None):
        mode = vector_env.metadata.get("autoreset_mode", gymnasium.vector.AutoresetMode.NEXT_STEP)
        if mode != gymnasium.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(
                f"the gymnasium vector env uses autoreset_mode={mode}: only AutoresetMode.NEXT_STEP "
                "(gymnasium's default, EnvPool's behaviour) is supported"
            )
        self.env = vector_env
        self.config = {"num_envs": vector_env.num_envs}
        self.observation_space = vector_env.single_observation_space
        self.action_space = vector_env.single_action_space
        self._seed = seed

    def reset(self):
        obs, info = self.env.reset(seed=self._seed)
        self._seed = None  # seed once; later resets continue the envs' own random streams
        return obs, info

    def step(self, action):
        """The vector env's step; an env whose observation changed shape is named (`ObservationMismatch`)
        where gymnasium refuses to stack it with a bare NumPy error."""
        try:
            return self.env.step(action)
        except ValueError as error:
            mismatch = self._reshaped_obs()
            if mismatch is None:
                raise
            raise ObservationMismatch(f"{mismatch} (gymnasium: {error})") from error

    def _reshaped_obs(self) -> str | None:
        """Which env's last observation does not have the declared shape, where the vector env keeps
        each env's last observation (`SyncVectorEnv._env_obs`, gymnasium 1.x); None where none or
        unknown. Only shapes: gymnasium casts each observation to the space's dtype as it stacks."""
        space = self.observation_space
        for index, obs in enumerate(getattr(self.env, "_env_obs", None) or ()):
            if np.shape(obs) != space.shape:
                return (
                    f"env {index} of the gymnasium vector env returned an observation of shape "
                    f"{np.shape(obs)} and dtype {np.asarray(obs).dtype}, but its observation space declares "
                    f"{space.shape} {space.dtype}: an env's observations must keep that shape all run long"
                )
        return None

    def close(self) -> None:
        self.env.close()


def as_batched_env(env):
    """EnvPool envs as they are; other gymnasium vector envs through `GymnasiumVectorEnv`; either with a Dict
    observation space (EnvPool's DMC tasks) through `FlatDictObsEnv` (float32 vectors, `dict_obs.py`).

    EnvPool envs are told apart by their type (gymnasium sees them as single `gymnasium.Env`s); a single
    gymnasium env or anything without the batched interface is refused, naming what to pass instead.
    """
    if isinstance(env, envpool.python.envpool.EnvPoolMixin):
        return _flat_observations(env)
    if isinstance(env, gymnasium.vector.VectorEnv):
        return _flat_observations(GymnasiumVectorEnv(env))
    if isinstance(env, gymnasium.Env):
        raise TypeError(
            f"{type(env).__name__} is a single gymnasium env; the trainer steps batches of envs: pass an "
            "EnvPool env (hsuanwu_jax.make_env) or a vector env, e.g. "
            "gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(...)] * num_envs)"
        )
    if not all(
        hasattr(env, name) for name in ("reset", "step", "observation_space", "action_space", "config")
    ):
        raise TypeError(
            f"{type(env).__name__} is not a batched env: expected an EnvPool env (hsuanwu_jax.make_env) or a "
            "gymnasium vector env"
        )
    return _flat_observations(env)


def _flat_observations(env):
    return FlatDictObsEnv(env) if isinstance(env.observation_space, gymnasium.spaces.Dict) else env
