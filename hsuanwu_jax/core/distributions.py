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
    squashes_actions = False

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

    action_entropy = entropy  # the entropy of the actions the env receives: the same


class DiagGaussian:
    """Gaussian with diagonal covariance; `policy` is `(mean, log_std)`, each `[..., A]`; actions
    float32 `[..., A]`, unbounded (what the env receives is `env_action`'s, within its bounds)."""

    name = "diag_gaussian"
    squashes_actions = False

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

    action_entropy = entropy  # what the entropy bonus takes: the Gaussian's (see SquashedGaussian)


# Gauss-Hermite nodes and weights for E[f(e)], e ~ N(0, 1): sum of weights * f(nodes) (exact for polynomials up
# to degree 127; the squashed entropy's integrand, log cosh, is analytic but bends within ~1 of 0: against dense
# integration the error is under 2e-4 nats for widths up to 3 half-widths, 0.01 at 6; tests/core/test_distributions.py).
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite.hermgauss(64)
NORMAL_NODES = (math.sqrt(2.0) * _HERMITE_NODES).astype(np.float32)
NORMAL_WEIGHTS = (_HERMITE_WEIGHTS / math.sqrt(math.pi)).astype(np.float32)


class SquashedGaussian(DiagGaussian):
    """A `DiagGaussian` whose samples the env receives squashed, centre + half-width * tanh(sample), in each
    dimension whose bounds `low`, `high` (`[A]`) are finite (`action_squash="sample"`).

    Sampling, the mode, log-probabilities and `entropy` are the Gaussian's, of the unsquashed sample (the
    squashing's Jacobian does not depend on the params, so V-trace's ratios are the same). `action_entropy`,
    what the entropy bonus takes, is that of the action the env receives: the Gaussian's plus
    E[log(1 - tanh(u)^2)] plus log half-width per squashed dimension. Unlike the Gaussian's, it is largest at a
    finite width (std 0.88 with the mean centred) and falls as the width grows past it, where more samples
    pile up at the bounds: an entropy bonus on it cannot widen the Gaussian without limit. It also falls where
    the mean sits deep in tanh's flat part (actions pinned at a bound) while the Gaussian can still move back:
    the collapse alarm watches `entropy`, the Gaussian's.
    """

    squashes_actions = True

    def __init__(self, low, high):
        low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
        self.squashed = np.isfinite(low) & np.isfinite(high)
        self.log_half_width = np.where(self.squashed, np.log((high - low) / 2), 0.0).astype(np.float32)

    def action_entropy(self, policy) -> jax.Array:
        """Entropy in nats of the env's actions, `[...]`; E over the Gaussian by 64-point Gauss-Hermite."""
        mean, log_std = policy
        gaussian = log_std + 0.5 * math.log(2 * math.pi * math.e)  # [..., A]
        u = mean[..., None] + jnp.exp(log_std)[..., None] * NORMAL_NODES  # [..., A, K]
        log_jacobian = 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u))  # log(1 - tanh(u)^2), stable
        squashed = gaussian + jnp.sum(NORMAL_WEIGHTS * log_jacobian, axis=-1) + self.log_half_width
        return jnp.sum(jnp.where(self.squashed, squashed, gaussian), axis=-1)


def squash(x: jax.Array, low, high) -> jax.Array:
    """`x` `[..., A]` mapped into `[low, high]` by centre + half-width * tanh(x), in each dimension whose
    bounds (NumPy arrays `[A]`) are both finite; `x` itself in the others."""
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    low, high = np.where(finite, low, -1.0), np.where(finite, high, 1.0)  # centre 0, half-width 1 where not
    centre, half_width = ((high + low) / 2).astype(np.float32), ((high - low) / 2).astype(np.float32)
    return jnp.where(finite, centre + half_width * jnp.tanh(x), x)


def action_distribution(name: str, action_squash: str = "mean", low=None, high=None):
    """The distribution of a policy head: `get_distribution(name)`, or for Box actions squashed by sample
    (`action_squash="sample"`, bounds `low`, `high`) a `SquashedGaussian`, whose `action_entropy` is the env
    actions'."""
    if name == DiagGaussian.name and action_squash == "sample" and low is not None:
        return SquashedGaussian(low, high)
    return get_distribution(name)


def get_distribution(name: str):
    """The distribution class called `name` (one of DISTRIBUTIONS)."""
    for distribution in (Categorical, DiagGaussian):
        if distribution.name == name:
            return distribution
    raise ValueError(f"distribution={name!r} is not one of {DISTRIBUTIONS}")
