"""V-trace off-policy targets (Espeholt et al. 2018, "IMPALA", Section 4.1).

Pure JAX, time-major: every `[T, B]` argument has time first. No Flax, no config, no devices:
the caller batches (the learner passes `[T, B]`; `jax.vmap` works for anything else).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def from_importance_weights(
    log_rhos: jax.Array,
    discounts: jax.Array,
    rewards: jax.Array,
    values: jax.Array,
    bootstrap_value: jax.Array,
    clip_rho_threshold: float | None = 1.0,
    clip_pg_rho_threshold: float | None = 1.0,
    lambda_: float = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """V-trace value targets and policy-gradient advantages.

    With rho_t = pi(a_t|x_t) / mu(a_t|x_t), clipped rho_t^- = min(rho_bar, rho_t) and traces
    c_t = lambda * min(1, rho_t), the targets follow the paper's Eq. (1) written recursively:

        vs_t - V(x_t) = delta_t + gamma_t * c_t * (vs_{t+1} - V(x_{t+1})),
        delta_t = rho_t^- * (r_t + gamma_t * V(x_{t+1}) - V(x_t)),

    with vs_T = V(x_T) = bootstrap_value, and the advantage of Eq. (4):

        pg_advantage_t = min(pg_rho_bar, rho_t) * (r_t + gamma_t * vs_{t+1} - V(x_t)).

    Args:
      log_rhos: `[T, B]` float, log pi(a_t|x_t) - log mu(a_t|x_t) for the action taken at t.
      discounts: `[T, B]` float, gamma_t applied to what follows step t (0 where an episode ended).
      rewards: `[T, B]` float, r_t received after acting at t.
      values: `[T, B]` float, V(x_t) from the learner's value head.
      bootstrap_value: `[B]` float, V(x_T), the state after the last step.
      clip_rho_threshold: rho_bar for the value targets; `None` means no clipping.
      clip_pg_rho_threshold: rho_bar for the advantages; `None` means no clipping.
      lambda_: mixing parameter of the traces c_t (1.0 in the paper).

    Returns:
      `(vs, pg_advantages)`, both `[T, B]`, with gradients stopped: they are targets.
    """
    chex.assert_rank([log_rhos, discounts, rewards, values, bootstrap_value], [2, 2, 2, 2, 1])
    chex.assert_equal_shape([log_rhos, discounts, rewards, values])
    chex.assert_equal_shape_suffix([values, bootstrap_value], 1)

    rhos = jnp.exp(log_rhos)
    clipped_rhos = _clip(rhos, clip_rho_threshold)
    cs = lambda_ * jnp.minimum(1.0, rhos)
    values_tp1 = jnp.concatenate([values[1:], bootstrap_value[None]], axis=0)
    deltas = clipped_rhos * (rewards + discounts * values_tp1 - values)

    def backward(acc_tp1, step):
        delta_t, discount_t, c_t = step
        acc_t = delta_t + discount_t * c_t * acc_tp1
        return acc_t, acc_t

    _, vs_minus_values = jax.lax.scan(
        backward, jnp.zeros_like(bootstrap_value), (deltas, discounts, cs), reverse=True
    )
    vs = vs_minus_values + values
    pg_advantages = _clip(rhos, clip_pg_rho_threshold) * advantages(
        vs, discounts, rewards, values, bootstrap_value
    )
    return jax.lax.stop_gradient(vs), jax.lax.stop_gradient(pg_advantages)


def advantages(
    vs: jax.Array, discounts: jax.Array, rewards: jax.Array, values: jax.Array, bootstrap_value: jax.Array
) -> jax.Array:
    """`[T, B]` r_t + gamma_t * vs_{t+1} - V(x_t) (vs_T = bootstrap_value): the advantage of Eq. (4) before its
    importance weight, for V-trace targets `vs` `[T, B]` and the arguments of `from_importance_weights`."""
    vs_tp1 = jnp.concatenate([vs[1:], bootstrap_value[None]], axis=0)
    return jax.lax.stop_gradient(rewards + discounts * vs_tp1 - values)


def _clip(rhos: jax.Array, threshold: float | None) -> jax.Array:
    return rhos if threshold is None else jnp.minimum(threshold, rhos)
