"""PopArt (Hessel et al., "Multi-task Deep Reinforcement Learning with PopArt", AAAI 2019; van Hasselt et
al. 2016): running statistics of the value targets, targets normalised by them for the value head, and
the value head's last layer rescaled whenever the statistics move so that its unnormalised outputs stay
exactly what they were. Pure functions; no Flax modules, no config, no devices.

The value head outputs n(x); the value is V(x) = std * n(x) + mean.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

# std is kept within these bounds: a constant target (variance 0) must not divide by zero, and a
# diverging one must not overflow the rescale.
MIN_STD, MAX_STD = 1e-4, 1e6


class PopArtStats(NamedTuple):
    """Running first and second moments of the value targets (float32 scalars)."""

    mean: jax.Array
    second_moment: jax.Array


def initial_stats() -> PopArtStats:
    """mean 0, second moment 1: std 1, so normalised and unnormalised values start equal."""
    return PopArtStats(jnp.zeros((), jnp.float32), jnp.ones((), jnp.float32))


def std(stats: PopArtStats) -> jax.Array:
    """The targets' standard deviation, sqrt(second moment - mean^2), within [MIN_STD, MAX_STD]."""
    variance = stats.second_moment - jnp.square(stats.mean)
    return jnp.sqrt(jnp.clip(variance, MIN_STD**2, MAX_STD**2))


def update_stats(stats: PopArtStats, target_sum, target_square_sum, count, step_size: float) -> PopArtStats:
    """Moves the moments towards the batch's by `step_size` (the paper's beta): m <- (1 - beta) m +
    beta * batch mean of G (and of G^2). Takes sums over the batch's valid targets and their count (sums
    add up over chunks and devices); a batch without targets leaves the statistics as they are."""
    has_targets = count > 0
    count = jnp.maximum(count, 1.0)
    mean = (1 - step_size) * stats.mean + step_size * target_sum / count
    second_moment = (1 - step_size) * stats.second_moment + step_size * target_square_sum / count
    return PopArtStats(
        jnp.where(has_targets, mean, stats.mean), jnp.where(has_targets, second_moment, stats.second_moment)
    )


def preserve_outputs(kernel, bias, old: PopArtStats, new: PopArtStats):
    """The value head's last layer `(kernel [F, 1], bias [1])` rescaled so that std * n(x) + mean is the
    same under `new` statistics as it was under `old`: kernel * s / s', (s * bias + m - m') / s'."""
    old_std, new_std = std(old), std(new)
    return kernel * old_std / new_std, (old_std * bias + old.mean - new.mean) / new_std
