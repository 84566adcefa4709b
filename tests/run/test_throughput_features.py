"""What the fast paths add to the trainer: the XLA actor mode, learner chunks, stage timings, lag counts."""

import pytest
from helpers import fake_envs, gym_cartpoles, tiny_config

from hsuanwu_jax import DistributedTrainer, default_config, validate
from hsuanwu_jax.outputs.records import read_metrics


def test_xla_actors_train_and_every_record_carries_stage_times_and_lag_counts(tmp_path):
    cfg = tiny_config(tmp_path, actor_mode="xla", learner_chunks=2, progress="none", num_train_steps=4_000)
    trainer = DistributedTrainer(cfg)  # real CartPole envs from make_env: EnvPool, so XLA works
    trainer.train()
    trainer.close()
    records = read_metrics(str(tmp_path / "metrics.jsonl"))
    assert len(records) >= 5 and records[-1]["step"] >= 4_000
    rollout_steps = cfg.num_steps * cfg.num_envs
    previous = 0
    for record in records:
        assert record["actor_rollout_seconds"] > 0.0 and record["update_wait_seconds"] >= 0.0
        assert record["actor_env_seconds"] == record["actor_inference_seconds"] == 0.0  # one jitted call
        for stage in ("queue_wait", "batch_copy", "update_dispatch", "publish"):
            assert record[f"{stage}_seconds"] >= 0.0
        counts = record["policy_lag_counts"]
        assert sum(counts) * rollout_steps == record["step"] - previous  # every rollout learned from, once
        assert len(counts) - 1 == record["policy_lag_max"]
        # the mean of the same integers, computed two ways in float64: equal up to rounding (1e-6 default)
        assert record["policy_lag_mean"] == pytest.approx(
            sum(lag * n for lag, n in enumerate(counts)) / sum(counts)
        )
        previous = record["step"]


def test_auto_modes_resolve_by_env_and_backend(tmp_path):
    cfg = tiny_config(tmp_path, progress="none")
    envpool_trainer = DistributedTrainer(cfg)
    assert (envpool_trainer.actor_mode, envpool_trainer.learner_chunks) == ("xla", 1)  # CPU, EnvPool, MLP
    envpool_trainer.close()
    fake_trainer = DistributedTrainer(cfg, train_env=fake_envs(cfg))
    assert fake_trainer.actor_mode == "python"  # no XLA interface
    fake_trainer.close()


def test_python_actors_log_env_and_inference_time(tmp_path):
    cfg = tiny_config(tmp_path, progress="none")
    trainer = DistributedTrainer(cfg, train_env=fake_envs(cfg))
    trainer.train()
    trainer.close()
    record = read_metrics(str(tmp_path / "metrics.jsonl"))[-1]
    assert record["actor_env_seconds"] > 0.0 and record["actor_inference_seconds"] > 0.0


def test_xla_actors_refuse_gymnasium_vector_envs_before_any_thread(tmp_path):
    cfg = tiny_config(tmp_path, actor_mode="xla", num_envs=4)
    with pytest.raises(ValueError, match=r"actor_mode='xla' needs an EnvPool env.*use actor_mode='python'"):
        DistributedTrainer(cfg, train_env=[gym_cartpoles(4), gym_cartpoles(4)])


def test_bad_actor_mode_and_learner_chunks_are_refused(tmp_path):
    cfg = default_config()
    cfg.actor_mode = "jax"
    with pytest.raises(
        ValueError, match=r"actor_mode='jax' is invalid: expected one of \('auto', 'python', 'xla'\)"
    ):
        validate(cfg)
    cfg = tiny_config(tmp_path, learner_chunks=3)  # batch_size 8 on one device
    with pytest.raises(
        ValueError, match="learner_chunks=3 must divide each learner device's share of a minibatch, 8 envs"
    ):
        DistributedTrainer(cfg, train_env=fake_envs(cfg))
