"""The IMPALA loss: V-trace policy gradient, baseline regression and an entropy bonus."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from hsuanwu_jax.agent.networks import NetworkOutput
from hsuanwu_jax.core import popart, vtrace
from hsuanwu_jax.core.types import CoreState, Params, Trajectory

ApplyFn = Callable[..., tuple[NetworkOutput, CoreState]]
LossFn = Callable[..., tuple[jax.Array, dict[str, jax.Array]]]  # (params, trajectory, value_stats)


def make_impala_loss(
    *,
    apply_fn: ApplyFn,
    distribution,
    discount: float,
    baseline_coef: float,
    ent_coef: float,
    clip_rho_threshold: float | None = 1.0,
    clip_pg_rho_threshold: float | None = 1.0,
    lambda_: float = 1.0,
    reward_scale: float = 1.0,
    use_popart: bool = False,
    pg_ratio_clip: float = 0.0,
) -> LossFn:
    """Returns `loss_fn(params, trajectory, value_stats=None) -> (loss, metrics)` for one shard of the batch
    (`impala_loss` with these hyperparameters).

    Args:
      apply_fn: `apply_fn(params, obs, prev_action, reward, first, core_state)` over `[T+1, B, ...]`.
      distribution: the action distribution (`log_prob`, `entropy`) over the policy head.
      discount: gamma, applied where the next observation is not terminal.
      baseline_coef, ent_coef: the loss coefficients.
      clip_rho_threshold, clip_pg_rho_threshold, lambda_: passed to V-trace.
      reward_scale: multiplies the rewards the targets are built from (the network's reward input
        stays as the env gave it), e.g. 0.1 where returns are in the hundreds.
      use_popart: the value head outputs values normalised by `value_stats` (popart.py): V-trace runs
        on the unnormalised values std * n + mean, clipped to the returns the rewards seen allow
        (`popart.value_bounds`), the baseline regresses n on the normalised targets
        (vs - mean) / std, the policy gradient's advantages are divided by std (Hessel et al. 2019),
        and `metrics` add the targets' sums for the statistics' update. Off, `value_stats` is unused.
      pg_ratio_clip: 0 for IMPALA's policy gradient. epsilon > 0: the clipped surrogate of PPO (Schulman et al.
        2017) on V-trace's advantages, as APPO does: pg = -sum min(rho_t * A_t, clip(rho_t, 1 - epsilon,
        1 + epsilon) * A_t), rho_t = pi/mu with its gradient and A_t = r_t + gamma_t * vs_{t+1} - V(x_t); once
        an update has moved pi(a_t) beyond that range in the advantage's direction, the sample stops pushing.
    """
    return functools.partial(
        impala_loss,
        apply_fn=apply_fn,
        distribution=distribution,
        discount=discount,
        baseline_coef=baseline_coef,
        ent_coef=ent_coef,
        vtrace_args=dict(
            clip_rho_threshold=clip_rho_threshold,
            clip_pg_rho_threshold=clip_pg_rho_threshold,
            lambda_=lambda_,
        ),
        reward_scale=reward_scale,
        use_popart=use_popart,
        pg_ratio_clip=pg_ratio_clip,
    )


def impala_loss(
    params: Params,
    traj: Trajectory,
    value_stats=None,
    *,
    apply_fn: ApplyFn,
    distribution,
    discount: float,
    baseline_coef: float,
    ent_coef: float,
    vtrace_args: dict,
    reward_scale: float,
    use_popart: bool,
    pg_ratio_clip: float,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """loss = pg + baseline_coef * baseline - ent_coef * entropy, each *summed* over the T transitions and B
    envs of `traj` (the seed's convention), where pg = -sum log pi(a_t|x_t) * pg_advantage_t, baseline =
    0.5 * sum (vs_t - V(x_t))^2 and entropy = sum H of the actions the env receives (`action_entropy`: the
    Gaussian's, or with squashed samples the squashed actions', logged as `action_entropy` beside the
    Gaussian's `entropy`). `metrics` holds those sums and the number
    of transitions, so a data-parallel caller can add them up over devices. (See `make_impala_loss`.)"""
    outputs, _ = apply_fn(
        params, traj.obs, traj.prev_action, traj.reward, traj.first, traj.initial_core_state
    )
    policy = jax.tree.map(lambda x: x[:-1], outputs.policy)  # the bootstrap step takes no action
    values = task_values(outputs.value, traj.task)
    if use_popart:
        stats = popart.for_samples(value_stats, traj.task)  # each sample's task's, [T+1, B] (or scalars)
        value_std, value_mean = popart.std(stats), stats.mean
        normalised_values, values = values, value_std * values + value_mean
        if discount < 1:  # the values bootstrapped from, kept to the returns the rewards allow
            values = jnp.clip(values, *popart.value_bounds(stats, reward_scale, discount))
    mask, log_prob, log_rhos, vs, pg_advantages, advantages = _vtrace_targets(
        traj, policy, values, distribution, discount=discount, reward_scale=reward_scale, **vtrace_args
    )
    if use_popart:
        value_std, value_mean = _transitions(value_std), _transitions(value_mean)
        pg_advantages, advantages = pg_advantages / value_std, advantages / value_std
        baseline_errors = (vs - value_mean) / value_std - normalised_values[:-1]
    else:
        baseline_errors = vs - values[:-1]
    if pg_ratio_clip > 0:
        ratio = jnp.exp(log_rhos)
        clipped = jnp.clip(ratio, 1.0 - pg_ratio_clip, 1.0 + pg_ratio_clip)
        pg_loss = -jnp.sum(mask * jnp.minimum(ratio * advantages, clipped * advantages))
    else:
        pg_loss = -jnp.sum(mask * log_prob * pg_advantages)
    baseline_loss = 0.5 * jnp.sum(mask * jnp.square(baseline_errors))
    entropy = jnp.sum(mask * distribution.entropy(policy))
    action_entropy = jnp.sum(mask * distribution.action_entropy(policy))
    loss = pg_loss + baseline_coef * baseline_loss - ent_coef * action_entropy
    metrics = {
        "loss": loss,
        "pg_loss": pg_loss,
        "baseline_loss": baseline_loss,
        "entropy": entropy,
        **({"action_entropy": action_entropy} if distribution.squashes_actions else {}),
        # log mu(a) - log pi(a) summed over mu's samples: the KL from the actors' policy to the learner's
        "policy_kl": -jnp.sum(mask * jax.lax.stop_gradient(log_rhos)),
        "num_transitions": jnp.sum(mask),
    }
    if use_popart:  # the targets normalised by their task's statistics, for popart.update_stats (per task)
        normalised_targets = (vs - value_mean) / value_std
        num_tasks, task = popart.num_tasks(value_stats), traj.task[:-1]
        metrics["normalised_target_sum"] = popart.task_sums(mask * normalised_targets, task, num_tasks)
        metrics["normalised_target_square_sum"] = popart.task_sums(
            mask * jnp.square(normalised_targets), task, num_tasks
        )
        metrics["task_transitions"] = popart.task_sums(mask, task, num_tasks)
    return loss, metrics


def task_values(values: jax.Array, task: jax.Array) -> jax.Array:
    """Each sample's value `[T+1, B]` from the network's `values`: `[T+1, B]` as they are (one task), or
    `[T+1, B, K]`, one per task, taken at each sample's `task` `[T+1, B]`."""
    if values.ndim == task.ndim:
        return values
    return jnp.take_along_axis(values, task[..., None], axis=-1)[..., 0]


def _transitions(x: jax.Array) -> jax.Array:
    """`x` `[T+1, B]` without its bootstrap entry, `[T, B]`; a scalar (single-task statistics) as it is."""
    return x[:-1] if jnp.ndim(x) else x


def _vtrace_targets(traj: Trajectory, policy, values, distribution, *, discount, reward_scale, **vtrace_args):
    """`(mask, log_prob, log_rhos, vs, pg_advantages, advantages)`, each `[T, B]`, of the T transitions of
    `traj` with `values` `[T+1, B]`: the transitions learned from, the policy's log-probabilities of their
    actions, the log importance ratios against the actors' policy (both with their gradients), the V-trace
    targets, and its advantages with and without their importance weight."""
    # A transition that starts at a `done` observation is EnvPool's reset step: the env
    # ignored the action, so it carries no learning signal. Giving it reward V(x_t) and
    # discount 0 makes its V-trace target exactly V(x_t), which is also the right bootstrap
    # for an episode truncated at x_t (a terminated one is cut by its zero discount).
    valid = jnp.logical_not(traj.done[:-1])
    mask = valid.astype(jnp.float32)
    log_prob = distribution.log_prob(policy, traj.action[:-1])
    log_rhos = jnp.where(valid, log_prob - traj.behaviour_log_prob[:-1], 0.0)
    rewards = jnp.where(valid, reward_scale * traj.reward[1:], jax.lax.stop_gradient(values[:-1]))
    not_terminal = 1.0 - traj.terminated[1:].astype(jnp.float32)
    discounts = jnp.where(valid, discount * not_terminal, 0.0)
    vs, pg_advantages = vtrace.from_importance_weights(
        log_rhos, discounts, rewards, values[:-1], values[-1], **vtrace_args
    )
    advantages = vtrace.advantages(vs, discounts, rewards, values[:-1], values[-1])
    return mask, log_prob, log_rhos, vs, pg_advantages, advantages
