"""Faults and hostile input: corrupted checkpoints are replaced, nothing non-finite is saved, metrics
never garble, bad env arguments and bad envs get clear errors before any thread starts, stuck envs and
endless test episodes cannot hang the trainer, exports are never missing."""

import json
import pathlib
import threading
import time

import gymnasium
import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import actor_threads, checkpoint_steps, fake_envs, tiny_config, trainer_for

import hsuanwu_jax.envs.splitting as envs_module
from hsuanwu_jax import DistributedTrainer, load_policy, validate
from hsuanwu_jax.acting.evaluation import EvaluationStopped, evaluate
from hsuanwu_jax.envs.config_checks import check_env_kwargs
from hsuanwu_jax.outputs.records import read_metrics


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


def test_metrics_never_append_to_a_half_written_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 40, "sp')  # killed during its first write
    trainer = trainer_for(tiny_config(tmp_path, num_train_steps=800))
    trainer.train()
    trainer.close()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert lines and len(read_metrics(str(tmp_path / "metrics.jsonl"))) == len(lines)
    assert all(json.loads(line)["step"] > 0 for line in lines)


@pytest.mark.parametrize(
    "field, kwargs, message",
    [
        (
            "env_kwargs",
            {"episodic_lives": True},
            r"env_kwargs\['episodic_lives'\] is not an argument of Breakout-v5: did you mean 'episodic_life'\?",
        ),
        (
            "env_kwargs",
            {"noop_max": "30"},
            r"env_kwargs\['noop_max'\]='30' has the wrong type for Breakout-v5: expected a int like its default 30",
        ),
        (
            "env_kwargs",
            {"noop_max": 0},
            r"env_kwargs\['noop_max'\]=0 crashes EnvPool 1.2.5 on Atari: use noop_max=1",
        ),
        ("env_kwargs", {"num_envs": 4}, r"env_kwargs\['num_envs'\] is set from the config field 'num_envs'"),
        (
            "test_env_kwargs",
            {"reward_clip": 1},
            r"test_env_kwargs\['reward_clip'\]=1 has the wrong type for Breakout-v5: expected a bool",
        ),
    ],
)
def test_env_kwargs_are_checked_against_envpools_own_spec(field, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_env_kwargs("Breakout-v5", kwargs, field)


def test_bad_test_env_kwargs_are_refused_when_the_trainer_is_built(tmp_path):
    cfg = tiny_config(tmp_path, test_env_kwargs={"max_episode_step": 10})
    started = threading.active_count()
    with pytest.raises(
        ValueError, match=r"test_env_kwargs\['max_episode_step'\] is not an argument of CartPole-v1"
    ):
        DistributedTrainer(cfg, train_env=fake_envs(cfg))  # no test env given: test() would make one
    assert threading.active_count() == started and not actor_threads()


def test_a_failed_constructor_closes_what_it_opened(tmp_path, monkeypatch):
    opened = []

    def fake_make_env(cfg, test=False, process_index=None, **kwargs):
        envs = fake_envs(tiny_config(tmp_path))
        opened.extend(envs)
        return envs

    monkeypatch.setattr(envs_module, "make_env", fake_make_env)
    with pytest.raises(ValueError, match="learner_chunks=3 must divide"):
        DistributedTrainer(tiny_config(tmp_path, learner_chunks=3), test_env=CountingEnv([3]))
    assert opened and all(env.closed for env in opened)


def test_broken_model_json_is_a_clear_error(tmp_path):
    trainer = trainer_for(tiny_config(tmp_path, num_train_steps=40))
    path = pathlib.Path(trainer.save())
    trainer.close()
    meta = path / "model.json"
    good = meta.read_text()
    meta.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(ValueError, match=r"model\.json is not readable JSON"):
        load_policy(str(path))
    meta.write_text(json.dumps({k: v for k, v in json.loads(good).items() if k != "network"}))
    with pytest.raises(ValueError, match=r"model\.json has no 'network' section"):
        load_policy(str(path))
    network_missing_a_field = json.loads(good)
    del network_missing_a_field["network"]["mlp_hidden_sizes"]
    meta.write_text(json.dumps(network_missing_a_field))
    with pytest.raises(
        ValueError, match=r"does not describe a network and spaces this version reads \(KeyError"
    ):
        load_policy(str(path))
    meta.write_text(good)
    policy = load_policy(str(path))
    with pytest.raises(ValueError, match=r"expected observations of shape \(3,\) \(one\) or \[B, \*\(3,\)\]"):
        policy(np.zeros(4, np.float32))
    assert policy(np.zeros((5, 3), np.float32))[0].shape == (5,)


class WrongShapeEnv(CountingEnv):
    def _obs(self):
        return super()._obs()[:, :2]  # declares (3,), returns (2,)


class OldGymEnv(CountingEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated | truncated, info


class BlockingEnv(CountingEnv):
    def __init__(self, *args, block_after, release, **kwargs):
        super().__init__(*args, **kwargs)
        self.block_after, self.release = block_after, release

    def step(self, action):
        if self.steps >= self.block_after:
            self.release.wait()
        return super().step(action)


@pytest.mark.parametrize(
    "make_envs, error, message",
    [
        (
            lambda: [WrongShapeEnv([5, 7, 9, 11])] * 2,
            ValueError,
            r"reset\(\) returned observations of shape \(4, 2\), but its observation space declares \(3,\)",
        ),
        (
            lambda: [OldGymEnv([5, 7, 9, 11]), OldGymEnv([5, 7, 9, 11])],
            TypeError,
            r"OldGymEnv\.step\(\) returned 4 values; .* old gym API",
        ),
        (
            lambda: [gymnasium.make("CartPole-v1")] * 2,
            TypeError,
            r"TimeLimit is a single gymnasium env; .*SyncVectorEnv",
        ),
    ],
)
def test_envs_that_break_the_interface_are_named(tmp_path, make_envs, error, message):
    cfg = tiny_config(tmp_path, actor_mode="python")
    with pytest.raises(error, match=message):
        trainer = trainer_for(cfg, envs=make_envs())
        trainer.train()
    assert not actor_threads()


def test_non_finite_observations_are_blamed_on_the_env(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=10**6)
    with pytest.raises(FloatingPointError, match=r"the env produced non-finite reward in this batch"):
        trainer_for(cfg, envs=fake_envs(cfg, nan_after=30)).train()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lr": float("inf")}, r"lr=inf is invalid: expected a finite number >= 0"),
        (
            {"coordinator_address": "127.0.0.1:70000"},
            r"coordinator_address='127.0.0.1:70000' is invalid: expected a \"host:port\" string with a port in 1..65535",
        ),
        ({"actor_timeout_seconds": -1}, r"actor_timeout_seconds=-1 is invalid"),
    ],
)
def test_numbers_and_addresses_are_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        validate(overrides)


def test_a_pathlib_workdir_is_a_path(tmp_path):
    assert validate({"workdir": tmp_path / "run"}).workdir == str(tmp_path / "run")


def test_checkpoints_as_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "checkpoints").write_text("not a directory")
    with pytest.raises(ValueError, match=r"checkpoints is a file, not a checkpoint directory"):
        trainer_for(tiny_config(tmp_path))


def test_a_stuck_env_stops_training_naming_the_actor(tmp_path):
    release = threading.Event()
    # 5 s: on a loaded 2-core CI machine the healthy actor's first (compiling) policy step took over 2 s.
    cfg = tiny_config(tmp_path, num_train_steps=10**6, actor_timeout_seconds=5, actor_mode="python")
    envs = [CountingEnv([5, 7, 9, 11]), BlockingEnv([5, 7, 9, 11], block_after=12, release=release)]
    trainer = trainer_for(cfg, envs=envs)
    started = time.monotonic()
    try:
        with pytest.raises(
            TimeoutError, match=r"actor-1 has made no progress for \d+ s .*: it is in env\.step\(\)"
        ):
            trainer.train()
        assert time.monotonic() - started < 30
        with pytest.raises(RuntimeError, match=r"\['actor-1'\] did not stop when asked"):
            trainer.train()
        trainer.close()  # closes what it can; the stuck env is left alone
        assert envs[0].closed and not envs[1].closed
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while actor_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not actor_threads()


def test_test_episodes_are_capped_and_a_stop_request_ends_them(tmp_path):
    endless = CountingEnv([10**9, 10**9, 3])
    cfg = tiny_config(tmp_path, test_max_episode_steps=50, num_test_episodes=3)
    trainer = trainer_for(cfg, test_env=endless)
    result = trainer.test()
    assert result["num_episodes"] == 3 and result["num_cut_episodes"] == 2
    assert result["episode_length"] == pytest.approx((50 + 50 + 3) / 3)
    calls = []
    with pytest.raises(EvaluationStopped):
        evaluate(
            endless,
            trainer.spec,
            trainer.agent.greedy_policy,
            trainer.actor_params(),
            (),
            jax.random.PRNGKey(0),
            3,
            should_stop=lambda: calls.append(1) or len(calls) >= 5,
        )
    assert len(calls) == 5
    trainer.close()


def test_an_export_is_there_at_every_moment_of_a_save(tmp_path):
    trainer = trainer_for(tiny_config(tmp_path, num_train_steps=40))
    path = trainer.save()
    failures, done = [], threading.Event()

    def read_while_saving():
        while not done.is_set():
            try:
                load_policy(path)
            except Exception as error:
                failures.append(error)

    reader = threading.Thread(target=read_while_saving)
    reader.start()
    for _ in range(20):
        trainer.save()
    done.set()
    reader.join()
    trainer.close()
    assert not failures, failures[:3]


class SnapshotEnv(CountingEnv):
    """Calls `on_step()` before its `at_step`-th step: from inside a rollout, as a checkpoint might."""

    def __init__(self, *args, at_step, on_step, **kwargs):
        super().__init__(*args, **kwargs)
        self.at_step, self.on_step = at_step, on_step

    def step(self, action):
        if self.steps + 1 == self.at_step:
            self.on_step()
        return super().step(action)


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
