"""Action distributions (core/distributions.py)."""

import math

import jax
import numpy as np

from hsuanwu_jax.core.distributions import DiagGaussian


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
