"""Running normalisation of vector observations: their mean and variance over every observation learned
from, kept in the network's variables (collection `obs_stats`), so actors, `test()`, exports and
`load_policy` apply the same statistics as the learner. Pure functions; no Flax modules, no devices.

The network sees clip((x - mean) / sqrt(variance + EPSILON), -CLIP, CLIP) per observation dimension. The
learner adds up, over its batch, the observations normalised by the statistics in use and their squares
(values near 0 and 1, which lose no precision in float32 and add up over pieces and devices), then merges
them into the statistics (Chan et al.'s parallel update of a mean and variance). The first batch only places
the statistics: standardised by the initial (0, 1), a dimension far from 0 would lose its spread to float32
rounding; every later batch, standardised by statistics near its own, is counted.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

COLLECTION = "obs_stats"  # the network variables' collection that holds the statistics
CLIP = 10.0  # normalised observations are clipped to [-CLIP, CLIP]
EPSILON = 1e-8  # added to the variance: a constant dimension is not divided by zero

Stats = dict  # {"mean": [D], "variance": [D], "count": []} float32; count -1: not yet placed


class ObsSums(NamedTuple):
    """A batch's observations standardised by the statistics in use, summed (what `merge` takes; they add up
    over pieces and devices)."""

    obs_sum: jax.Array  # [D]
    obs_square_sum: jax.Array  # [D]
    obs_count: jax.Array  # [] float32


def initial_stats(size: int) -> Stats:
    """No observation seen: mean 0, variance 1 (observations pass almost unchanged), count -1."""
    return {
        "mean": jnp.zeros((size,), jnp.float32),
        "variance": jnp.ones((size,), jnp.float32),
        "count": -jnp.ones((), jnp.float32),
    }


def _standardise(stats: Stats, obs: jax.Array) -> jax.Array:
    mean, variance = jax.lax.stop_gradient((stats["mean"], stats["variance"]))
    return (obs.astype(jnp.float32) - mean) / jnp.sqrt(variance + EPSILON)


def normalise(stats: Stats, obs: jax.Array) -> jax.Array:
    """`obs` `[..., D]` as the network sees it: standardised per dimension, clipped to [-CLIP, CLIP]. The
    statistics take no gradient."""
    return jnp.clip(_standardise(stats, obs), -CLIP, CLIP)


def batch_sums(stats: Stats, obs: jax.Array) -> ObsSums:
    """Sums over `obs` `[N, D]` of the observations standardised by `stats` (unclipped) and of their
    squares, `[D]` each, and their count: what `merge` takes, summed over pieces and devices first."""
    z = _standardise(stats, obs)
    return ObsSums(jnp.sum(z, axis=0), jnp.sum(jnp.square(z), axis=0), jnp.asarray(obs.shape[0], jnp.float32))


def merge(stats: Stats, sums: ObsSums) -> Stats:
    """`stats` updated with a batch given by `batch_sums(stats, batch)` (added over every piece and
    device): the mean and (population) variance of every observation counted so far. The first batch
    (count -1) places them at its own mean and variance, counting nothing (count 0); the next one then
    replaces them whole (weight 1), and later ones are weighted by their share of the count."""
    n = sums.obs_count
    n_or_1 = jnp.maximum(n, 1.0)
    scale = jnp.sqrt(stats["variance"] + EPSILON)
    z_mean = sums.obs_sum / n_or_1
    batch_mean = stats["mean"] + scale * z_mean
    batch_variance = jnp.square(scale) * jnp.maximum(sums.obs_square_sum / n_or_1 - jnp.square(z_mean), 0.0)
    placing = stats["count"] < 0
    count = jnp.where(placing, 0.0, stats["count"] + n)
    delta = batch_mean - stats["mean"]
    weight = jnp.where(placing, 1.0, n / jnp.maximum(count, 1.0))
    mean = stats["mean"] + weight * delta
    variance = (
        (1.0 - weight) * stats["variance"]
        + weight * batch_variance
        + weight * (1.0 - weight) * jnp.square(delta)
    )
    return {
        "mean": jnp.where(n > 0, mean, stats["mean"]),
        "variance": jnp.where(n > 0, variance, stats["variance"]),
        "count": jnp.where(n > 0, count, stats["count"]),
    }
