"""Policy heads: what the network outputs for discrete actions (logits) and Box actions (a diagonal Gaussian), what
it is fed back as the last action, and what the env receives within a Box's bounds (`ACTION_BOUNDING`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax.core.distributions import squash


class CategoricalHead(NamedTuple):
    """Discrete actions: logits from a dense layer; the last action is fed one-hot; the env takes the index."""

    action_size: int
    init: nn.initializers.Initializer

    def last_action(self, prev_action: jax.Array) -> jax.Array:
        """`[T, B]` int -> `[T, B, A]` one-hot."""
        return jax.nn.one_hot(prev_action, self.action_size)

    def __call__(self, module: nn.Module, x: jax.Array) -> jax.Array:
        """Logits `[T, B, A]` (the layer is `module`'s, named "policy")."""
        return nn.Dense(self.action_size, kernel_init=self.init, name="policy")(x)

    def env_action(self, action: jax.Array) -> jax.Array:
        return action


class GaussianHead(NamedTuple):
    """Box actions: a diagonal Gaussian, its mean from a dense layer and a state-independent log standard
    deviation (initially log `initial_action_std`). `bounds` `(low, high)` and how they are kept (`squash`,
    `ACTION_BOUNDING`) say what the env receives and what the network is fed back."""

    action_size: int
    init: nn.initializers.Initializer
    initial_action_std: float
    bounds: tuple[tuple[float, ...], tuple[float, ...]] | None
    squash: str  # a key of ACTION_BOUNDING: "sample" or "mean"

    def last_action(self, prev_action: jax.Array) -> jax.Array:
        """`[T, B, A]` as fed back to the network."""
        return ACTION_BOUNDING[self._bounding].fed_back(prev_action.astype(jnp.float32))

    def __call__(self, module: nn.Module, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(mean, log_std)`, each `[T, B, A]` (the layer "policy" and the param "log_std" are `module`'s)."""
        head = nn.Dense(self.action_size, kernel_init=self.init, name="policy")(x)
        initial_log_std = nn.initializers.constant(math.log(self.initial_action_std))
        log_std = module.param("log_std", initial_log_std, (self.action_size,))
        mean = ACTION_BOUNDING[self._bounding].mean(head, self.bounds)
        return mean, jnp.broadcast_to(log_std, head.shape)

    def env_action(self, action: jax.Array) -> jax.Array:
        """`[B, A]` within the bounds, as `squash` says."""
        return ACTION_BOUNDING[self._bounding].to_env(action, self.bounds)

    @property
    def _bounding(self) -> str:
        return self.squash if self.bounds is not None else "unbounded"


class ActionBounding(NamedTuple):
    """How a Gaussian policy's actions keep within a Box's bounds (applied where both bounds are finite)."""

    fed_back: Callable[[jax.Array], jax.Array]  # the last action `[T, B, A]` as the network reads it
    mean: Callable  # (head output `[T, B, A]`, bounds) -> the Gaussian's mean
    to_env: Callable  # (action `[B, A]`, bounds) -> what the env receives


def _clip(action: jax.Array, bounds) -> jax.Array:
    low, high = (np.asarray(bound, np.float32) for bound in bounds)
    return jnp.clip(action, low, high)


ACTION_BOUNDING = {
    # "sample": centre + half-width * tanh(sample); the Gaussian lives before the squashing, its mean unbounded,
    # the last action fed back as tanh(sample), within [-1, 1] of its bounds.
    "sample": ActionBounding(
        jnp.tanh, lambda head, bounds: head, lambda action, bounds: squash(action, *bounds)
    ),
    # "mean": the mean itself is centre + half-width * tanh(head output); samples are clipped to the bounds.
    "mean": ActionBounding(lambda a: a, lambda head, bounds: squash(head, *bounds), _clip),
    "unbounded": ActionBounding(lambda a: a, lambda head, bounds: head, lambda action, bounds: action),
}
