"""The IMPALA loss: V-trace policy gradient, baseline regression and an entropy bonus."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from hsuanwu_jax.agent.networks import NetworkOutput
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core import popart, vtrace
from hsuanwu_jax.core.types import CoreState, Params, Trajectory

ApplyFn = Callable[..., tuple[NetworkOutput, CoreState]]


class LossAux(NamedTuple):
    """What the loss gives besides its value, summed over the T transitions and B envs of its trajectory."""

    metrics: dict[str, jax.Array]  # the logged sums: "loss", "pg_loss", "baseline_loss", "entropy", ...
    target_sums: popart.TargetSums | None  # with PopArt: the normalised targets' sums, for the statistics


LossFn = Callable[..., tuple[jax.Array, LossAux]]  # (params, trajectory, value_stats) -> (loss, aux)


class LossHyperParams(NamedTuple):
    """The IMPALA loss's hyper-parameters, fixed when the agent is built (`of(settings)`).

    discount: gamma, applied where the next observation is not terminal.
    baseline_coef, ent_coef: the loss coefficients.
    clip_rho_threshold, clip_pg_rho_threshold, vtrace_lambda: V-trace's (core/vtrace.py).
    reward_scale: multiplies the rewards the targets are built from (the network's reward input stays as the
      env gave it), e.g. 0.1 where returns are in the hundreds.
    popart: the value head outputs values normalised by the PopArt statistics (core/popart.py; `PopArtScale`).
    pg_ratio_clip: 0 for IMPALA's policy gradient; epsilon > 0 for the clipped surrogate of PPO (Schulman et al.
      2017) on V-trace's advantages, as APPO does (`clipped_policy_gradient`).
    """

    discount: float
    baseline_coef: float
    ent_coef: float
    clip_rho_threshold: float | None = 1.0
    clip_pg_rho_threshold: float | None = 1.0
    vtrace_lambda: float = 1.0
    reward_scale: float = 1.0
    popart: bool = False
    pg_ratio_clip: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> LossHyperParams:
        return cls(
            discount=settings.discount,
            baseline_coef=settings.baseline_coef,
            ent_coef=settings.ent_coef,
            clip_rho_threshold=settings.clip_rho_threshold,
            clip_pg_rho_threshold=settings.clip_pg_rho_threshold,
            vtrace_lambda=settings.vtrace_lambda,
            reward_scale=settings.reward_scale,
            popart=settings.popart,
            pg_ratio_clip=settings.pg_ratio_clip,
        )


class Targets(NamedTuple):
    """What V-trace makes of the T transitions of a trajectory, each `[T, B]`."""

    mask: jax.Array  # 1.0 for the transitions learned from (not EnvPool's reset steps)
    log_prob: jax.Array  # log pi(a_t | x_t) of the actions taken, with its gradient
    log_rhos: jax.Array  # log pi(a_t) - log mu(a_t): the importance ratios against the actors' policy
    vs: jax.Array  # the value targets, in the returns' units
    pg_advantages: jax.Array  # rho_t-weighted advantages for IMPALA's policy gradient
    advantages: jax.Array  # r_t + gamma_t * vs_{t+1} - V(x_t), unweighted (the clipped surrogate's)


def make_impala_loss(*, apply_fn: ApplyFn, distribution, hyper: LossHyperParams) -> LossFn:
    """`loss_fn(params, trajectory, value_stats=None) -> (loss, metrics)` for one shard of the batch:
    `impala_loss` with these hyper-parameters.

    apply_fn: `apply_fn(params, obs, prev_action, reward, first, core_state)` over `[T+1, B, ...]`.
    distribution: the action distribution (`log_prob`, `entropy`, `action_entropy`) over the policy head.
    """
    return functools.partial(impala_loss, apply_fn=apply_fn, distribution=distribution, hyper=hyper)


def impala_loss(
    params: Params,
    traj: Trajectory,
    value_stats: popart.PopArtStats | None = None,
    *,
    apply_fn: ApplyFn,
    distribution,
    hyper: LossHyperParams,
) -> tuple[jax.Array, LossAux]:
    """loss = pg + baseline_coef * baseline - ent_coef * entropy, each *summed* over the T transitions and B
    envs of `traj` (the seed's convention), where pg = -sum log pi(a_t|x_t) * pg_advantage_t (or the clipped
    surrogate), baseline = 0.5 * sum (vs_t - V(x_t))^2 (in PopArt's normalised units with `popart`) and
    entropy = sum H of the actions the env receives (`action_entropy`: the Gaussian's, or with squashed
    samples the squashed actions', logged as `action_entropy` beside the Gaussian's `entropy`). The aux's
    `metrics` hold those sums and the number of transitions, so a data-parallel caller can add them up over
    devices, and with PopArt its `target_sums` the targets' sums for the statistics' update."""
    outputs, _ = apply_fn(
        params, traj.obs, traj.prev_action, traj.reward, traj.first, traj.initial_core_state
    )
    policy = jax.tree.map(lambda x: x[:-1], outputs.policy)  # the bootstrap step takes no action
    head_values = task_values(outputs.value, traj.task)  # [T+1, B], in the value head's units
    scale = PopArtScale.of(value_stats, traj.task) if hyper.popart else IDENTITY_SCALE
    values = scale.bootstrap_values(head_values, hyper)
    targets = vtrace_targets(traj, policy, values, distribution, hyper)
    pg_advantages, advantages = scale.normalise_advantages(targets.pg_advantages, targets.advantages)
    if hyper.pg_ratio_clip > 0:
        pg_loss = clipped_policy_gradient(targets.mask, targets.log_rhos, advantages, hyper.pg_ratio_clip)
    else:
        pg_loss = policy_gradient(targets.mask, targets.log_prob, pg_advantages)
    baseline_loss = 0.5 * jnp.sum(targets.mask * jnp.square(scale.baseline_errors(targets.vs, head_values)))
    entropy = jnp.sum(targets.mask * distribution.entropy(policy))
    action_entropy = jnp.sum(targets.mask * distribution.action_entropy(policy))
    loss = pg_loss + hyper.baseline_coef * baseline_loss - hyper.ent_coef * action_entropy
    metrics = {
        "loss": loss,
        "pg_loss": pg_loss,
        "baseline_loss": baseline_loss,
        "entropy": entropy,
        **({"action_entropy": action_entropy} if distribution.squashes_actions else {}),
        # log mu(a) - log pi(a) summed over mu's samples: the KL from the actors' policy to the learner's
        "policy_kl": -jnp.sum(targets.mask * jax.lax.stop_gradient(targets.log_rhos)),
        "num_transitions": jnp.sum(targets.mask),
    }
    return loss, LossAux(metrics, scale.target_sums(targets, traj.task, value_stats))


def policy_gradient(mask: jax.Array, log_prob: jax.Array, pg_advantages: jax.Array) -> jax.Array:
    """IMPALA's policy-gradient loss: -sum mask * log pi(a_t) * pg_advantage_t (all `[T, B]`)."""
    return -jnp.sum(mask * log_prob * pg_advantages)


def clipped_policy_gradient(mask, log_rhos, advantages, epsilon: float) -> jax.Array:
    """PPO's clipped surrogate on V-trace's advantages: -sum min(rho_t * A_t, clip(rho_t, 1 - epsilon,
    1 + epsilon) * A_t), rho_t = pi/mu with its gradient (all `[T, B]`); once an update has moved pi(a_t) beyond
    that range in the advantage's direction, the sample stops pushing."""
    ratio = jnp.exp(log_rhos)
    clipped = jnp.clip(ratio, 1.0 - epsilon, 1.0 + epsilon)
    return -jnp.sum(mask * jnp.minimum(ratio * advantages, clipped * advantages))


class PopArtScale(NamedTuple):
    """The value head's outputs as values normalised by PopArt statistics (Hessel et al. 2019): V-trace runs on
    the unnormalised values std * n + mean, kept to the returns the rewards seen allow (`popart.value_bounds`);
    the baseline regresses n on the normalised targets (vs - mean) / std; the policy gradient's advantages are
    divided by std. Each sample's task's statistics (`[T+1, B]`, or scalars for one task)."""

    stats: popart.PopArtStats
    std: jax.Array  # popart.std(stats)

    @classmethod
    def of(cls, value_stats: popart.PopArtStats, task: jax.Array) -> PopArtScale:
        stats = popart.for_samples(value_stats, task)
        return cls(stats, popart.std(stats))

    def bootstrap_values(self, head_values: jax.Array, hyper: LossHyperParams) -> jax.Array:
        """`[T+1, B]` values in the returns' units, clipped to what the rewards allow when discounted."""
        values = self.std * head_values + self.stats.mean
        if hyper.discount < 1:
            values = jnp.clip(values, *popart.value_bounds(self.stats, hyper.reward_scale, hyper.discount))
        return values

    def normalise_advantages(self, pg_advantages: jax.Array, advantages: jax.Array):
        std = _transitions(self.std)
        return pg_advantages / std, advantages / std

    def baseline_errors(self, vs: jax.Array, head_values: jax.Array) -> jax.Array:
        return self._normalised(vs) - head_values[:-1]

    def target_sums(self, targets: Targets, task: jax.Array, value_stats) -> popart.TargetSums:
        """The normalised targets' sums per task, for `popart.update_stats`."""
        normalised = self._normalised(targets.vs)
        return popart.target_sums(normalised, targets.mask, task[:-1], popart.num_tasks(value_stats))

    def _normalised(self, vs: jax.Array) -> jax.Array:
        return (vs - _transitions(self.stats.mean)) / _transitions(self.std)


class _IdentityScale(NamedTuple):
    """Without PopArt: the value head's outputs are the values."""

    def bootstrap_values(self, head_values: jax.Array, hyper: LossHyperParams) -> jax.Array:
        return head_values

    def normalise_advantages(self, pg_advantages: jax.Array, advantages: jax.Array):
        return pg_advantages, advantages

    def baseline_errors(self, vs: jax.Array, head_values: jax.Array) -> jax.Array:
        return vs - head_values[:-1]

    def target_sums(self, targets: Targets, task: jax.Array, value_stats) -> None:
        return None


IDENTITY_SCALE = _IdentityScale()


def task_values(values: jax.Array, task: jax.Array) -> jax.Array:
    """Each sample's value `[T+1, B]` from the network's `values`: `[T+1, B]` as they are (one task), or
    `[T+1, B, K]`, one per task, taken at each sample's `task` `[T+1, B]`."""
    if values.ndim == task.ndim:
        return values
    return jnp.take_along_axis(values, task[..., None], axis=-1)[..., 0]


def _transitions(x: jax.Array) -> jax.Array:
    """`x` `[T+1, B]` without its bootstrap entry, `[T, B]`; a scalar (single-task statistics) as it is."""
    return x[:-1] if jnp.ndim(x) else x


def vtrace_targets(
    traj: Trajectory, policy, values: jax.Array, distribution, hyper: LossHyperParams
) -> Targets:
    """V-trace's `Targets` for the T transitions of `traj`, with `values` `[T+1, B]` in the returns' units."""
    # A transition that starts at a `done` observation is EnvPool's reset step: the env
    # ignored the action, so it carries no learning signal. Giving it reward V(x_t) and
    # discount 0 makes its V-trace target exactly V(x_t), which is also the right bootstrap
    # for an episode truncated at x_t (a terminated one is cut by its zero discount).
    valid = jnp.logical_not(traj.done[:-1])
    mask = valid.astype(jnp.float32)
    log_prob = distribution.log_prob(policy, traj.action[:-1])
    log_rhos = jnp.where(valid, log_prob - traj.behaviour_log_prob[:-1], 0.0)
    rewards = jnp.where(valid, hyper.reward_scale * traj.reward[1:], jax.lax.stop_gradient(values[:-1]))
    not_terminal = 1.0 - traj.terminated[1:].astype(jnp.float32)
    discounts = jnp.where(valid, hyper.discount * not_terminal, 0.0)
    vs, pg_advantages = vtrace.from_importance_weights(
        log_rhos,
        discounts,
        rewards,
        values[:-1],
        values[-1],
        clip_rho_threshold=hyper.clip_rho_threshold,
        clip_pg_rho_threshold=hyper.clip_pg_rho_threshold,
        lambda_=hyper.vtrace_lambda,
    )
    advantages = vtrace.advantages(vs, discounts, rewards, values[:-1], values[-1])
    return Targets(mask, log_prob, log_rhos, vs, pg_advantages, advantages)
