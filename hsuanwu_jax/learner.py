"""The learner update: gradients of the IMPALA loss summed over the batch axis, then the optimizer."""

from __future__ import annotations

from collections.abc import Callable

import jax
import optax

from hsuanwu_jax.losses import LossFn
from hsuanwu_jax.types import LearnerState, Trajectory

LearnerStep = Callable[[LearnerState, Trajectory], tuple[LearnerState, dict[str, jax.Array]]]


def make_learner_step(
    *, loss_fn: LossFn, optimizer: optax.GradientTransformation, axis_name: str
) -> LearnerStep:
    """Returns `learner_step(state, trajectory) -> (state, metrics)` for one device's shard.

    It must run under a mapping that binds `axis_name` (see `sharding.data_parallel`). The loss is a
    sum over envs, so gradients and metrics are summed over the axis: the update is the same
    whether the batch sits on one device or is split across many.
    """

    def learner_step(state: LearnerState, traj: Trajectory):
        # Differentiate this device's copy of the params: gradients of the replicated params
        # themselves would already be summed over the axis by shard_map's transpose rule.
        local_params = jax.lax.pcast(state.params, axis_name, to="varying")
        grads, metrics = jax.grad(loss_fn, has_aux=True)(local_params, traj)
        grads = jax.lax.psum(grads, axis_name)
        metrics = jax.lax.psum(metrics, axis_name)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics["grad_norm"] = optax.global_norm(grads)
        return LearnerState(params, opt_state, state.update_step + 1), metrics

    return learner_step
