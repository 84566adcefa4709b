"""A run over several tasks: actors assigned to tasks, rollouts tagged with their task, per-task PopArt
statistics and metrics, checkpoints and exports that keep them; bad task lists refused before any thread."""

import json
import time

import numpy as np
import pytest
from helpers import tiny_config

from hsuanwu_jax import DistributedTrainer, load_policy, validate
from hsuanwu_jax.acting.episodes import EpisodeLog
from hsuanwu_jax.cli import record as record_cli
from hsuanwu_jax.cli.train import final_test_lines
from hsuanwu_jax.config.tasks import actor_tasks
from hsuanwu_jax.outputs.curves import plot_runs
from hsuanwu_jax.outputs.progress import format_progress
from hsuanwu_jax.outputs.records import read_metrics

TASKS = ("CartPole-v0", "CartPole-v1")  # one observation and action space, two time limits (200 and 500)


def two_task_config(tmp_path, **overrides):
    return tiny_config(tmp_path, tasks=TASKS, popart=True, log_every=200, **overrides)


def test_actor_threads_spread_evenly_over_the_tasks_of_every_process():
    cfg = {"env_id": "CartPole-v1", "tasks": ("a", "b", "c"), "num_actors": 3}
    assert actor_tasks(cfg, 0) == [0, 1, 2] and actor_tasks(cfg, 1) == [0, 1, 2]
    cfg = {"env_id": "CartPole-v1", "tasks": ("a", "b"), "num_actors": 1}  # two processes, one thread each
    assert actor_tasks(cfg, 0) == [0] and actor_tasks(cfg, 1) == [1]
    assert actor_tasks({"env_id": "CartPole-v1", "tasks": (), "num_actors": 2}, 0) == [0, 0]


def test_a_two_task_run_learns_both_with_per_task_statistics_and_resumes(tmp_path):
    trainer = DistributedTrainer(cfgs=two_task_config(tmp_path, checkpoint_every=1_000))
    assert [actor.task for actor in trainer.actors] == [0, 1]
    assert [actor.env.spec.config.max_episode_steps for actor in trainer.actors] == [
        200,
        500,
    ]  # each its task
    trainer.train()
    stats = trainer.learner.state.value_stats
    assert np.shape(stats.mean) == (2,)
    records = read_metrics(f"{tmp_path}/metrics.jsonl")
    last = records[-1]
    for task in TASKS:
        assert np.isfinite(last[f"value_mean/{task}"]) and last[f"value_std/{task}"] > 0
    for record in records:  # each line splits its episodes and env steps over the tasks
        assert sum(record[f"num_episodes/{task}"] for task in TASKS) == record["num_episodes"]
        assert sum(record[f"env_steps_share/{task}"] for task in TASKS) == pytest.approx(1.0)
    assert sum(record["num_episodes"] for record in records) > 0
    result = trainer.test()
    assert set(result["tasks"]) == set(TASKS) and result["worst_task"] in TASKS
    assert result["num_episodes"] == sum(r["num_episodes"] for r in result["tasks"].values()) == 6
    returns = [r["episode_reward"] for r in result["tasks"].values()]
    assert result["episode_reward"] == pytest.approx(np.mean(returns))
    assert result["worst_task"] == TASKS[int(np.argmin(returns))]
    assert "human_normalised_median" not in result  # CartPole has no human reference
    assert set(trainer.test(task="CartPole-v0")) >= {"episode_reward", "num_episodes"}
    with pytest.raises(ValueError, match="task='Pong-v5' is not one of the run's tasks"):
        trainer.test(task="Pong-v5")
    trainer.save(f"{tmp_path}/export")
    exported = json.loads((tmp_path / "export" / "model.json").read_text())
    assert len(exported["value_stats"]["mean"]) == 2
    policy = load_policy(f"{tmp_path}/export")
    assert policy.tasks == TASKS
    np.testing.assert_allclose(policy.value_stats.mean, np.asarray(stats.mean), rtol=1e-6)
    second = load_policy(f"{tmp_path}/export", task="CartPole-v1")
    assert second.tasks == ("CartPole-v1",) and np.ndim(second.value_stats.mean) == 0
    np.testing.assert_allclose(float(second.value_stats.variance), float(stats.variance[1]), rtol=1e-6)
    obs = np.zeros((3, 4), np.float32)
    np.testing.assert_array_equal(policy(obs)[0], second(obs)[0])  # one policy for every task
    with pytest.raises(ValueError, match="task='Pong-v5' is not one of export"):
        load_policy(f"{tmp_path}/export", task="Pong-v5")

    # Resumed from its checkpoint: the same per-task statistics, then on to a longer target.
    resumed = DistributedTrainer(
        cfgs=two_task_config(tmp_path, checkpoint_every=1_000, num_train_steps=3_000, test_every=1_000)
    )
    restored = resumed.learner.state.value_stats
    for field in ("mean", "variance", "reward_min", "reward_max"):
        np.testing.assert_array_equal(np.asarray(getattr(restored, field)), np.asarray(getattr(stats, field)))
    resumed.train()
    tested = [r for r in read_metrics(f"{tmp_path}/metrics.jsonl") if "test_episode_reward" in r]
    assert tested and all(f"test_episode_reward/{task}" in tested[-1] for task in TASKS)
    # one task's learning curve: the plot command takes a per-task metric by its name
    figure = plot_runs([str(tmp_path)], metric="episode_reward/CartPole-v1")
    assert figure.axes[0].get_ylabel() == "episode_reward/CartPole-v1" and figure.axes[0].lines
    # a video of one task from the run's directory (its newest checkpoint)
    assert record_cli.main([str(tmp_path), "--out", str(tmp_path / "v1.gif"), "--task", "CartPole-v1"]) == 0
    assert (tmp_path / "v1.gif").stat().st_size > 0
    worst = tested[-1]["test_worst_task"]
    assert f"(worst {worst} {tested[-1][f'test_episode_reward/{worst}']:.2f})" in format_progress(tested[-1])


def test_an_actor_that_starts_late_still_has_its_task_in_the_first_updates(tmp_path):
    trainer = DistributedTrainer(cfgs=two_task_config(tmp_path, num_train_steps=400, checkpoint_every=0))
    late, collect = trainer.actors[1], trainer.actors[1].collect

    def collect_late(
        *args, **kwargs
    ):  # its first rollout a second behind the other actor's (a later compile)
        if late.rollouts == 0:
            time.sleep(1.0)
        return collect(*args, **kwargs)

    late.collect = collect_late
    trainer.train()
    first = read_metrics(f"{tmp_path}/metrics.jsonl")[0]  # the first 200 env steps: 5 batches
    assert first["env_steps_share/CartPole-v1"] > 0 and first["env_steps_share/CartPole-v0"] > 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"tasks": ("CartPole-v1",)}, "config field tasks=('CartPole-v1',) is invalid"),
        ({"tasks": ("CartPole-v0", "CartPole-v1"), "num_actors": 3}, "which num_actors=3"),
        ({"tasks": ("CartPole-v1", "Acrobot-v1")}, "Acrobot-v1's observation space"),
        ({"tasks": ("CartPole-v1", "CartPoel-v0")}, "env_id='CartPoel-v0' is not an EnvPool task"),
    ],
)
def test_task_lists_that_cannot_run_are_refused_naming_the_field(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DistributedTrainer(cfgs=tiny_config(tmp_path, **overrides))


def test_a_multi_host_task_list_is_checked_against_every_process_s_threads(tmp_path):
    three = ("CartPole-v0", "CartPole-v1", "Acrobot-v1")
    cfg = tiny_config(tmp_path, tasks=three, num_actors=2, multi_host=True, num_processes=2)
    with pytest.raises(ValueError, match="num_actors=2 x 2 processes actor threads cannot share evenly"):
        validate(cfg)
    validate(tiny_config(tmp_path, tasks=TASKS, num_actors=1, multi_host=True, num_processes=2))  # 2 threads
    validate(tiny_config(tmp_path, tasks=three, num_actors=2, multi_host=True))  # the count comes on joining


def test_the_command_line_reports_each_task_of_its_final_test():
    per_task = {
        "Pong-v5": {
            "episode_reward": -20.0,
            "num_episodes": 2,
            "episode_rewards": [-20.0] * 2,
            "human_normalised": 0.02,
        },
        "CartPole-v1": {"episode_reward": 500.0, "num_episodes": 2, "episode_rewards": [500.0] * 2},
    }
    result = {
        "episode_reward": 240.0,
        "num_episodes": 4,
        "worst_task": "Pong-v5",
        "policy": "sampled",
        "tasks": per_task,
    }
    lines = final_test_lines(result)
    assert lines[0] == (
        'final test: {"episode_reward": 240.0, "num_episodes": 4, "worst_task": "Pong-v5", "policy": "sampled"}'
    )
    assert lines[1:] == [
        "final test Pong-v5: return -20.00 over 2 episodes (human-normalised 0.020)",
        "final test CartPole-v1: return 500.00 over 2 episodes",
        "final test return 240.00 over 4 sampled episodes",
    ]
    assert "tasks" in result  # the caller's result is left as it was
    procgen = {
        "episode_reward": 5.0,
        "num_episodes": 2,
        "policy": "sampled",
        "train_envs": {"episode_reward": 7.5},
    }
    assert final_test_lines(procgen)[-2:] == [
        "final test return 5.00 over 2 sampled episodes",
        "final test return on envs like the training ones (env_kwargs alone): 7.50",
    ]


def test_the_episode_log_reports_each_tasks_episodes_on_their_own():
    log = EpisodeLog(task_names=TASKS)
    log.add([(0, 10.0, 10), (1, 30.0, 30)], task=0)
    log.add([(2, 200.0, 200)], task=1)
    record = log.drain()
    assert record["episode_reward"] == pytest.approx(80.0) and record["num_episodes"] == 3
    assert record["episode_reward/CartPole-v0"] == 20.0 and record["num_episodes/CartPole-v0"] == 2
    assert record["episode_length/CartPole-v1"] == 200 and record["num_episodes/CartPole-v1"] == 1
    empty = log.drain()
    assert empty["episode_reward/CartPole-v1"] is None and empty["num_episodes/CartPole-v0"] == 0
    assert "episode_reward/CartPole-v1" not in EpisodeLog(task_names=("CartPole-v1",)).drain()  # one task
