"""The learner update: gradients of the IMPALA loss summed over the batch axis, then the optimizer."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from hsuanwu_jax import popart
from hsuanwu_jax.losses import LossFn
from hsuanwu_jax.networks import VALUE_HEAD
from hsuanwu_jax.types import LearnerState, Trajectory, env_slice, map_envs

LearnerStep = Callable[[LearnerState, Trajectory], tuple[LearnerState, dict[str, jax.Array]]]


def split_envs(traj: Trajectory, num_chunks: int) -> list[Trajectory]:
    """`traj` `[T+1, B, ...]` cut along B into `num_chunks` equal trajectories `[T+1, B / num_chunks, ...]`."""
    size, remainder = divmod(traj.obs.shape[1], num_chunks)
    if remainder:
        raise ValueError(f"a batch of {traj.obs.shape[1]} envs cannot be cut into {num_chunks} equal chunks")
    chunks = [slice(index * size, (index + 1) * size) for index in range(num_chunks)]
    return [map_envs(lambda axis, x, envs=envs: x[env_slice(axis, envs)], traj) for envs in chunks]


def rescale_value_head(params, old: popart.PopArtStats, new: popart.PopArtStats):
    """`params` with the value head's last layer rescaled to keep its unnormalised outputs (popart.py)."""
    head = params["params"][VALUE_HEAD]
    kernel, bias = popart.preserve_outputs(head["kernel"], head["bias"], old, new)
    return {**params, "params": {**params["params"], VALUE_HEAD: {**head, "kernel": kernel, "bias": bias}}}


def make_learner_step(
    *,
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    axis_name: str,
    num_chunks: int = 1,
    popart_step_size: float | None = None,
) -> LearnerStep:
    """Returns `learner_step(state, trajectory) -> (state, metrics)` for one device's shard.

    It must run under a mapping that binds `axis_name` (see `sharding.data_parallel`). The loss is a
    sum over envs, so gradients and metrics are summed over the axis: the update is the same
    whether the batch sits on one device or is split across many. For the same reason the shard can
    be processed in `num_chunks` sequential pieces along B whose gradients are added: the same
    update, with smaller activations (faster per sample for conv nets on CPUs, less memory).

    With `popart_step_size` (a loss made with `use_popart`), after the optimizer step the value
    statistics move towards the batch's targets (summed over every device, so identical on all) and the
    value head is rescaled to keep its unnormalised outputs.
    """

    def gradients(params, traj: Trajectory, value_stats):
        total = None
        # A Python loop, unrolled by jit: XLA:CPU ran a conv net's backward pass many times slower
        # inside lax.scan than unrolled.
        for chunk in split_envs(traj, num_chunks):
            grads_and_metrics = jax.grad(loss_fn, has_aux=True)(params, chunk, value_stats)
            total = grads_and_metrics if total is None else jax.tree.map(jnp.add, total, grads_and_metrics)
        return total

    def learner_step(state: LearnerState, traj: Trajectory):
        # Differentiate this device's copy of the params: gradients of the replicated params
        # themselves would already be summed over the axis by shard_map's transpose rule.
        local_params = jax.lax.pcast(state.params, axis_name, to="varying")
        grads, metrics = gradients(local_params, traj, state.value_stats)
        grads = jax.lax.psum(grads, axis_name)
        metrics = jax.lax.psum(metrics, axis_name)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics["grad_norm"] = optax.tree.norm(grads)
        value_stats = state.value_stats
        if popart_step_size is not None:
            sums = metrics.pop("target_sum"), metrics.pop("target_square_sum"), metrics["num_transitions"]
            value_stats = popart.update_stats(value_stats, *sums, popart_step_size)
            params = rescale_value_head(params, state.value_stats, value_stats)
            metrics["value_mean"], metrics["value_std"] = value_stats.mean, popart.std(value_stats)
        return LearnerState(params, opt_state, state.update_step + 1, value_stats), metrics

    return learner_step
