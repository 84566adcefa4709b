"""PopArt (Hessel et al., "Multi-task Deep Reinforcement Learning with PopArt", AAAI 2019; van Hasselt et
al. 2016): running statistics of the value targets, targets normalised by them for the value head, and
the value head's last layer rescaled whenever the statistics move so that its unnormalised outputs stay
exactly what they were. Pure functions; no Flax modules, no config, no devices.

The value head outputs n(x); the value is V(x) = std * n(x) + mean.

Several tasks (the paper's multi-task PopArt): one value output and one set of statistics per task, each
field of `PopArtStats` then shaped `[K]` for K tasks; `for_samples` gives each sample its task's. Every
function here is elementwise over the tasks, and a single-task run keeps scalar statistics.

One departure from the paper: the variance is a running average of each batch's variance of the targets
(around the batch's mean), not the running second moment minus the squared running mean. The latter also
counts how far the targets' mean moved over the averaging window, and the targets are bootstrapped from
values that each optimizer step moves by amounts proportional to std, so that form can feed on itself and
run std to its bound (benchmarks/RESULTS.md, "PopArt, second look"). Neither form holds when the steps
themselves are too large; what holds them is `value_bounds`: values are clipped to the returns the rewards
seen allow before V-trace bootstraps from them, so no target leaves that range.

A second departure: the standard deviation has a floor tied to the rewards seen (`variance_floor`). Targets
with (almost) no spread, as where random play never sees a reward, would otherwise drive std to MIN_STD while
the value head is rescaled to keep its outputs: its small errors become errors of thousands in normalised units,
and their gradients, under one global norm clip, silence the policy's (benchmarks/RESULTS.md, "Rewards that
random play never sees").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

# std is kept within these bounds: a constant target (variance 0) must not divide by zero, and a
# diverging one must not overflow the rescale.
MIN_STD, MAX_STD = 1e-4, 1e6


class PopArtRule(NamedTuple):
    """How the statistics follow the targets: `step_size` (the paper's beta per optimizer step), `std_floor`
    (std is kept at least this fraction of the largest reward seen times `reward_scale`, the targets' units;
    0: MIN_STD only)."""

    step_size: float
    std_floor: float
    reward_scale: float


class PopArtStats(NamedTuple):
    """Running mean and variance of the value targets, and the range of the rewards seen so far (float32
    scalars, or `[K]` with one per task). The reward range bounds every return (`value_bounds`): values outside it are clipped where
    V-trace bootstraps from them, so the targets, and the statistics that follow them, cannot run away."""

    mean: jax.Array
    variance: jax.Array
    reward_min: jax.Array  # the smallest reward (as the env gave it) of every batch learned from, or 0
    reward_max: jax.Array  # the largest, or 0


def initial_stats(num_tasks: int = 1) -> PopArtStats:
    """mean 0, variance 1: std 1, so normalised and unnormalised values start equal; no rewards seen.
    Scalars for one task, `[num_tasks]` for several."""
    shape = () if num_tasks == 1 else (num_tasks,)
    zero = jnp.zeros(shape, jnp.float32)
    return PopArtStats(zero, jnp.ones(shape, jnp.float32), zero, zero)


def num_tasks(stats: PopArtStats) -> int:
    """How many tasks `stats` hold statistics for."""
    return 1 if jnp.ndim(stats.mean) == 0 else stats.mean.shape[0]


def for_samples(stats: PopArtStats, task: jax.Array) -> PopArtStats:
    """The statistics of each sample's task: each field shaped like `task` (int32 task indices), or the
    scalars of single-task `stats` as they are (they hold for every sample)."""
    if jnp.ndim(stats.mean) == 0:
        return stats
    return jax.tree.map(lambda field: field[task], stats)


def task_sums(values: jax.Array, task: jax.Array, num_tasks: int) -> jax.Array:
    """The sum of `values` over the samples of each task (`task` int32, shaped like `values`): `[num_tasks]`,
    or the plain sum (a scalar) for one task, as `update_stats` takes them."""
    if num_tasks == 1:
        return jnp.sum(values)
    return jnp.sum(
        values[..., None] * jax.nn.one_hot(task, num_tasks, dtype=values.dtype),
        axis=tuple(range(values.ndim)),
    )


def std(stats: PopArtStats) -> jax.Array:
    """The targets' standard deviation, sqrt(variance), within [MIN_STD, MAX_STD]."""
    return jnp.sqrt(jnp.clip(stats.variance, MIN_STD**2, MAX_STD**2))


def variance_floor(stats: PopArtStats, rule: PopArtRule) -> jax.Array:
    """The least variance the statistics may hold (per task): (std_floor * reward_scale * the largest |reward|
    seen)^2, or 1 (std's starting value) while every reward seen is 0, where every target is 0 and says
    nothing of the scale to come; 0 with `std_floor` 0."""
    largest = rule.reward_scale * jnp.maximum(jnp.abs(stats.reward_min), jnp.abs(stats.reward_max))
    floor = jnp.where(largest > 0, jnp.square(rule.std_floor * largest), 1.0)
    return floor if rule.std_floor > 0 else jnp.zeros_like(floor)


class TargetSums(NamedTuple):
    """A batch's valid value targets normalised by the statistics in use, (G - mean) / std, summed per task
    (`[K]` each, scalars for one task): what `update_stats` takes (they add up over pieces and devices)."""

    normalised_sum: jax.Array
    normalised_square_sum: jax.Array
    count: jax.Array  # the targets summed


def target_sums(normalised: jax.Array, mask: jax.Array, task: jax.Array, num_tasks: int) -> TargetSums:
    """`TargetSums` of normalised targets `[T, B]` where `mask` (1.0: a valid target), by `task` `[T, B]`."""
    return TargetSums(
        task_sums(mask * normalised, task, num_tasks),
        task_sums(mask * jnp.square(normalised), task, num_tasks),
        task_sums(mask, task, num_tasks),
    )


def update_stats(
    stats: PopArtStats, normalised_sum, normalised_square_sum, count, step_size: float, min_variance=0.0
) -> PopArtStats:
    """Moves the statistics towards the batch's by `step_size` (the paper's beta): mean <- (1 - beta) mean
    + beta * the batch's mean target, variance <- max((1 - beta) variance + beta * the batch's variance,
    `min_variance`).

    Takes sums over the batch's valid targets normalised by `stats` itself, (G - mean) / std and its
    square, and their count: sums of values near 0 and 1 lose no precision in float32 however large the
    targets, and add up over chunks and devices. A batch without targets leaves the statistics as they are
    (with several tasks, `[K]` sums and counts: a task without targets in the batch keeps its statistics).
    """
    has_targets = count > 0
    count = jnp.maximum(count, 1.0)
    normalised_mean = normalised_sum / count
    normalised_variance = jnp.maximum(normalised_square_sum / count - jnp.square(normalised_mean), 0.0)
    scale = std(stats)
    mean = stats.mean + step_size * scale * normalised_mean  # (1 - beta) mean + beta * (mean + scale * m)
    variance = (1 - step_size) * stats.variance + step_size * jnp.square(scale) * normalised_variance
    variance = jnp.maximum(variance, min_variance)
    return stats._replace(
        mean=jnp.where(has_targets, mean, stats.mean),
        variance=jnp.where(has_targets, variance, stats.variance),
    )


def task_reward_range(rewards: jax.Array, task: jax.Array, num_tasks: int) -> tuple[jax.Array, jax.Array]:
    """The smallest and largest of `rewards` for each task (`task` shaped like `rewards`): `[num_tasks]` each,
    +inf and -inf for a task without rewards here (so `widen_reward_range` leaves it alone), or scalars for
    one task."""
    if num_tasks == 1:
        return jnp.min(rewards), jnp.max(rewards)
    of_task = jax.nn.one_hot(task, num_tasks, dtype=bool)
    axes = tuple(range(rewards.ndim))
    lowest = jnp.min(jnp.where(of_task, rewards[..., None], jnp.inf), axis=axes)
    return lowest, jnp.max(jnp.where(of_task, rewards[..., None], -jnp.inf), axis=axes)


def widen_reward_range(stats: PopArtStats, batch_min, batch_max) -> PopArtStats:
    """`stats` whose reward range also covers a batch's smallest and largest reward (per task: `[K]`)."""
    return stats._replace(
        reward_min=jnp.minimum(stats.reward_min, batch_min),
        reward_max=jnp.maximum(stats.reward_max, batch_max),
    )


def value_bounds(stats: PopArtStats, reward_scale: float, discount: float) -> tuple[jax.Array, jax.Array]:
    """The range every discounted return lies in when each reward, times `reward_scale`, lies within the
    range seen: [min, max] * reward_scale / (1 - discount), 0 included (an episode can end at any step).
    A V-trace target built from rewards and values within it stays within it. `discount` < 1."""
    low, high = reward_scale * stats.reward_min, reward_scale * stats.reward_max
    return jnp.minimum(low, high) / (1 - discount), jnp.maximum(low, high) / (1 - discount)


def preserve_outputs(kernel, bias, old: PopArtStats, new: PopArtStats):
    """The value head's last layer `(kernel [F, K], bias [K])`, one output per task (K = 1: one task), rescaled
    so that each task's std * n(x) + mean is the same under `new` statistics as it was under `old`:
    kernel * s / s', (s * bias + m - m') / s', column by column."""
    old_std, new_std = std(old), std(new)
    return kernel * old_std / new_std, (old_std * bias + old.mean - new.mean) / new_std
