"""The IMPALA loss: value and gradient checked by hand, by finite differences, and against a NumPy loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import A, B, T, random_trajectory, reference_vtrace

from hsuanwu_jax.agent.losses import LossHyperParams, make_impala_loss
from hsuanwu_jax.agent.networks import ImpalaNetwork, NetworkOutput
from hsuanwu_jax.core.distributions import Categorical, DiagGaussian, action_distribution

DISCOUNT, BASELINE_COEF, ENT_COEF = 0.9, 0.5, 0.01


def table_apply(params, obs, prev_action, reward, first, core_state):
    """A 'network' whose outputs are its parameters: logits `[T+1, B, A]` and values `[T+1, B]`."""
    return NetworkOutput(params["logits"], params["values"]), core_state


def make_loss(apply_fn=table_apply):
    return make_impala_loss(
        apply_fn=apply_fn,
        distribution=Categorical,
        hyper=LossHyperParams(discount=DISCOUNT, baseline_coef=BASELINE_COEF, ent_coef=ENT_COEF),
    )


def random_table_params(seed):
    rng = np.random.default_rng(seed)
    return {
        "logits": jnp.asarray(rng.normal(size=(T + 1, B, A)), jnp.float32),
        "values": jnp.asarray(rng.normal(size=(T + 1, B)), jnp.float32),
    }


def numpy_loss_and_grads(params, traj):
    """The loss written out in float64 NumPy, with its gradient derived by hand and the actors' policy's KL to
    the learner's, sum (log mu(a_t) - log pi(a_t)) over the valid steps:
    d loss / d V_t = -baseline_coef * (vs_t - V_t) (vs is a target: no gradient through it),
    d loss / d logits_t = -adv_t * (onehot(a_t) - pi_t) - ent_coef * dH/dlogits_t."""
    logits = np.asarray(params["logits"], np.float64)
    values = np.asarray(params["values"], np.float64)
    log_pi = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    pi = np.exp(log_pi)
    valid = ~traj.done[:-1]
    taken = np.take_along_axis(log_pi[:-1], traj.action[:-1, :, None], -1)[..., 0]
    log_rhos = np.where(valid, taken - traj.behaviour_log_prob[:-1], 0.0)
    rewards = np.where(valid, traj.reward[1:], values[:-1])
    discounts = np.where(valid, DISCOUNT * (1.0 - traj.terminated[1:]), 0.0)
    vs, adv = reference_vtrace(log_rhos, discounts, rewards, values[:-1], values[-1], 1.0, 1.0, 1.0)
    entropy = -np.sum(pi * log_pi, -1)[:-1]
    loss = (
        -np.sum(valid * taken * adv)
        + BASELINE_COEF * 0.5 * np.sum(valid * (vs - values[:-1]) ** 2)
        - ENT_COEF * np.sum(valid * entropy)
    )
    grad_values = np.zeros_like(values)
    grad_values[:-1] = -BASELINE_COEF * valid * (vs - values[:-1])
    onehot = np.eye(A)[traj.action[:-1]]
    d_entropy = -pi[:-1] * (log_pi[:-1] + entropy[..., None])  # dH / dlogits
    grad_logits = np.zeros_like(logits)
    grad_logits[:-1] = valid[..., None] * (-adv[..., None] * (onehot - pi[:-1]) - ENT_COEF * d_entropy)
    return loss, {"logits": grad_logits, "values": grad_values}, -np.sum(log_rhos)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_gradient_match_hand_derivation(seed):
    params, traj = random_table_params(seed), random_trajectory(seed)
    (loss, aux), grads = jax.value_and_grad(make_loss(), has_aux=True)(params, traj)
    metrics = aux.metrics
    expected_loss, expected_grads, expected_kl = numpy_loss_and_grads(params, traj)
    # float32 against float64: the loss sums T * B = 18 terms of V-trace targets that are themselves sums
    # over T steps; the worst case is about (18 + 6) float32 epsilons (1.2e-7) relative: rtol 1e-5. A
    # gradient entry near zero is a cancelling sum of O(1) terms: its error is absolute, atol 1e-6.
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    np.testing.assert_allclose(grads["values"], expected_grads["values"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads["logits"], expected_grads["logits"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(metrics["policy_kl"], expected_kl, rtol=1e-5, atol=1e-6)
    assert metrics["num_transitions"] == T * B - 2  # the two reset steps are masked


def test_policy_gradient_does_not_flow_through_vtrace_targets():
    """With only the pg term, values get no gradient, though the advantages depend on them."""
    params, traj = random_table_params(3), random_trajectory(3)
    pg_only = make_impala_loss(
        apply_fn=table_apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=DISCOUNT, baseline_coef=0.0, ent_coef=0.0),
    )
    grads = jax.grad(lambda p: pg_only(p, traj)[0])(params)
    assert np.all(np.asarray(grads["values"]) == 0.0)
    assert np.any(np.asarray(grads["logits"]) != 0.0)
    # ...and the loss does change with the values (through the advantages), so the zero is a stop.
    shifted = {**params, "values": params["values"] + 1.0}
    assert pg_only(shifted, traj)[0] != pg_only(params, traj)[0]


def test_masked_reset_steps_carry_no_gradient():
    params, traj = random_table_params(4), random_trajectory(4)
    grads = jax.grad(lambda p: make_loss()(p, traj)[0])(params)
    # Entry 2 of env 0 and entry 4 of env 1 are `done`: the env ignored the actions taken there.
    assert np.all(np.asarray(grads["logits"][2, 0]) == 0.0)
    assert np.all(np.asarray(grads["logits"][4, 1]) == 0.0)
    assert float(grads["values"][2, 0]) == 0.0 and float(grads["values"][4, 1]) == 0.0


def test_network_loss_gradient_matches_finite_differences():
    """Through a real (tiny) network, in float64: the loss's gradient along random directions equals
    the hand-derived gradient with respect to the network outputs (targets held fixed, as V-trace
    defines them) times central differences of those outputs."""
    with jax.enable_x64(True):
        network = ImpalaNetwork(action_size=A, encoder="mlp", mlp_hidden_sizes=(5,))
        traj = random_trajectory(5)
        traj = traj._replace(
            obs=traj.obs.astype(np.float64),
            reward=traj.reward.astype(np.float64),
            behaviour_log_prob=traj.behaviour_log_prob.astype(np.float64),
        )
        params = network.init(jax.random.PRNGKey(0), traj.obs, traj.prev_action, traj.reward, traj.first, ())
        params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
        flat, unravel = jax.flatten_util.ravel_pytree(params)

        def outputs(f):
            out, _ = network.apply(unravel(f), traj.obs, traj.prev_action, traj.reward, traj.first, ())
            return {"logits": out.policy, "values": out.value}

        analytic = jax.grad(lambda f: make_loss(network.apply)(unravel(f), traj)[0])(flat)
        _, grad_outputs, _ = numpy_loss_and_grads(outputs(flat), traj)
        rng = np.random.default_rng(0)
        for _ in range(5):
            direction = rng.normal(size=flat.shape)
            h = 1e-6
            plus, minus = outputs(flat + h * direction), outputs(flat - h * direction)
            numeric = sum(np.sum(grad_outputs[k] * (plus[k] - minus[k]) / (2 * h)) for k in plus)
            # float64 central differences with h = 1e-6: truncation error h^2 * f''' ~ 1e-12 and rounding
            # error eps64 * |f| / h ~ 2e-10 * |f|, both far below 1e-6 of the directional derivative.
            np.testing.assert_allclose(analytic @ direction, numeric, rtol=1e-6)


def test_reward_scale_equals_scaled_rewards():
    """reward_scale c on a trajectory gives the loss and gradient of rewards c * r (the table network
    ignores its reward input), and differs from c = 1: masked reset steps still target V(x_t)."""
    params, traj = random_table_params(3), random_trajectory(3)
    scaled = make_impala_loss(
        apply_fn=table_apply,
        distribution=Categorical,
        hyper=LossHyperParams(
            discount=DISCOUNT, baseline_coef=BASELINE_COEF, ent_coef=ENT_COEF, reward_scale=0.1
        ),
    )
    (loss, _), grads = jax.value_and_grad(scaled, has_aux=True)(params, traj)
    expected_traj = traj._replace(reward=traj.reward * np.float32(0.1))
    (expected_loss, _), expected_grads = jax.value_and_grad(make_loss(), has_aux=True)(params, expected_traj)
    # Both float32: the 0.1 applied inside the loss vs to the rewards beforehand. The products round
    # differently (one epsilon, 1.2e-7, per reward) and the errors pass through the V-trace sums
    # linearly: the loss within 1e-6; gradients, differences of those targets, within rtol 1e-5, atol 1e-7.
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), grads, expected_grads)
    assert not np.isclose(float(loss), float(make_loss()(params, traj)[0]))


def clipped_ratio_loss(epsilon):
    return make_impala_loss(
        apply_fn=table_apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=DISCOUNT, baseline_coef=0.0, ent_coef=0.0, pg_ratio_clip=epsilon),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clipped_ratio_matches_a_float64_reference(seed):
    # pg = -sum min(rho A, clip(rho, 1 - eps, 1 + eps) A) with rho = pi/mu and A = r + gamma vs' - V, its
    # gradient in the logits -A rho (onehot - pi) where the unclipped term is the smaller, else 0. Logits
    # scaled by 2 so that many ratios fall outside [0.8, 1.2] on both sides.
    params, traj = random_table_params(seed), random_trajectory(seed)
    params = {**params, "logits": 2.0 * params["logits"]}
    (loss, _), grads = jax.value_and_grad(clipped_ratio_loss(0.2), has_aux=True)(params, traj)
    logits = np.asarray(params["logits"], np.float64)
    values = np.asarray(params["values"], np.float64)
    log_pi = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    valid = ~traj.done[:-1]
    taken = np.take_along_axis(log_pi[:-1], traj.action[:-1, :, None], -1)[..., 0]
    rho = np.exp(np.where(valid, taken - traj.behaviour_log_prob[:-1], 0.0))
    rewards = np.where(valid, traj.reward[1:], values[:-1])
    discounts = np.where(valid, DISCOUNT * (1.0 - traj.terminated[1:]), 0.0)
    vs, _ = reference_vtrace(np.log(rho), discounts, rewards, values[:-1], values[-1], 1.0, 1.0, 1.0)
    advantage = rewards + discounts * np.concatenate([vs[1:], values[-1:]]) - values[:-1]
    unclipped, clipped = rho * advantage, np.clip(rho, 0.8, 1.2) * advantage
    assert (valid & (unclipped > clipped)).any() and (valid & (unclipped < clipped)).any()
    np.testing.assert_allclose(loss, -np.sum(valid * np.minimum(unclipped, clipped)), rtol=1e-5)
    active = valid & (unclipped <= clipped)
    onehot = np.eye(A)[traj.action[:-1]]
    expected = np.zeros_like(logits)
    expected[:-1] = (active * -advantage * rho)[..., None] * (onehot - np.exp(log_pi[:-1]))
    np.testing.assert_allclose(grads["logits"], expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(grads["values"]) == 0.0)  # the advantages are targets


def test_clipped_ratio_on_policy_gives_impalas_gradient():
    # With the learner's policy equal to the actors' (every rho 1), the clip is inactive and the gradient
    # is IMPALA's, -A grad log pi(a): the clip only acts once an update has moved the policy.
    params, traj = random_table_params(5), random_trajectory(5)
    logits = np.asarray(params["logits"], np.float64)
    log_pi = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    taken = np.take_along_axis(log_pi, traj.action[:, :, None], -1)[..., 0]
    traj = traj._replace(behaviour_log_prob=taken.astype(np.float32))
    impala = make_impala_loss(
        apply_fn=table_apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=DISCOUNT, baseline_coef=0.0, ent_coef=0.0),
    )
    clipped_grads = jax.grad(lambda p: clipped_ratio_loss(0.2)(p, traj)[0])(params)
    impala_grads = jax.grad(lambda p: impala(p, traj)[0])(params)
    assert np.abs(np.asarray(impala_grads["logits"])).max() > 0.01
    np.testing.assert_allclose(clipped_grads["logits"], impala_grads["logits"], rtol=1e-4, atol=1e-6)


def test_with_squashed_samples_the_bonus_takes_the_env_actions_entropy_and_both_are_logged():
    """Same Gaussian, same samples: with squashed samples the loss differs from the plain Gaussian's by
    ent_coef x (Gaussian entropy - squashed actions' entropy) over the valid steps, `entropy` stays the
    Gaussian's and `action_entropy` is logged beside it."""
    rng = np.random.default_rng(5)
    traj = random_trajectory(5)._replace(action=rng.normal(size=(T + 1, B, 2)).astype(np.float32))
    policy = (rng.normal(size=(T + 1, B, 2)), rng.normal(scale=0.8, size=(T + 1, B, 2)))
    params = {"mean": jnp.asarray(policy[0], jnp.float32), "log_std": jnp.asarray(policy[1], jnp.float32)}
    params["values"] = jnp.asarray(rng.normal(size=(T + 1, B)), jnp.float32)

    def gaussian_apply(params, obs, prev_action, reward, first, core_state):
        return NetworkOutput((params["mean"], params["log_std"]), params["values"]), core_state

    def loss_with(distribution):
        loss_fn = make_impala_loss(
            apply_fn=gaussian_apply,
            distribution=distribution,
            hyper=LossHyperParams(discount=DISCOUNT, baseline_coef=BASELINE_COEF, ent_coef=ENT_COEF),
        )
        loss, aux = loss_fn(params, traj)
        return loss, aux.metrics

    plain_loss, plain = loss_with(DiagGaussian)
    squashed = action_distribution("diag_gaussian", "sample", [-1.0, -2.0], [1.0, 2.0])
    squashed_loss, metrics = loss_with(squashed)
    valid = ~traj.done[:-1]
    mean, log_std = params["mean"][:-1], params["log_std"][:-1]
    expected = float(np.sum(valid * np.asarray(squashed.action_entropy((mean, log_std)))))
    assert "action_entropy" not in plain and float(metrics["entropy"]) == float(plain["entropy"])
    np.testing.assert_allclose(float(metrics["action_entropy"]), expected, rtol=1e-5)
    assert (
        float(metrics["action_entropy"]) < float(metrics["entropy"]) - 1.0
    )  # bounded: far from the Gaussian's
    np.testing.assert_allclose(
        float(squashed_loss - plain_loss),
        -ENT_COEF * (float(metrics["action_entropy"]) - float(plain["entropy"])),
        rtol=1e-4,
    )
