"""DistributedTrainer as a system: bad input, train/test/save/close, failures, and learning."""

import json
import os
import pathlib
import subprocess
import threading
import time
import traceback

import envpool
import gymnasium
import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import ROOT, actor_threads, cli, fake_envs, tiny_config

from hsuanwu_jax import DistributedTrainer, load_config, make_env, validate


def test_train_test_save_close_with_fake_envs(tmp_path):
    cfg = tiny_config(tmp_path)
    test_env = CountingEnv([4, 6, 8])
    trainer = DistributedTrainer(cfg, train_env=fake_envs(cfg), test_env=test_env)
    summary = trainer.train()
    assert trainer.env_steps >= cfg.num_train_steps and summary["step"] == trainer.env_steps
    assert not actor_threads()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) >= 4
    for key in (
        "step",
        "sps",
        "episode_reward",
        "episode_length",
        "loss",
        "pg_loss",
        "baseline_loss",
        "entropy",
        "policy_kl",
        "policy_lag_mean",
        "policy_lag_max",
    ):
        assert key in lines[-1], key
    assert [x["step"] for x in lines] == sorted({x["step"] for x in lines})
    result = trainer.test()
    # The fake env's episodes have fixed lengths: greedy play changes nothing, so this is exact.
    assert result["episode_length"] == pytest.approx((4 + 6 + 8) / 3)
    assert result["episode_reward"] == pytest.approx(sum(n * (n + 1) / 2 for n in (4, 6, 8)) / 3)
    path = trainer.save()
    assert sorted(os.listdir(path)) == ["model.json", "params.msgpack"]
    meta = json.loads(pathlib.Path(path, "model.json").read_text())
    assert meta["spec"]["action_size"] == 2 and meta["config"]["num_envs"] == 4
    trainer.save()  # overwriting an export leaves one, a link to its files, and the one it replaced
    assert sorted(p for p in os.listdir(tmp_path) if "export" in p and not p.startswith(".")) == ["export"]
    versions = [p for p in os.listdir(tmp_path) if p.startswith(".export")]
    assert len(versions) == 2 and os.path.basename(os.path.realpath(path)) in versions
    trainer.save()
    assert len([p for p in os.listdir(tmp_path) if p.startswith(".export")]) == 2  # older ones are removed
    rollout = trainer.act(0)
    assert rollout.obs.shape == (cfg.num_steps + 1, 4, 3)
    trainer.close()
    assert test_env.closed


def test_failing_env_reaches_the_caller_quickly_and_leaves_no_thread(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=10**9)
    envs = fake_envs(cfg)
    envs[1] = CountingEnv([5, 7, 9, 11], fail_after=60)
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="fake env failure") as info:
        trainer.train()
    assert time.monotonic() - started < 10
    assert any("actor-1" in note for note in getattr(info.value, "__notes__", []))
    # The original traceback survives: it still ends in the env's step.
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[-1].filename.endswith("fakes.py") and frames[-1].name == "step"
    assert not actor_threads()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"num_step": 5}, "unknown config field 'num_step'; did you mean 'num_steps'"),
        ({"num_steps": 0}, "num_steps=0 is invalid"),
        ({"batch_size": -4}, "batch_size=-4 is invalid"),
        ({"lr": "fast"}, "lr='fast' is invalid"),
        ({"batch_size": 6}, "batch_size=6 must be a multiple of num_envs=4"),
        ({"encoder": "vit"}, "encoder='vit' is invalid"),
        ({"weight_init": "xavier"}, "weight_init='xavier' is invalid"),
        ({"num_train_steps": 10**13}, "num_train_steps=10000000000000 is 250,000,000,000 updates"),
        (
            {"value_network": "separate", "use_lstm": True},
            "value_network=.separate. needs encoder=.mlp. without use_lstm",
        ),
        ({"encoder": "nature_cnn"}, "encoder='nature_cnn' does not fit observations of shape"),
        ({"num_actors": 3}, "train_env has 2 envs but num_actors=3"),
        ({"learner_device_ids": [7]}, "learner_device_ids=[7] names no usable device"),
    ],
)
def test_bad_config_is_refused_before_any_thread_starts(tmp_path, overrides, message):
    cfg = tiny_config(tmp_path)
    envs = fake_envs(cfg)
    cfg = {**cfg.to_dict(), **overrides}  # a plain dict: ConfigDict itself refuses some of these
    jax.devices()  # JAX's backend start-up leaves a cancelled Timer thread exiting: not the trainer's
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    assert not [t for t in threading.enumerate() if t not in before]


def test_unknown_env_id_suggests_close_matches(tmp_path):
    cfg = tiny_config(tmp_path, env_id="CartPole-v0x")
    with pytest.raises(
        ValueError, match="env_id='CartPole-v0x' is not an EnvPool task; close matches: CartPole-v"
    ):
        make_env(cfg)


def test_unsupported_action_space_is_named(tmp_path):
    cfg = tiny_config(tmp_path)
    envs = fake_envs(cfg)
    for env in envs:
        env.action_space = gymnasium.spaces.MultiDiscrete([2, 3])
    with pytest.raises(ValueError, match=r"action space MultiDiscrete\(\[2 3\]\) is not supported"):
        DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))


def random_policy_return(num_episodes=20, seed=0):
    env = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=num_episodes, seed=seed)
    env.reset()
    rng = np.random.default_rng(seed)
    returns, alive, total = np.zeros(num_episodes), np.ones(num_episodes, bool), np.zeros(num_episodes)
    while alive.any():
        _, reward, terminated, truncated, _ = env.step(rng.integers(0, 2, num_episodes).astype(np.int32))
        total += reward * alive
        ended = alive & (terminated | truncated)
        returns[ended] = total[ended]
        alive &= ~ended
    return float(returns.mean())


@pytest.mark.slow
def test_cartpole_learns_clearly_beyond_a_random_policy(tmp_path):
    """The shipped CartPole config, briefly: the greedy return must be far above random (~22)."""
    cfg = load_config("impala_cartpole")
    cfg.update(dict(num_train_steps=200_000, log_every=50_000, test_every=0, workdir=str(tmp_path)))
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    trainer.train()
    trained = trainer.test()["episode_reward"]
    trainer.close()
    random_return = random_policy_return()
    print(f"random policy {random_return:.1f}, trained greedy policy {trained:.1f}")
    assert random_return < 40
    assert trained >= max(100.0, 4 * random_return)


def test_command_line_trains_and_writes_metrics_and_export(tmp_path):
    command = cli(tmp_path, "--config.num_train_steps=30000")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "final test return" in result.stdout
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] >= 30000 and len(lines) >= 3
    assert (tmp_path / "export" / "params.msgpack").stat().st_size > 0


def test_configs_load_by_preset_name_or_path_and_validate():
    for name in ("impala_cartpole", "impala_atari", "atari_machado", "impala_mujoco"):
        by_name, by_path = load_config(name), load_config(str(ROOT / "configs" / f"{name}.py"))
        assert by_name.to_dict() == by_path.to_dict()
        validate(by_name)
    assert validate("impala_atari").encoder == "nature_cnn"  # a preset name is a config too
    with pytest.raises(FileNotFoundError, match=r"no config file .*; presets: .*impala_cartpole"):
        load_config("impala_cartpol")


def test_a_config_file_loads_from_a_source_checkout_without_the_installed_presets(monkeypatch):
    """With the repository on PYTHONPATH and no `pip install`, `hsuanwu_jax.configs` does not exist (it is
    configs/ mapped into the package at install): a config file's path must still load."""

    def not_installed(package):
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr("importlib.resources.files", not_installed)
    assert load_config(str(ROOT / "configs" / "impala_atari.py")).encoder == "nature_cnn"
    with pytest.raises(ModuleNotFoundError):
        load_config("impala_atari")  # a preset name needs the installed presets


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1, 2**40 + 3])
def test_the_run_keys_are_the_streams_split_from_the_seed(seed):
    """`run_keys` computes in one program what these eager calls give (a change would change every seeded
    run): PRNGKey(seed) split in 3; the actors' key folded with the process index, split per actor."""
    from hsuanwu_jax.run.assembly import run_keys

    for process_index in (0, 3):
        init_key, actors_key, test_key = jax.random.split(jax.random.PRNGKey(seed), 3)
        actor_keys = list(jax.random.split(jax.random.fold_in(actors_key, process_index), 2))
        got_init, got_actors, got_test = run_keys(seed, process_index, 2)
        assert len(got_actors) == 2
        for got, expected in zip(
            (got_init, *got_actors, got_test), (init_key, *actor_keys, test_key), strict=True
        ):
            np.testing.assert_array_equal(got, expected)


def test_programs_compiled_once_at_the_lowest_level_give_the_optimised_programs_values():
    """`jit_quick_compile` (XLA's lowest optimisation level on CPUs, for the params' initialisation and other programs
    run once): the same params as the optimised program up to float32 rounding in the last bit."""
    from hsuanwu_jax.agent.networks import ImpalaNetwork
    from hsuanwu_jax.runtime.compilation import jit_quick_compile

    network = ImpalaNetwork(action_size=3, encoder="nature_cnn", weight_init="orthogonal")

    def init(key):
        obs = jax.numpy.zeros((1, 1, 84, 84, 4), jax.numpy.uint8)
        zeros = jax.numpy.zeros((1, 1))
        return network.init(key, obs, zeros.astype(np.int32), zeros, zeros.astype(bool), ())

    key = jax.random.PRNGKey(5)
    once, optimised = jit_quick_compile(init)(key), jax.jit(init)(key)
    leaves = jax.tree.leaves(once)
    assert len(leaves) == len(jax.tree.leaves(optimised)) > 4 and any(np.abs(x).max() > 0.01 for x in leaves)
    # Orthogonal init (a QR decomposition) of values of size ~0.1: a few float32 epsilons (1.2e-7) apart.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), once, optimised)


@pytest.mark.parametrize("test_policy", ["greedy", "sampled"])
def test_a_sampled_test_plays_the_actors_policy_and_a_greedy_one_its_mean(tmp_path, test_policy):
    # Continuous actions on a deterministic fake env: two greedy tests send the same actions (the mean), a
    # sampled test sends actions spread around them with the untrained policy's standard deviation. The
    # config's test_policy is what test() plays unless told; `policy` names what it played.
    cfg = tiny_config(tmp_path, initial_action_std=0.2, num_test_episodes=3, test_policy=test_policy)
    train_envs = [CountingEnv([5, 7, 9, 11], continuous=True) for _ in range(cfg.num_actors)]
    test_env = CountingEnv([30, 30, 30], continuous=True)
    trainer = DistributedTrainer(cfg, train_env=train_envs, test_env=test_env)
    try:
        played, policies = [], []
        for greedy in (True, True, False, None):
            test_env.actions_seen.clear()
            policies.append(trainer.test(greedy=greedy)["policy"])
            played.append(np.array(test_env.actions_seen))
    finally:
        trainer.close()
    first, second, sampled, default = played
    assert policies == ["greedy", "greedy", "sampled", test_policy]
    np.testing.assert_array_equal(first, second)
    inside = np.abs(first) < 0.3  # means far enough from the bounds that a sample is rarely clipped
    for noisy in (sampled, default) if test_policy == "sampled" else (sampled,):
        noise = (noisy - first)[inside]
        assert noise.size > 30 and 0.15 < np.std(noise) < 0.25, (noise.size, np.std(noise))
    if test_policy == "greedy":
        np.testing.assert_array_equal(default, first)
