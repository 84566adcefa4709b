"""Action distributions (core/distributions.py)."""

import math

import jax
import numpy as np

from hsuanwu_jax.core.distributions import Categorical, DiagGaussian, SquashedGaussian, action_distribution


def test_diag_gaussian_matches_the_closed_forms():
    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=(5, 3)), rng.normal(scale=0.5, size=(5, 3))
    action = rng.normal(size=(5, 3))
    std = np.exp(log_std)
    expected = np.sum(-((action - mean) ** 2) / (2 * std**2) - np.log(std) - 0.5 * np.log(2 * np.pi), -1)
    entropy = np.sum(0.5 * np.log(2 * np.pi * math.e * std**2), -1)
    with jax.enable_x64(True):  # the closed forms are float64: compare in float64
        log_prob = DiagGaussian.log_prob((mean, log_std), action)
        assert log_prob.dtype == np.float64
        # A sum of 3 terms of a few float64 operations each, O(1) to O(10): a few epsilons (2.2e-16).
        np.testing.assert_allclose(log_prob, expected, rtol=1e-12)
        np.testing.assert_allclose(DiagGaussian.entropy((mean, log_std)), entropy, rtol=1e-12)
    policy32 = tuple(np.broadcast_to(x[0], (20000, 3)).astype(np.float32) for x in (mean, log_std))
    samples = DiagGaussian.sample(jax.random.PRNGKey(0), policy32)  # float32, as the actors sample
    # Sampling error, not rounding: with n = 20,000 the standard error of the mean is std / sqrt(n) and that
    # of the standard deviation std / sqrt(2n). std[0] is at most 1.5 here, so atol 0.05 is >= 4.7 standard
    # errors of the mean and rtol 0.05 is 10 of the std's (a fixed key: the draw is the same every run).
    assert std[0].max() <= 1.5
    np.testing.assert_allclose(samples.mean(0), mean[0], atol=0.05)
    np.testing.assert_allclose(samples.std(0), std[0], rtol=0.05)


def squashed_entropy_by_integration(mean, std, low, high):
    """float64 reference: -integral of p(u) log p_env(c + h tanh u) du on a fine grid in u, where the env's
    action has density p(u) / (h (1 - tanh(u)^2)); log(1 - tanh^2) = -2 log cosh, by logaddexp."""
    half_width = (high - low) / 2
    u = np.linspace(mean - 14 * std, mean + 14 * std, 400_001)
    log_p = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    log_cosh = np.logaddexp(u, -u) - np.log(2.0)
    log_p_env = log_p - np.log(half_width) + 2 * log_cosh
    return -np.trapezoid(np.exp(log_p) * log_p_env, u)


def test_the_squashed_gaussians_entropy_is_the_env_actions_entropy():
    rng = np.random.default_rng(3)
    # random means and widths, with edge cases: a narrow Gaussian, one far wider than the bounds, a mean
    # deep in tanh's flat part; bounds of other widths and centres, and a dimension without bounds.
    mean = np.concatenate([rng.normal(scale=1.5, size=6), [0.0, 0.0, 4.0, -3.0]])
    std = np.concatenate([np.minimum(np.exp(rng.normal(scale=0.7, size=6)), 3.0), [1e-3, 6.0, 0.5, 3.0]])
    low = np.array([-1.0, -2.0, 0.0, -0.4, -1.0, -3.0, -1.0, -1.0, -2.0, -np.inf])
    high = np.array([1.0, 2.0, 1.0, 0.4, 1.0, 5.0, 1.0, 1.0, 2.0, np.inf])
    squashed = np.isfinite(low)
    expected = sum(
        squashed_entropy_by_integration(m, s, lo, hi) if fin else 0.5 * np.log(2 * np.pi * math.e * s**2)
        for m, s, lo, hi, fin in zip(mean, std, low, high, squashed, strict=True)
    )
    distribution = action_distribution("diag_gaussian", "sample", low, high)
    assert isinstance(distribution, SquashedGaussian)
    with jax.enable_x64(True):
        entropy = distribution.action_entropy((mean, np.log(std)))
    # 64 Gauss-Hermite nodes against dense integration: the quadrature's error grows with the width (the
    # integrand bends within ~1 of u = 0): about 0.01 nats for the std-6 dimension, under 2e-4 for widths up to
    # 3; float32 nodes and weights.
    np.testing.assert_allclose(float(entropy), expected, atol=0.015)
    narrow = [i for i in range(10) if std[i] <= 3 and squashed[i]]
    narrow_expected = sum(squashed_entropy_by_integration(mean[i], std[i], low[i], high[i]) for i in narrow)
    with jax.enable_x64(True):
        narrow_entropy = action_distribution(
            "diag_gaussian", "sample", low[narrow], high[narrow]
        ).action_entropy((mean[narrow], np.log(std[narrow])))
    np.testing.assert_allclose(float(narrow_entropy), narrow_expected, atol=1e-3)
    # per dimension, also by Monte Carlo of -log p_env at sampled actions (1e6 samples, standard error ~2e-3)
    for m, s, lo, hi in [(0.3, 0.8, -1.0, 1.0), (-1.0, 2.5, 0.0, 4.0)]:
        u = rng.normal(m, s, 1_000_000)
        log_p = -0.5 * ((u - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
        monte_carlo = -np.mean(log_p - np.log((hi - lo) / 2) + 2 * (np.logaddexp(u, -u) - np.log(2.0)))
        one = action_distribution("diag_gaussian", "sample", [lo], [hi]).action_entropy(
            (np.array([m]), np.log([s]))
        )
        assert abs(float(one) - monte_carlo) < 0.01


def test_an_entropy_bonus_on_squashed_actions_stops_widening_past_the_bounds():
    """The Gaussian's entropy grows with its width for ever (an entropy bonus widens it without limit); the
    squashed actions' entropy peaks at a finite width and pulls the mean towards the centre."""
    distribution = action_distribution("diag_gaussian", "sample", [-1.0], [1.0])

    def entropy(mean, log_std):
        return distribution.action_entropy((jax.numpy.array([mean]), jax.numpy.array([log_std])))

    d_log_std = jax.grad(entropy, argnums=1)
    assert d_log_std(0.0, math.log(0.3)) > 0 and d_log_std(0.0, math.log(3.0)) < 0
    assert jax.grad(entropy)(2.0, 0.0) < 0 < jax.grad(entropy)(-2.0, 0.0)
    assert float(entropy(0.0, math.log(20.0))) < float(entropy(0.0, 0.0)) < math.log(2.0)  # uniform: log 2
    wide = (np.array([0.0]), np.array([math.log(20.0)]))
    assert float(DiagGaussian.entropy(wide)) > 4  # the Gaussian's
    assert float(distribution.entropy(wide)) == float(DiagGaussian.entropy(wide))  # what the alarm watches
    # Box actions without squashing, and discrete ones, keep their own distributions
    assert action_distribution("diag_gaussian", "mean", [-1.0], [1.0]) is DiagGaussian
    assert action_distribution("categorical", "sample") is Categorical
