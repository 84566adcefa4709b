"""Action distributions over a policy head's output; pure functions of arrays, batched by the caller.

A distribution is a class of static functions over the head's output `policy` (an array or a
tuple of arrays with leading batch dimensions `[...]`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

DISTRIBUTIONS = ("categorical", "diag_gaussian")


class Categorical:
    """Categorical over `A` discrete actions; `policy` is logits `[..., A]`, actions int32 `[...]`."""

    name = "categorical"

    @staticmethod
    def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
        return jax.random.categorical(key, logits).astype(jnp.int32)

    @staticmethod
    def mode(logits: jax.Array) -> jax.Array:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)

    @staticmethod
    def log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
        """log pi(action), `[...]`."""
        log_probs = jax.nn.log_softmax(logits)
        return jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    @staticmethod
    def entropy(logits: jax.Array) -> jax.Array:
        """Entropy in nats, `[...]`."""
        log_probs = jax.nn.log_softmax(logits)
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


class DiagGaussian:
    """Gaussian with diagonal covariance; `policy` is `(mean, log_std)`, each `[..., A]`; actions
    float32 `[..., A]`, unbounded (what the env receives is `env_action`'s, within its bounds)."""

    name = "diag_gaussian"

    @staticmethod
    def sample(key: jax.Array, policy) -> jax.Array:
        mean, log_std = policy
        return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)

    @staticmethod
    def mode(policy) -> jax.Array:
        return policy[0]

    @staticmethod
    def log_prob(policy, action: jax.Array) -> jax.Array:
        """log pi(action), summed over the action dimensions, `[...]`."""
        mean, log_std = policy
        z = (action - mean) * jnp.exp(-log_std)
        return jnp.sum(-0.5 * jnp.square(z) - log_std - 0.5 * math.log(2 * math.pi), axis=-1)

    @staticmethod
    def entropy(policy) -> jax.Array:
        """Entropy in nats, `[...]`."""
        _, log_std = policy
        return jnp.sum(log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1)


def squash(x: jax.Array, low, high) -> jax.Array:
    """`x` `[..., A]` mapped into `[low, high]` by centre + half-width * tanh(x), in each dimension whose
    bounds (NumPy arrays `[A]`) are both finite; `x` itself in the others."""
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    low, high = np.where(finite, low, -1.0), np.where(finite, high, 1.0)  # centre 0, half-width 1 where not
    centre, half_width = ((high + low) / 2).astype(np.float32), ((high - low) / 2).astype(np.float32)
    return jnp.where(finite, centre + half_width * jnp.tanh(x), x)


def get_distribution(name: str):
    """The distribution class called `name` (one of DISTRIBUTIONS)."""
    for distribution in (Categorical, DiagGaussian):
        if distribution.name == name:
            return distribution
    raise ValueError(f"distribution={name!r} is not one of {DISTRIBUTIONS}")
