"""The collapse alarm: one warning when the entropy falls while the returns stay at their first level."""

import json

import pytest

from hsuanwu_jax import DistributedTrainer, load_config
from hsuanwu_jax.run.collapse_alarm import CollapseAlarm


def record(step, entropy, reward):
    return {"step": step, "entropy": entropy, "episode_reward": reward}


def test_fires_once_when_the_entropy_falls_and_the_returns_stay():
    alarm = CollapseAlarm()
    alarm.first_update(1.0986)
    assert alarm.check(record(100_000, 0.5, -500.0)) is None  # the first returns: the reference
    assert alarm.check(record(200_000, 0.2, -498.0)) is None  # 18% of the start: not yet
    warning = alarm.check(record(300_000, 0.05, -470.0))  # 4.6%, and -470 is within 10% of -500
    assert warning is not None
    for part in ("1.099", "0.050", "4.6%", "300,000", "-470", "-500", "value_network"):
        assert part in warning, part
    assert alarm.check(record(400_000, 0.01, -500.0)) is None  # once


def test_the_first_record_with_episodes_is_only_the_reference():
    # A policy already deterministic at the first line has had no later episodes to show what it learned;
    # the next line with the same returns is a collapse.
    alarm = CollapseAlarm()
    alarm.first_update(1.0986)
    assert alarm.check(record(50_000, 0.05, -500.0)) is None
    assert "by env step 100,000" in alarm.check(record(100_000, 0.05, -500.0))


@pytest.mark.parametrize(
    "records",
    [
        [record(1, 0.6, 20.0), record(2, 0.01, 500.0)],  # learned: a deterministic policy that scores
        [record(1, 1.9, 0.06), record(2, 0.06, 0.95)],  # learned, on MiniGrid's scale of returns in [0, 1]
        [record(1, 0.6, 20.0), record(2, 0.2, 20.0)],  # entropy still a third of the start
        [record(1, 0.01, None), record(2, 0.01, None)],  # no episode finished yet: nothing to compare
    ],
)
def test_silent_while_the_policy_learns_or_nothing_is_known(records):
    alarm = CollapseAlarm()
    alarm.first_update(0.69)
    assert all(alarm.check(r) is None for r in records)


def test_the_reference_is_the_first_episodes_where_the_run_learned_before_its_first_record():
    # MiniGrid-Empty-Random-5x5 at lr 6e-4: the first log line (100k env steps) already at 0.95; the first
    # episodes (random play's level, 0.33) are the reference, so a solved task's deterministic policy is silent.
    alarm = CollapseAlarm()
    alarm.first_update(1.946)
    assert alarm.check(record(100_000, 0.69, 0.95), first_episodes_reward=0.33) is None
    assert alarm.check(record(1_000_000, 0.015, 0.97), first_episodes_reward=0.33) is None
    collapsed = CollapseAlarm()  # the same returns from the first episodes on: a collapse
    collapsed.first_update(1.946)
    collapsed.check(record(100_000, 0.69, 0.33), first_episodes_reward=0.31)
    assert "policy collapse" in collapsed.check(record(200_000, 0.015, 0.32), first_episodes_reward=0.31)


def test_the_first_episodes_are_those_of_the_policy_the_process_started_with():
    from hsuanwu_jax.acting.episodes import FIRST_EPISODES, EpisodeLog

    log = EpisodeLog()
    assert log.first_reward is None
    log.add([(0, 1.0, 5), (1, 3.0, 5)])
    assert log.first_reward == 2.0
    log.add([(i, 100.0, 5) for i in range(FIRST_EPISODES)])  # only FIRST_EPISODES - 2 of these count
    assert log.first_reward == pytest.approx((4.0 + 100.0 * (FIRST_EPISODES - 2)) / FIRST_EPISODES)
    log.drain()
    log.add([(0, -50.0, 5)])
    assert log.first_reward == pytest.approx((4.0 + 100.0 * (FIRST_EPISODES - 2)) / FIRST_EPISODES)


def test_a_policy_starting_without_positive_entropy_is_not_watched():
    alarm = CollapseAlarm()
    alarm.first_update(-3.0)  # a narrow Gaussian: a fraction of a negative entropy means nothing
    assert alarm.check(record(1, -3.0, 1.0)) is None and alarm.check(record(2, -30.0, 1.0)) is None


def warnings_of_a_run(tmp_path, env_id, **overrides):
    cfg = load_config("impala_classic_control")
    cfg.update(
        env_id=env_id,
        num_train_steps=400_000,
        log_every=100_000,  # the first line (the reference) at 100k, the checks from 200k
        test_every=0,
        progress="none",
        checkpoint_every=0,
        workdir=str(tmp_path / env_id),
        **overrides,
    )
    trainer = DistributedTrainer(cfg)
    try:
        trainer.train()
    finally:
        trainer.close()
    with open(tmp_path / env_id / "metrics.jsonl") as f:
        return [line["collapse_warning"] for line in map(json.loads, f) if "collapse_warning" in line]


@pytest.mark.slow
def test_a_run_made_to_collapse_is_warned_about_once_and_runs_that_learn_are_not(tmp_path):
    collapsed = warnings_of_a_run(tmp_path / "shared", "Acrobot-v1", value_network="shared")
    assert len(collapsed) == 1 and "policy collapse" in collapsed[0], collapsed
    assert warnings_of_a_run(tmp_path, "Acrobot-v1") == []
    assert warnings_of_a_run(tmp_path, "CartPole-v1") == []
