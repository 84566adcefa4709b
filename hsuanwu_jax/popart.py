"""PopArt (Hessel et al., "Multi-task Deep Reinforcement Learning with PopArt", AAAI 2019; van Hasselt et
al. 2016): running statistics of the value targets, targets normalised by them for the value head, and
the value head's last layer rescaled whenever the statistics move so that its unnormalised outputs stay
exactly what they were. Pure functions; no Flax modules, no config, no devices.

The value head outputs n(x); the value is V(x) = std * n(x) + mean.

One departure from the paper: the variance is a running average of each batch's variance of the targets
(around the batch's mean), not the running second moment minus the squared running mean. The latter also
counts how far the targets' mean moved over the averaging window, and the targets are bootstrapped from
values that each optimizer step moves by amounts proportional to std: on HalfCheetah-v4 (lr 3e-4, RMSProp)
it ran std to its 1e6 bound within 1M env steps, while each batch's variance stayed at std 2 to 6. Neither
form holds when the steps themselves are too large: at lr 3e-3 both ran away on Pendulum-v1
(benchmarks/RESULTS.md, "PopArt").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

# std is kept within these bounds: a constant target (variance 0) must not divide by zero, and a
# diverging one must not overflow the rescale.
MIN_STD, MAX_STD = 1e-4, 1e6


class PopArtStats(NamedTuple):
    """Running mean and variance of the value targets (float32 scalars)."""

    mean: jax.Array
    variance: jax.Array


def initial_stats() -> PopArtStats:
    """mean 0, variance 1: std 1, so normalised and unnormalised values start equal."""
    return PopArtStats(jnp.zeros((), jnp.float32), jnp.ones((), jnp.float32))


def std(stats: PopArtStats) -> jax.Array:
    """The targets' standard deviation, sqrt(variance), within [MIN_STD, MAX_STD]."""
    return jnp.sqrt(jnp.clip(stats.variance, MIN_STD**2, MAX_STD**2))


def update_stats(
    stats: PopArtStats, normalised_sum, normalised_square_sum, count, step_size: float
) -> PopArtStats:
    """Moves the statistics towards the batch's by `step_size` (the paper's beta): mean <- (1 - beta) mean
    + beta * the batch's mean target, variance <- (1 - beta) variance + beta * the batch's variance.

    Takes sums over the batch's valid targets normalised by `stats` itself, (G - mean) / std and its
    square, and their count: sums of values near 0 and 1 lose no precision in float32 however large the
    targets, and add up over chunks and devices. A batch without targets leaves the statistics as they are.
    """
    has_targets = count > 0
    count = jnp.maximum(count, 1.0)
    normalised_mean = normalised_sum / count
    normalised_variance = jnp.maximum(normalised_square_sum / count - jnp.square(normalised_mean), 0.0)
    scale = std(stats)
    mean = stats.mean + step_size * scale * normalised_mean  # (1 - beta) mean + beta * (mean + scale * m)
    variance = (1 - step_size) * stats.variance + step_size * jnp.square(scale) * normalised_variance
    return PopArtStats(
        jnp.where(has_targets, mean, stats.mean), jnp.where(has_targets, variance, stats.variance)
    )


def preserve_outputs(kernel, bias, old: PopArtStats, new: PopArtStats):
    """The value head's last layer `(kernel [F, 1], bias [1])` rescaled so that std * n(x) + mean is the
    same under `new` statistics as it was under `old`: kernel * s / s', (s * bias + m - m') / s'."""
    old_std, new_std = std(old), std(new)
    return kernel * old_std / new_std, (old_std * bias + old.mean - new.mean) / new_std
