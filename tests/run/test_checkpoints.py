"""Checkpoints of the run state (run/checkpoints.py, run/checkpoint_store.py): what is saved, when it is refused, resuming."""

import pathlib

import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import checkpoint_steps, tiny_config, trainer_for

from hsuanwu_jax.outputs.records import read_metrics


class SnapshotEnv(CountingEnv):
    """Calls `on_step()` before its `at_step`-th step: from inside a rollout, as a checkpoint might."""

    def __init__(self, *args, at_step, on_step, **kwargs):
        super().__init__(*args, **kwargs)
        self.at_step, self.on_step = at_step, on_step

    def step(self, action):
        if self.steps + 1 == self.at_step:
            self.on_step()
        return super().step(action)


def test_a_save_over_an_unreadable_checkpoint_replaces_it(tmp_path, capsys):
    cfg = tiny_config(tmp_path, num_train_steps=800, checkpoint_every=400)
    trainer_for(cfg).train()
    for path in pathlib.Path(tmp_path, "checkpoints", "800").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage")
    capsys.readouterr()
    resumed = trainer_for(cfg)
    warning = [line for line in capsys.readouterr().out.splitlines() if line.startswith("WARNING")]
    unreadable = [line for line in warning if "is unreadable" in line]
    assert resumed.env_steps == 400 and len(unreadable) == 1 and len(unreadable[0]) < 700  # one short line
    resumed.train()  # back to 800: the corrupted checkpoint there is replaced, not taken as saved
    resumed.close()
    capsys.readouterr()
    again = trainer_for(cfg)
    assert again.env_steps == 800 and "WARNING" not in capsys.readouterr().out
    again.close()


def test_non_finite_params_are_never_saved(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=400, checkpoint_every=400)
    trainer_for(cfg).train()
    cfg.update(num_train_steps=10**6, checkpoint_every=40, lr=1e38)  # a checkpoint after every update
    diverging = trainer_for(cfg)
    # The first update's loss is finite, its params are not: the save after it is refused.
    with pytest.raises(
        FloatingPointError, match=r"the params at env step 440 are not finite \(is lr=1e\+38 too large"
    ):
        diverging.train()
    diverging.close()
    assert checkpoint_steps(tmp_path) == [400]
    cfg.lr = 4e-4
    resumed = trainer_for(cfg)
    assert resumed.env_steps == 400
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(resumed.state.params))
    resumed.close()


def test_the_params_check_names_the_step_and_the_learning_rate(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=80, checkpoint_every=0)
    trainer = trainer_for(cfg)
    trainer.train()
    broken = jax.tree.map(lambda x: x * np.nan, trainer.state)
    trainer.learner.state = broken
    with pytest.raises(
        FloatingPointError, match=r"params at env step 80 are not finite \(is lr=0.0004 too large"
    ):
        trainer._checkpoints.save(trainer._loop.run_state())
    trainer.close()


def test_checkpoints_as_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "checkpoints").write_text("not a directory")
    with pytest.raises(ValueError, match=r"checkpoints is a file, not a checkpoint directory"):
        trainer_for(tiny_config(tmp_path))


def test_checkpoints_take_each_actors_key_and_episodes_at_a_rollout_boundary(tmp_path):
    cfg = tiny_config(tmp_path, actor_mode="python")  # num_steps 5: a rollout is 5 env steps
    seen = {}
    envs = [
        SnapshotEnv([3, 3, 3, 3], at_step=9, on_step=lambda: seen.update(state=trainer._loop.run_state())),
        CountingEnv([5, 7, 9, 11]),
    ]
    trainer = trainer_for(cfg, envs=envs)
    trainer.act(0)  # steps 1-5: each env's first episode ends at step 3
    key_after_first, episodes_after_first = np.asarray(trainer.actors[0].key), trainer.actors[0].episodes
    assert episodes_after_first == 4
    trainer.act(0)  # steps 6-10: the second episodes end at step 7; the snapshot is taken before step 9
    live_key = np.asarray(trainer.actors[0].key)
    state = seen["state"]
    np.testing.assert_array_equal(state.actor_keys[0], key_after_first)  # not a key from mid-rollout
    assert not np.array_equal(live_key, key_after_first)
    assert state.total_episodes == episodes_after_first  # the episodes ended at step 7 are not in it yet
    assert trainer._loop.run_state().total_episodes == 8  # they are once the rollout is whole
    trainer.close()


def test_resume_continues_counters_schedule_and_metrics(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=1_200, checkpoint_every=400, log_every=200)
    first = trainer_for(cfg)
    first.train()
    assert checkpoint_steps(tmp_path) == [400, 800, 1200]
    params = first.state.params
    first.close()
    cfg.num_train_steps = 2_000  # extend the run: the same workdir continues
    second = trainer_for(cfg)
    assert second.env_steps == 1_200 and int(second.state.update_step) == 1_200 // 40
    np.testing.assert_array_equal(
        second.state.params["params"]["baseline"]["kernel"], params["params"]["baseline"]["kernel"]
    )
    second.train()
    assert second.env_steps == 2_000
    steps = [r["step"] for r in read_metrics(str(tmp_path / "metrics.jsonl"))]
    assert steps == sorted(set(steps)) and steps[-1] == 2_000
    assert checkpoint_steps(tmp_path) == [1200, 1600, 2000]  # the newest 3 are kept
    second.close()


def test_a_changed_network_shape_is_refused_on_resume(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=400)
    trainer_for(cfg).train()
    cfg.mlp_hidden_sizes = (32,)
    with pytest.raises(ValueError, match=r"config field mlp_hidden_sizes=\(32,\) differs from \[16\]"):
        trainer_for(cfg)


def test_a_workdir_with_metrics_but_no_checkpoint_is_not_overwritten(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 10}\n')
    with pytest.raises(ValueError, match=r"holds a metrics\.jsonl but no checkpoint"):
        trainer_for(tiny_config(tmp_path))


def test_a_corrupted_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    cfg = tiny_config(tmp_path, num_train_steps=800, checkpoint_every=400)
    trainer_for(cfg).train()
    assert checkpoint_steps(tmp_path) == [400, 800]
    for path in pathlib.Path(tmp_path, "checkpoints", "800").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage" * 3)
    capsys.readouterr()
    resumed = trainer_for(cfg)
    out = capsys.readouterr().out
    assert "checkpoint at step 800" in out and "unreadable" in out
    assert "resuming from the older checkpoint at step 400" in out
    assert resumed.env_steps == 400
