"""The stall alarm (one warning per sign that learning stopped) and PopArt's std floor, the fix for the stall
it warned of first: targets without spread (no reward yet) drove std to 1e-4 and the gradients to millions."""

import json

import numpy as np
import pytest
from fakes import LateRewardEnv
from helpers import tiny_config

from hsuanwu_jax import DistributedTrainer
from hsuanwu_jax.run.stall_alarm import StallAlarm


def record(step, grad_norm=1.0, policy_kl=1e-3, entropy=0.69, baseline_loss=1.0):
    return dict(
        step=step, grad_norm=grad_norm, policy_kl=policy_kl, entropy=entropy, baseline_loss=baseline_loss
    )


def test_no_reward_is_said_once_after_a_tenth_of_the_run_and_never_once_one_is_seen():
    alarm = StallAlarm(target_steps=3_000_000, max_grad_norm=40.0)
    alarm.see_rewards(np.zeros((5, 8)))
    assert alarm.check(record(200_000)) == []  # under a tenth of 3M
    (warning,) = alarm.check(record(300_000))
    assert warning.startswith("no reward: every reward in the 300,000 env steps")
    assert alarm.check(record(400_000)) == []  # once
    seen = StallAlarm(target_steps=3_000_000, max_grad_norm=40.0)
    seen.see_rewards(np.array([[0.0, -0.5]]))
    seen.see_rewards(np.zeros((5, 8)))
    assert seen.check(record(400_000)) == []
    short = StallAlarm(target_steps=200_000, max_grad_norm=40.0)  # a tenth is 20k: the 100k floor holds
    assert short.check(record(90_000)) == [] and len(short.check(record(100_000))) == 1


def test_gradients_crushed_by_the_clip_on_three_lines_in_a_row():
    alarm = StallAlarm(target_steps=1_000_000, max_grad_norm=40.0)
    alarm.see_rewards(np.ones(3))
    lines = [
        record(1, grad_norm=6e7),
        record(2, grad_norm=1e3),  # 25x the clip: breaks the run of lines
        record(3, grad_norm=6e7),
        record(4, grad_norm=5e4),
    ]
    assert all(alarm.check(line) == [] for line in lines)
    (warning,) = alarm.check(record(5, grad_norm=2e6, baseline_loss=3.1e6))
    for part in (
        "gradients crushed",
        "2e+06",
        "50,000 times max_grad_norm=40",
        "since env step 3",
        "3.1e+06",
    ):
        assert part in warning, part
    assert alarm.check(record(6, grad_norm=2e6)) == []
    # A run whose returns rose above its first episodes' is not warned of (CartPole at 500 with PopArt's std
    # at its floor); one still at that level is.
    learned = StallAlarm(target_steps=1_000_000, max_grad_norm=40.0)
    stuck = StallAlarm(target_steps=1_000_000, max_grad_norm=40.0)
    lines = [dict(record(s, grad_norm=6e7), episode_reward=500.0) for s in (1, 2, 3, 4)]
    assert not any(learned.check(line, first_episodes_reward=22.0) for line in lines)
    assert [w.split(":")[0] for line in lines for w in stuck.check(line, 480.0)] == ["gradients crushed"]


def test_a_policy_frozen_while_still_random_but_not_one_that_converged_or_whose_lr_ran_out():
    alarm = StallAlarm(target_steps=1_000, max_grad_norm=40.0)
    alarm.see_rewards(np.ones(3))
    assert alarm.check(record(100, entropy=1.4516)) == []
    assert alarm.check(record(200, policy_kl=0.0, entropy=1.4516)) == []
    assert alarm.check(record(300, policy_kl=-1e-8, entropy=1.4516)) == []
    (warning,) = alarm.check(record(400, policy_kl=2e-9, entropy=1.4516))
    assert "policy frozen" in warning and "since env step 200" in warning and "100% of its start" in warning
    converged = StallAlarm(target_steps=1_000, max_grad_norm=40.0)
    late = StallAlarm(target_steps=1_000, max_grad_norm=40.0)
    for alarm, entropy, steps in ((converged, 0.1, (100, 200, 300, 400)), (late, 1.4, (100, 900, 950, 990))):
        alarm.see_rewards(np.ones(3))
        alarm.check(record(steps[0], entropy=1.4))
        assert all(alarm.check(record(s, policy_kl=0.0, entropy=entropy)) == [] for s in steps[1:])


def test_a_discrete_policy_still_uniform_after_rewards_came_but_not_one_that_learns_or_has_no_reward_yet():
    ln7 = float(np.log(7))
    alarm = StallAlarm(target_steps=2_000_000, max_grad_norm=40.0, max_entropy=ln7)
    alarm.see_rewards(np.array([0.0, 0.3]))
    assert alarm.check(record(100_000, entropy=ln7)) == []  # before a tenth of the run
    assert all(alarm.check(record(s, entropy=0.995 * ln7)) == [] for s in (200_000, 300_000))
    (warning,) = alarm.check(record(400_000, entropy=0.999 * ln7))
    for part in (
        "policy still uniform",
        "1.944 nats",
        "99.9% of the uniform policy's 1.946",
        "since env step 200,000",
    ):
        assert part in warning, part
    assert alarm.check(record(500_000, entropy=ln7)) == []  # once
    # A line under 99% of ln 7 breaks the run of lines; a continuous policy (no maximum) never fires.
    learning = StallAlarm(target_steps=2_000_000, max_grad_norm=40.0, max_entropy=ln7)
    gaussian = StallAlarm(target_steps=2_000_000, max_grad_norm=40.0)
    for alarm in (learning, gaussian):
        alarm.see_rewards(np.ones(3))
    steps = range(200_000, 700_000, 100_000)
    entropies = (ln7, ln7, 0.98 * ln7, ln7, ln7)
    assert all(learning.check(record(s, entropy=e)) == [] for s, e in zip(steps, entropies, strict=True))
    assert all(gaussian.check(record(s, entropy=9.0)) == [] for s in steps)
    # No reward seen yet: the no-reward sign says so, not this one.
    unrewarded = StallAlarm(target_steps=2_000_000, max_grad_norm=40.0, max_entropy=ln7)
    said = [w for s in steps for w in unrewarded.check(record(s, entropy=ln7))]
    assert [w.split(":")[0] for w in said] == ["no reward"]


def late_reward_run(tmp_path, **overrides):
    """PopArt on `LateRewardEnv`: no reward in the first 10,240 of 40,960 env steps (160 updates), then action 1
    pays 1 per step. Returns the metrics lines and the greedy test return (10 steps an episode: random play 5).
    PopArt's step size 0.3 lets the statistics move in 50 updates as far as the default's do in 1,800."""
    cfg = tiny_config(
        tmp_path,
        popart=True,
        popart_step_size=0.3,
        num_train_steps=40_960,
        log_every=2_048,
        num_steps=8,
        lr=3e-3,
        num_test_episodes=4,
        **overrides,
    )
    train_envs = [LateRewardEnv(4, reward_from=1_280, seed=k) for k in range(2)]  # 1,280 x 8 envs
    trainer = DistributedTrainer(cfg, train_env=train_envs, test_env=LateRewardEnv(4, seed=9))
    try:
        trainer.train()
        result = trainer.test()
    finally:
        trainer.close()
    with open(tmp_path / "metrics.jsonl") as f:
        return [json.loads(line) for line in f], result["episode_reward"]


@pytest.mark.parametrize("std_floor", [0.01, 0.0])
def test_a_reward_that_comes_late_is_learned_with_the_std_floor_and_stalls_without_it(tmp_path, std_floor):
    lines, test_return = late_reward_run(tmp_path, popart_std_floor=std_floor)
    before = [line for line in lines if line["step"] < 10_240]
    warnings = [line["stall_warning"] for line in lines if "stall_warning" in line]
    if std_floor:
        # No reward yet: the targets are all 0 and the statistics keep std 1; the policy learns once it pays.
        assert all(line["value_std"] == 1.0 for line in before), [line["value_std"] for line in before]
        assert warnings == [] and test_return >= 9.0, (warnings, test_return)
    else:
        # The floor of 1e-4 only: std falls towards it before any reward and the gradients explode.
        assert min(line["value_std"] for line in before) < 1e-2
        assert any(w.startswith("gradients crushed") for w in warnings), warnings
