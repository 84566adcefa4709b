"""V-trace against a float64 NumPy loop of the paper's recursion and against rlax, plus properties."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rlax
from helpers import reference_vtrace

from hsuanwu_jax import vtrace

# Max relative error of float32 V-trace against the float64 loop: the recursion accumulates up to T = 80
# steps, each adding a few float32 roundings (1.2e-7 relative) of O(1) terms that shrink by gamma * c <= 1:
# about 80 epsilons, 1e-5, at worst (see max_relative_error for results that cancel to near 0).
TOLERANCE = 1e-5


def random_inputs(seed, num_steps, batch):
    """float32 inputs: log-rhos in [-5, 5], discounts 0.99 with zeros at random episode ends."""
    rng = np.random.default_rng(seed)
    log_rhos = rng.uniform(-5, 5, (num_steps, batch)).astype(np.float32)
    discounts = np.where(rng.random((num_steps, batch)) < 0.1, 0.0, 0.99).astype(np.float32)
    if num_steps > 1:
        discounts[num_steps // 2, 0] = 0.0  # at least one episode end inside the trace
    rewards = rng.normal(0, 1, (num_steps, batch)).astype(np.float32)
    values = rng.normal(0, 3, (num_steps, batch)).astype(np.float32)
    bootstrap = rng.normal(0, 3, (batch,)).astype(np.float32)
    return log_rhos, discounts, rewards, values, bootstrap


def max_relative_error(actual, expected, scale=1.0):
    """max |actual - expected| / max(|expected|, scale): relative for results of magnitude >= scale,
    absolute (in units of scale) below, where a relative measure means nothing for a float32 result
    that is a near-cancelling sum of O(scale) terms."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), scale)))


def pg_scale(log_rhos, pg_rho_bar):
    """The advantage is rho_pg * (r + gamma * vs' - V), a difference of O(1) float32 values times
    the importance weight: its float32 rounding error grows with rho_pg (up to e^5 unclipped), so
    it is measured against max(|expected|, rho_pg)."""
    rhos = np.exp(np.asarray(log_rhos, np.float64))
    return rhos if pg_rho_bar is None else np.minimum(pg_rho_bar, rhos)


THRESHOLDS = [(1.0, 1.0), (None, None), (0.5, 2.0), (3.0, None)]


@pytest.mark.parametrize("num_steps", [1, 5, 80])
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("rho_bar,pg_rho_bar", THRESHOLDS)
@pytest.mark.parametrize("lambda_", [1.0, 0.9])
@pytest.mark.parametrize("jit", [False, True])
def test_matches_float64_numpy_loop(num_steps, batch, rho_bar, pg_rho_bar, lambda_, jit):
    inputs = random_inputs(num_steps * 100 + batch, num_steps, batch)
    fn = vtrace.from_importance_weights
    if jit:
        fn = jax.jit(fn, static_argnames=("clip_rho_threshold", "clip_pg_rho_threshold", "lambda_"))
    vs, pg = fn(*inputs, clip_rho_threshold=rho_bar, clip_pg_rho_threshold=pg_rho_bar, lambda_=lambda_)
    assert vs.dtype == jnp.float32 and vs.shape == (num_steps, batch) and pg.shape == (num_steps, batch)
    ref_vs, ref_pg = reference_vtrace(*inputs, rho_bar, pg_rho_bar, lambda_)
    assert max_relative_error(vs, ref_vs) <= TOLERANCE
    assert max_relative_error(pg, ref_pg, pg_scale(inputs[0], pg_rho_bar)) <= TOLERANCE


@pytest.mark.parametrize("num_steps", [1, 5, 80])
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("rho_bar,pg_rho_bar", THRESHOLDS)
def test_matches_rlax(num_steps, batch, rho_bar, pg_rho_bar):
    log_rhos, discounts, rewards, values, bootstrap = random_inputs(num_steps + batch, num_steps, batch)
    vs, pg = vtrace.from_importance_weights(
        log_rhos,
        discounts,
        rewards,
        values,
        bootstrap,
        clip_rho_threshold=rho_bar,
        clip_pg_rho_threshold=pg_rho_bar,
    )
    # rlax takes one trajectory, batch-minor inputs, v_t = V(x_{t+1}), and inf for "no clipping".
    inf = float("inf")

    def one_env(v_tm1, r_t, discount_t, log_rho_tm1, bootstrap_value):
        v_t = jnp.concatenate([v_tm1[1:], bootstrap_value[None]])
        return rlax.vtrace_td_error_and_advantage(
            v_tm1,
            v_t,
            r_t,
            discount_t,
            jnp.exp(log_rho_tm1),
            clip_rho_threshold=inf if rho_bar is None else rho_bar,
            clip_pg_rho_threshold=inf if pg_rho_bar is None else pg_rho_bar,
        )

    out = jax.vmap(one_env, in_axes=(1, 1, 1, 1, 0), out_axes=1)(
        values, rewards, discounts, log_rhos, bootstrap
    )
    assert max_relative_error(vs, out.errors + values) <= TOLERANCE
    assert max_relative_error(pg, out.pg_advantage, pg_scale(log_rhos, pg_rho_bar)) <= TOLERANCE


def test_small_case_by_hand():
    # T = 2, one env, on-policy (rho = 1): vs are the 2-step and 1-step bootstrapped returns.
    log_rhos = jnp.zeros((2, 1))
    discounts = jnp.full((2, 1), 0.5)
    rewards = jnp.array([[1.0], [2.0]])
    values = jnp.array([[10.0], [20.0]])
    bootstrap = jnp.array([4.0])
    vs, pg = vtrace.from_importance_weights(log_rhos, discounts, rewards, values, bootstrap)
    # vs_1 = r_1 + g * V(x_2) = 2 + 0.5 * 4 = 4; vs_0 = r_0 + g * vs_1 = 1 + 0.5 * 4 = 3.
    np.testing.assert_allclose(vs[:, 0], [3.0, 4.0])
    # pg_t = r_t + g * vs_{t+1} - V(x_t): 1 + 2 - 10 = -7; 2 + 2 - 20 = -16.
    np.testing.assert_allclose(pg[:, 0], [-7.0, -16.0])
    # A rho of e^2 is clipped to 1 for both outputs by default and left alone without clipping.
    vs_clipped, _ = vtrace.from_importance_weights(log_rhos + 2.0, discounts, rewards, values, bootstrap)
    np.testing.assert_allclose(vs_clipped, vs)
    vs_free, _ = vtrace.from_importance_weights(
        log_rhos + 2.0, discounts, rewards, values, bootstrap, clip_rho_threshold=None
    )
    assert not np.allclose(vs_free, vs)


def test_on_policy_equals_n_step_returns():
    """With rho = lambda = 1, vs_t is the discounted return up to the end of the trace plus bootstrap."""
    _, discounts, rewards, values, bootstrap = random_inputs(3, 30, 4)
    vs, _ = vtrace.from_importance_weights(np.zeros_like(rewards), discounts, rewards, values, bootstrap)
    expected = np.zeros_like(rewards, dtype=np.float64)
    running = bootstrap.astype(np.float64)
    for t in reversed(range(30)):
        running = rewards[t] + discounts[t] * running
        expected[t] = running
    assert max_relative_error(vs, expected) <= TOLERANCE


def test_splitting_at_an_episode_end_changes_nothing():
    log_rhos, discounts, rewards, values, bootstrap = random_inputs(4, 20, 3)
    discounts[9] = 0.0  # every env's episode ends after step 9
    vs, pg = vtrace.from_importance_weights(log_rhos, discounts, rewards, values, bootstrap)
    head = vtrace.from_importance_weights(
        log_rhos[:10],
        discounts[:10],
        rewards[:10],
        values[:10],
        values[10],  # bootstrap unused: discount 0
    )
    tail = vtrace.from_importance_weights(log_rhos[10:], discounts[10:], rewards[10:], values[10:], bootstrap)
    # The same float32 operations on the same values (discount 0 cuts the recursion exactly), possibly
    # fused differently by XLA for other lengths: a few epsilons (1.2e-7) at most.
    np.testing.assert_allclose(np.concatenate([head[0], tail[0]]), vs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([head[1], tail[1]]), pg, rtol=1e-6, atol=1e-6)


def test_vmap_over_an_extra_axis_and_stopped_gradients():
    inputs = random_inputs(5, 6, 3)
    stacked = [np.stack([x, 2 * x]) for x in inputs]
    vs, _ = jax.vmap(vtrace.from_importance_weights)(*stacked)
    # The same float32 operations, batched by vmap: a few epsilons (1.2e-7) at most.
    np.testing.assert_allclose(vs[0], vtrace.from_importance_weights(*inputs)[0], rtol=1e-6)
    log_rhos, discounts, rewards, values, bootstrap = inputs

    def total(values, log_rhos):
        vs, pg = vtrace.from_importance_weights(log_rhos, discounts, rewards, values, bootstrap)
        return jnp.sum(vs) + jnp.sum(pg)

    grads = jax.grad(total, argnums=(0, 1))(values, log_rhos)
    assert all(np.all(np.asarray(g) == 0.0) for g in grads)


def test_rejects_mismatched_shapes():
    log_rhos, discounts, rewards, values, bootstrap = random_inputs(6, 5, 2)
    with pytest.raises(AssertionError):
        vtrace.from_importance_weights(log_rhos, discounts[:4], rewards, values, bootstrap)
    with pytest.raises(AssertionError):
        vtrace.from_importance_weights(log_rhos, discounts, rewards, values, bootstrap[None])
