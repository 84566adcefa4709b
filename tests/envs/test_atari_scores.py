"""Human-normalised Atari scores and their aggregates, against the published table and a loop written here."""

import sys

import numpy as np
import pytest
from helpers import ROOT

from hsuanwu_jax.envs.atari_scores import (
    REFERENCE_SCORES,
    aggregate_human_normalised,
    human_normalised,
    interquartile_mean,
)

GAMES = ("Pong-v5", "Breakout-v5")


def test_scores_are_normalised_by_random_and_human_play():
    # Pong: random -20.7, human 14.6 (Mnih et al. 2015's table as DQN Zoo lists it)
    assert human_normalised("Pong-v5", -20.7) == 0.0
    assert human_normalised("Pong-v5", 14.6) == pytest.approx(1.0)
    assert human_normalised("Pong-v5", 21.0) == pytest.approx((21.0 + 20.7) / 35.3)
    assert human_normalised("Breakout-v5", 216.0) == pytest.approx((216.0 - 1.7) / 28.8)
    assert human_normalised("CartPole-v1", 500.0) is None
    assert len(REFERENCE_SCORES) == 57 and all(human != random for random, human in REFERENCE_SCORES.values())


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 9, 57])
def test_the_interquartile_mean_drops_a_quarter_at_each_end(n):
    values = np.random.default_rng(n).normal(size=n) * 10.0
    kept = sorted(values.tolist())[n // 4 : n - n // 4]  # floor(n / 4) from each end, as rliable's IQM
    assert interquartile_mean(values) == pytest.approx(sum(kept) / len(kept), rel=1e-12)


def test_the_aggregate_is_over_every_game_or_not_at_all():
    episodes = {"Pong-v5": [14.6] * 3, "Breakout-v5": [1.7] * 2, "Boxing-v5": [12.1], "Qbert-v5": [163.9] * 4}
    result = aggregate_human_normalised(episodes)  # normalised 1, 0, 1, 0; every resample the same
    assert result["human_normalised_median"] == pytest.approx(0.5)
    assert result["human_normalised_iqm"] == pytest.approx(0.5)
    assert result["human_normalised_iqm_ci_low"] == pytest.approx(0.5)
    assert result["human_normalised_iqm_ci_high"] == pytest.approx(0.5)
    assert aggregate_human_normalised({**episodes, "CartPole-v1": [500.0]}) == {}


def test_the_confidence_intervals_match_rliables_stratified_bootstrap():
    rng = np.random.default_rng(3)
    games = ("Pong-v5", "Breakout-v5", "Boxing-v5", "Qbert-v5", "Seaquest-v5")
    episodes = {game: rng.normal(1.0, 0.6, 10) * REFERENCE_SCORES[game][1] for game in games}
    ours = aggregate_human_normalised(episodes, reps=4000)
    from rliable import library as rly
    from rliable import metrics

    # rliable's layout: [runs, tasks]; the episodes as runs (10 per game here)
    scores = np.stack([[human_normalised(g, s) for s in episodes[g]] for g in games], axis=1)
    point, interval = rly.get_interval_estimates(
        {"x": scores},
        lambda s: np.array(
            [
                metrics.aggregate_iqm(s.mean(axis=0, keepdims=True)),
                metrics.aggregate_median(s.mean(axis=0, keepdims=True)),
            ]
        ),
        reps=4000,
    )
    (iqm_low, median_low), (iqm_high, median_high) = interval["x"]
    assert ours["human_normalised_iqm"] == pytest.approx(point["x"][0], rel=1e-9)
    assert ours["human_normalised_median"] == pytest.approx(point["x"][1], rel=1e-9)
    # two bootstraps of 4,000 resamples with different random streams: their percentiles agree to a few
    # hundredths of the spread of the scores (about 0.6 here)
    for mine, theirs in (
        ("iqm_ci_low", iqm_low),
        ("iqm_ci_high", iqm_high),
        ("median_ci_low", median_low),
        ("median_ci_high", median_high),
    ):
        assert ours[f"human_normalised_{mine}"] == pytest.approx(theirs, abs=0.05), mine


def test_a_suite_of_atari_games_is_human_normalised():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import suite

    tasks = {task: {"threshold": suite.solved_threshold(task, {}), "random": {"mean": 0.0}} for task in GAMES}
    assert suite.human_normalised_suite(tasks) and tasks["Pong-v5"]["threshold"] == 14.6
    runs = [
        {"task": task, "seed": seed, "final_test_episode_reward": score}
        for seed, scores in ((1, (14.6, 1.7)), (2, (-20.7, 30.5)))
        for task, score in zip(GAMES, scores, strict=True)
    ]
    np.testing.assert_allclose(suite.normalised_scores(runs, tasks, [1, 2]), [[1.0, 0.0], [0.0, 1.0]])
    # a --threshold of its own makes it a plain suite again (random play measured here is 0)
    tasks["Pong-v5"]["threshold"] = 10.0
    assert not suite.human_normalised_suite(tasks)
    np.testing.assert_allclose(suite.normalised_scores(runs, tasks, [1, 2])[:, 0], [1.46, -2.07])
