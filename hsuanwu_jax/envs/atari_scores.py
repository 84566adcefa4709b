"""Atari scores normalised by random and human play: 0 is a uniformly random policy's score, 1 a professional
human tester's. The per-game table (57 games, the figures of Mnih et al. 2015 and Badia et al. 2020, "Agent57",
Table H.1; episodes begin after up to 30 no-op actions and are capped at 108,000 frames, as the Atari preset's
tests are) as DeepMind's DQN Zoo lists them (github.com/google-deepmind/dqn_zoo, dqn_zoo/atari_data.py at commit
359945d), keyed here by EnvPool task id; and the median and interquartile mean over games (Agarwal et al. 2021)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.stats

# task: (random play's score, human play's score)
REFERENCE_SCORES = {
    "Alien-v5": (227.8, 7127.7),
    "Amidar-v5": (5.8, 1719.5),
    "Assault-v5": (222.4, 742.0),
    "Asterix-v5": (210.0, 8503.3),
    "Asteroids-v5": (719.1, 47388.7),
    "Atlantis-v5": (12850.0, 29028.1),
    "BankHeist-v5": (14.2, 753.1),
    "BattleZone-v5": (2360.0, 37187.5),
    "BeamRider-v5": (363.9, 16926.5),
    "Berzerk-v5": (123.7, 2630.4),
    "Bowling-v5": (23.1, 160.7),
    "Boxing-v5": (0.1, 12.1),
    "Breakout-v5": (1.7, 30.5),
    "Centipede-v5": (2090.9, 12017.0),
    "ChopperCommand-v5": (811.0, 7387.8),
    "CrazyClimber-v5": (10780.5, 35829.4),
    "Defender-v5": (2874.5, 18688.9),
    "DemonAttack-v5": (152.1, 1971.0),
    "DoubleDunk-v5": (-18.6, -16.4),
    "Enduro-v5": (0.0, 860.5),
    "FishingDerby-v5": (-91.7, -38.7),
    "Freeway-v5": (0.0, 29.6),
    "Frostbite-v5": (65.2, 4334.7),
    "Gopher-v5": (257.6, 2412.5),
    "Gravitar-v5": (173.0, 3351.4),
    "Hero-v5": (1027.0, 30826.4),
    "IceHockey-v5": (-11.2, 0.9),
    "Jamesbond-v5": (29.0, 302.8),
    "Kangaroo-v5": (52.0, 3035.0),
    "Krull-v5": (1598.0, 2665.5),
    "KungFuMaster-v5": (258.5, 22736.3),
    "MontezumaRevenge-v5": (0.0, 4753.3),
    "MsPacman-v5": (307.3, 6951.6),
    "NameThisGame-v5": (2292.3, 8049.0),
    "Phoenix-v5": (761.4, 7242.6),
    "Pitfall-v5": (-229.4, 6463.7),
    "Pong-v5": (-20.7, 14.6),
    "PrivateEye-v5": (24.9, 69571.3),
    "Qbert-v5": (163.9, 13455.0),
    "Riverraid-v5": (1338.5, 17118.0),
    "RoadRunner-v5": (11.5, 7845.0),
    "Robotank-v5": (2.2, 11.9),
    "Seaquest-v5": (68.4, 42054.7),
    "Skiing-v5": (-17098.1, -4336.9),
    "Solaris-v5": (1236.3, 12326.7),
    "SpaceInvaders-v5": (148.0, 1668.7),
    "StarGunner-v5": (664.0, 10250.0),
    "Surround-v5": (-10.0, 6.5),
    "Tennis-v5": (-23.8, -8.3),
    "TimePilot-v5": (3568.0, 5229.2),
    "Tutankham-v5": (11.4, 167.6),
    "UpNDown-v5": (533.4, 11693.2),
    "Venture-v5": (0.0, 1187.5),
    "VideoPinball-v5": (16256.9, 17667.9),
    "WizardOfWor-v5": (563.5, 4756.5),
    "YarsRevenge-v5": (3092.9, 54576.9),
    "Zaxxon-v5": (32.5, 9173.3),
}


def human_normalised(task: str, score: float) -> float | None:
    """`(score - random) / (human - random)` for `task`'s game; None for a task without reference scores."""
    if task not in REFERENCE_SCORES:
        return None
    random, human = REFERENCE_SCORES[task]
    return (score - random) / (human - random)


def interquartile_mean(values) -> float:
    """The mean of `values` without their lowest and highest quarter (floor(n / 4) values cut from each end):
    the interquartile mean as rliable computes it (scipy's 25% trimmed mean)."""
    return float(scipy.stats.trim_mean(np.asarray(values, np.float64).ravel(), 0.25))


def aggregate_human_normalised(
    episode_scores: Mapping[str, Sequence[float]], reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """The median and IQM over tasks of each task's mean human-normalised score, from each task's episode
    scores (`task: [score, ...]`), each with a percentile confidence interval (`_ci_low`, `_ci_high`) from a
    stratified bootstrap: every task's episodes resampled with replacement `reps` times (rliable's method,
    Agarwal et al. 2021, with the test episodes as the runs). Empty when any task has no reference scores
    (an aggregate over some tasks only would mislead)."""
    if not episode_scores or any(task not in REFERENCE_SCORES for task in episode_scores):
        return {}
    normalised = [
        np.array([human_normalised(task, score) for score in scores])
        for task, scores in episode_scores.items()
    ]
    rng = np.random.default_rng(seed)
    # [reps, tasks]: each task's mean over a resample of its episodes
    resampled = np.stack(
        [x[rng.integers(0, len(x), (reps, len(x)))].mean(axis=1) for x in normalised], axis=1
    )
    means = np.array([[x.mean() for x in normalised]])
    tail = 100 * (1 - confidence) / 2
    result: dict[str, float] = {}
    for name, statistic in (("median", _median_rows), ("iqm", _iqm_rows)):
        low, high = np.percentile(statistic(resampled), [tail, 100 - tail])
        result[f"human_normalised_{name}"] = float(statistic(means)[0])
        result[f"human_normalised_{name}_ci_low"], result[f"human_normalised_{name}_ci_high"] = (
            float(low),
            float(high),
        )
    return result


def _median_rows(rows: np.ndarray) -> np.ndarray:
    return np.median(rows, axis=1)


def _iqm_rows(rows: np.ndarray) -> np.ndarray:
    """`interquartile_mean` of each row of `rows` `[n, tasks]`."""
    return scipy.stats.trim_mean(rows, 0.25, axis=1)
