"""One device's update: gradients of the IMPALA loss summed over the batch (in pieces or at once), then the
optimizer.

The loss is a sum over envs, so gradients and metrics are summed over the learner's axis: the update is the
same whether the batch sits on one device or is split across many. For the same reason a device's shard can
be processed in sequential pieces along B whose gradients are added: the same update, with smaller
activations (faster per sample for conv nets on CPUs, less memory) and one compiled piece reused for all of
them (XLA:CPU ran a conv net's backward pass many times slower inside lax.scan, and a jitted Python loop
compiles one copy of the network per piece).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from hsuanwu_jax.agent.losses import LossFn
from hsuanwu_jax.agent.networks import VALUE_HEAD
from hsuanwu_jax.agent.optim import LearningRate
from hsuanwu_jax.core import obs_norm, popart
from hsuanwu_jax.core.types import LearnerState, Params, Trajectory, map_envs

Metrics = dict[str, jax.Array]  # scalars, logged


class Sums(NamedTuple):
    """What some envs of a batch give an update, summed over them (and then over pieces and devices)."""

    grads: Params  # of the loss, shaped like the params
    metrics: Metrics  # the loss's logged sums
    target_sums: popart.TargetSums | None  # with PopArt: the normalised value targets', for the statistics
    obs_sums: obs_norm.ObsSums | None  # with observation statistics in the params: the observations'


def env_chunk(traj: Trajectory, index, num_chunks: int) -> Trajectory:
    """Piece `index` (an int or a traced int32) of `traj` `[T+1, B, ...]` cut along B into `num_chunks`
    equal pieces: `[T+1, B / num_chunks, ...]`."""
    size, remainder = divmod(traj.obs.shape[1], num_chunks)
    if remainder:
        raise ValueError(f"a batch of {traj.obs.shape[1]} envs cannot be cut into {num_chunks} equal chunks")
    return map_envs(lambda axis, x: jax.lax.dynamic_slice_in_dim(x, index * size, size, axis), traj)


def rescale_value_head(params, old: popart.PopArtStats, new: popart.PopArtStats):
    """`params` with the value head's last layer rescaled to keep its unnormalised outputs (popart.py)."""
    head = params["params"][VALUE_HEAD]
    kernel, bias = popart.preserve_outputs(head["kernel"], head["bias"], old, new)
    return {**params, "params": {**params["params"], VALUE_HEAD: {**head, "kernel": kernel, "bias": bias}}}


def make_update_fns(
    *,
    loss_fn: LossFn,
    optimizer: Callable[[LearningRate], optax.GradientTransformation],
    axis_name: str,
    num_chunks: int = 1,
    chunks_per_call: int = 1,
    num_minibatches: int = 1,
    popart_rule: popart.PopArtRule | None = None,
) -> DeviceUpdate:
    """One device's share of every update (`DeviceUpdate`), in `num_chunks` pieces, `chunks_per_call` per call
    of one compiled program."""
    if num_chunks % chunks_per_call:
        raise ValueError(f"chunks_per_call={chunks_per_call} must divide num_chunks={num_chunks}")
    return DeviceUpdate(
        loss_fn, optimizer, axis_name, num_chunks, chunks_per_call, num_minibatches, popart_rule
    )


@dataclasses.dataclass(frozen=True)
class DeviceUpdate:
    """One device's share of every update, over the learner's axis `axis_name`, written for a mapping that binds
    that axis (`DataParallelUpdate` maps and jits it). `step` processes the device's shard at once; `zero_sums`,
    `add_pieces` and `finish` process it in `num_chunks` pieces along B, `chunks_per_call` pieces per call of
    one compiled program, and give the same update (`step` is `finish` of the whole shard's `Sums`).

    `optimizer` makes the update's optax transformation for the `LearningRate` the programs are called with
    (`optim.py`). After the optimizer step, observation statistics in the params take in the batch
    (`_observation_step`) and, with `popart_rule` (a loss with `popart`), the value statistics follow the batch's
    targets, identical on every device (`_popart_step`). An update may take several optimizer steps on one
    batch, `num_minibatches` per pass over it, each on its own share of the batch's envs (`step` and `finish`
    take the step's `step_index`, an int32 scalar from 0, minibatch `k` of pass `e` being step
    `e * num_minibatches + k`): each recomputes the loss with the params the last one left; the observation
    statistics take each minibatch in once (in the first pass) and `update_step` counts batches, not optimizer
    steps.
    """

    loss_fn: LossFn
    optimizer: Callable[[LearningRate], optax.GradientTransformation]
    axis_name: str
    num_chunks: int
    chunks_per_call: int
    num_minibatches: int  # optimizer steps per pass over a batch; the methods take one minibatch
    popart_rule: popart.PopArtRule | None

    def __post_init__(self):
        # Traced once and called for each piece: the program holds chunks_per_call calls of one function, which
        # XLA inlines (the same compiled code as chunks_per_call traced copies, traced once).
        object.__setattr__(self, "_piece_sums", jax.jit(self.sums_of))

    def sums_of(self, params: Params, traj: Trajectory, value_stats) -> Sums:
        """The `Sums` of `traj` `[T+1, B, ...]` (one piece, or the whole shard)."""
        # Differentiate this device's copy of the params: gradients of the replicated params
        # themselves would already be summed over the axis by shard_map's transpose rule.
        local_params = jax.lax.pcast(params, self.axis_name, to="varying")
        grads, aux = jax.grad(self.loss_fn, has_aux=True)(local_params, traj, value_stats)
        return Sums(grads, aux.metrics, aux.target_sums, _observation_sums(params, traj))

    def zero_sums(self, params: Params, traj: Trajectory, value_stats) -> Sums:
        """Zeros shaped like one piece's `Sums`."""
        shapes = jax.eval_shape(self._piece_sums, params, env_chunk(traj, 0, self.num_chunks), value_stats)
        return jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)

    def add_pieces(self, sums: Sums, params: Params, traj: Trajectory, value_stats, call: jax.Array) -> Sums:
        """`sums` plus the `Sums` of the pieces of call `call` (int32 `[]`) of `traj` `[T+1, B, ...]`."""
        for offset in range(self.chunks_per_call):  # unrolled: chunks_per_call calls, which XLA inlines
            index = call * self.chunks_per_call + offset
            piece = self._piece_sums(params, env_chunk(traj, index, self.num_chunks), value_stats)
            sums = jax.tree.map(jnp.add, sums, piece)
        return sums

    def finish(
        self,
        state: LearnerState,
        sums: Sums,
        rewards: jax.Array,
        tasks: jax.Array,
        rate: LearningRate,
        step_index: jax.Array,
    ) -> tuple[LearnerState, Metrics]:
        """The optimizer step from one device's `sums` (added over the devices here), the shard's `rewards` and
        `tasks` `[T+1, B]` (for PopArt's statistics); `step_index` int32 `[]`."""
        sums = jax.lax.psum(sums, self.axis_name)
        updates, opt_state = self.optimizer(rate).update(sums.grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {**sums.metrics, "grad_norm": optax.tree.norm(sums.grads)}
        if sums.obs_sums is not None:
            params = _observation_step(params, sums.obs_sums, take=step_index < self.num_minibatches)
        value_stats = state.value_stats
        if self.popart_rule is not None:
            params, value_stats = _popart_step(
                params, sums.target_sums, value_stats, rewards, tasks, self.axis_name, self.popart_rule
            )
            metrics.update(value_mean=value_stats.mean, value_std=popart.std(value_stats))
        update_step = state.update_step + (step_index == 0).astype(jnp.int32)
        return LearnerState(params, opt_state, update_step, value_stats), metrics

    def step(
        self, state: LearnerState, traj: Trajectory, rate: LearningRate, step_index: jax.Array
    ) -> tuple[LearnerState, Metrics]:
        """One optimizer step on the device's shard `traj` `[T+1, B, ...]` at once."""
        sums = self.sums_of(state.params, traj, state.value_stats)
        return self.finish(state, sums, traj.reward, traj.task, rate, step_index)


def _observation_sums(params, traj: Trajectory) -> obs_norm.ObsSums | None:
    """With observation statistics in `params` (`obs_norm.COLLECTION`), their sums over the observations of
    `traj` `[T+1, B, ...]` (each once: entry 0 repeats the previous rollout's last); else None."""
    if obs_norm.COLLECTION not in params:
        return None
    observations = traj.obs[1:].reshape(-1, math.prod(traj.obs.shape[2:]))
    return obs_norm.batch_sums(params[obs_norm.COLLECTION], observations)


def _observation_step(params, sums: obs_norm.ObsSums, take: jax.Array):
    """`params` whose observation statistics took in the batch's `sums` (added over every device) where `take`
    (a bool scalar), else as they were; the optimizer left them alone (no gradient)."""
    stats = params[obs_norm.COLLECTION]
    merged = obs_norm.merge(stats, sums)
    return {
        **params,
        obs_norm.COLLECTION: jax.tree.map(lambda new, old: jnp.where(take, new, old), merged, stats),
    }


def _popart_step(
    params,
    targets: popart.TargetSums,
    stats: popart.PopArtStats,
    rewards: jax.Array,
    tasks: jax.Array,
    axis_name: str,
    rule: popart.PopArtRule,
):
    """`(params, stats)` after an optimizer step with PopArt: the statistics widened to the batch's rewards
    `[T+1, B]` (every device's), each task's (`tasks` `[T+1, B]`) by its own, and moved towards its targets
    (their sums, added over every device) no lower than the floor those rewards set; the value head rescaled
    to keep its unnormalised outputs."""
    # the rewards the targets were built from
    lowest, highest = popart.task_reward_range(rewards[1:], tasks[1:], popart.num_tasks(stats))
    widened = popart.widen_reward_range(
        stats, jax.lax.pmin(lowest, axis_name), jax.lax.pmax(highest, axis_name)
    )
    new_stats = popart.update_stats(
        widened, *targets, rule.step_size, min_variance=popart.variance_floor(widened, rule)
    )
    return rescale_value_head(params, stats, new_stats), new_stats
