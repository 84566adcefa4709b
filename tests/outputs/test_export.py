"""Model exports (agent/saved.py, outputs/export.py): save and load, init_model_path, refusals."""

import json
import pathlib
import threading

import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import tiny_config, trainer_for

from hsuanwu_jax import DistributedTrainer, load_policy


def trained(tmp_path, **overrides):
    cfg = tiny_config(tmp_path, num_train_steps=800, **overrides)
    envs = [CountingEnv([5 + k, 7, 9, 11]) for k in range(2)]
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    trainer.train()
    return trainer


@pytest.mark.parametrize("use_lstm", [False, True])
def test_save_load_gives_the_same_actions(tmp_path, use_lstm):
    trainer = trained(tmp_path, use_lstm=use_lstm, lstm_size=8)
    path = trainer.save()
    policy = DistributedTrainer.load(path, CountingEnv([3]))
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    state = None
    expected_state = trainer.network.initial_core_state(5)
    prev, first = np.zeros(5, np.int32), np.ones(5, bool)
    params = jax.tree.map(np.asarray, trainer.state.params)
    for _ in range(3):  # several steps: the state (LSTM, last action) is carried the same way
        action, state = policy(obs, state)
        out, expected_state = trainer.network.apply(
            params, obs[None], prev[None], np.zeros((1, 5), np.float32), first[None], expected_state
        )
        expected = np.argmax(out.policy[0], -1)
        np.testing.assert_array_equal(action, expected)
        prev, first = expected.astype(np.int32), np.zeros(5, bool)
    single, _ = load_policy(path)(obs[0])
    assert np.shape(single) == ()


def test_init_model_path_starts_from_the_export(tmp_path):
    path = trained(tmp_path / "a").save()
    cfg = tiny_config(tmp_path / "b", init_model_path=path, weight_init="orthogonal")  # init: unused here
    restarted = DistributedTrainer(cfg, train_env=[CountingEnv([5, 7, 9, 11])] * 2, test_env=CountingEnv([3]))
    saved = load_policy(path).params
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, restarted.state.params), saved)
    assert int(restarted.state.update_step) == 0  # a new run: fresh optimizer and counters


def test_exports_that_do_not_fit_are_refused_with_the_reason(tmp_path):
    path = pathlib.Path(trained(tmp_path).save())
    with pytest.raises(ValueError, match=r"does not match the env: action_shape: export \(\), env \(2,\)"):
        load_policy(str(path), CountingEnv([3], continuous=True))
    cfg = tiny_config(tmp_path / "b", init_model_path=str(path), mlp_hidden_sizes=(32,))
    with pytest.raises(
        ValueError, match=r"holds a different network: mlp_hidden_sizes: export \(16,\), config \(32,\)"
    ):
        DistributedTrainer(cfg, train_env=[CountingEnv([5, 7, 9, 11])] * 2, test_env=CountingEnv([3]))
    meta = json.loads((path / "model.json").read_text())
    meta["network"]["encoder"] = "transformer"
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="export encoder='transformer' is not one of"):
        load_policy(str(path))
    meta["network"].update(encoder="mlp", weight_init="glorot")  # encoder back to the real one
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="export weight_init='glorot' is not one of"):
        load_policy(str(path))
    params = (path / "params.msgpack").read_bytes()
    meta["network"]["weight_init"] = "lecun"
    (path / "model.json").write_text(json.dumps(meta))
    (path / "params.msgpack").write_bytes(params[: len(params) // 2])
    with pytest.raises(ValueError, match=r"params\.msgpack is truncated or corrupted"):
        load_policy(str(path))
    (path / "params.msgpack").unlink()
    with pytest.raises(FileNotFoundError, match=r"params\.msgpack is missing"):
        load_policy(str(path))


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
