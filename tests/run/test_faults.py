"""Faults and hostile input: corrupted checkpoints are replaced, nothing non-finite is saved, metrics
never garble, bad env arguments and bad envs get clear errors before any thread starts, stuck envs and
endless test episodes cannot hang the trainer, exports are never missing."""

import threading
import time

import gymnasium
import jax
import pytest
from fakes import BlockingEnv, CountingEnv, ReshapingEnv, SwitchingResolution
from helpers import actor_threads, fake_envs, gym_cartpoles, tiny_config, trainer_for

import hsuanwu_jax.envs.splitting as envs_module
from hsuanwu_jax import DistributedTrainer, validate
from hsuanwu_jax.acting.evaluation import EvaluationStopped, evaluate
from hsuanwu_jax.envs.config_checks import check_env_kwargs
from hsuanwu_jax.envs.interface import ObservationMismatch


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


class WrongShapeEnv(CountingEnv):
    def _obs(self):
        return super()._obs()[:, :2]  # declares (3,), returns (2,)


class OldGymEnv(CountingEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated | truncated, info


@pytest.mark.parametrize(
    "make_envs, error, message",
    [
        (
            lambda: [WrongShapeEnv([5, 7, 9, 11])] * 2,
            ValueError,
            r"actor-0's env\.reset\(\) returned observations of shape \(4, 2\) and dtype float32, but the "
            r"env's observation space declares \(3,\) float32 for each of its 4 envs",
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


def cartpoles_switching_resolution(switch_at):
    """A gymnasium vector env of 4 CartPoles, the first of which doubles its observations at `switch_at`."""
    makers = [lambda: SwitchingResolution(gymnasium.make("CartPole-v1"), switch_at)]
    return gymnasium.vector.SyncVectorEnv(makers + [lambda: gymnasium.make("CartPole-v1")] * 3)


CHANGE_AT = 150  # env.step() calls: well after the learner's first updates, so its compiling is done


@pytest.mark.parametrize(
    "make_changing_env, message",
    [
        (
            lambda: ReshapingEnv([5, 7, 9, 11], change_at=CHANGE_AT, change="shape"),
            rf"^actor-1's env\.step\(\) call {CHANGE_AT} returned observations of shape \(4, 2\) and dtype "
            r"float32, but the env's observation space declares \(3,\) float32 for each of its 4 envs",
        ),
        (
            lambda: ReshapingEnv([5, 7, 9, 11], change_at=CHANGE_AT, change="dtype"),
            rf"^actor-1's env\.step\(\) call {CHANGE_AT} returned observations of shape \(4, 3\) and dtype "
            r"float64, but the env's observation space declares \(3,\) float32",
        ),
        (
            lambda: cartpoles_switching_resolution(CHANGE_AT),
            rf"^actor-1's env\.step\(\) call {CHANGE_AT}: env 0 of the gymnasium vector env returned an "
            r"observation of shape \(8,\) and dtype float32, but its observation space declares \(4,\) "
            r"float32: .* \(gymnasium: .+\)",
        ),
    ],
)
def test_observations_that_change_shape_or_dtype_mid_run_are_named_within_a_second(
    tmp_path, make_changing_env, message
):
    cfg = tiny_config(tmp_path, num_train_steps=10**6, actor_mode="python")
    changing = make_changing_env()
    if isinstance(changing, CountingEnv):
        trainer = trainer_for(cfg, envs=[CountingEnv([5, 7, 9, 11]), changing])
    else:
        trainer = trainer_for(cfg, envs=[gym_cartpoles(4), changing], test_env=gym_cartpoles(1))
    with pytest.raises(ObservationMismatch, match=message):
        trainer.train()
    changed_at = getattr(changing, "changed_at", None) or getattr(changing.envs[0], "switched_at", None)
    print(f"train() failed {time.monotonic() - changed_at:.3f} s after the change")
    assert time.monotonic() - changed_at < 1
    assert not actor_threads()


def test_a_test_env_whose_observations_change_shape_is_named(tmp_path):
    test_env = ReshapingEnv([3], change_at=10, change="shape")
    trainer = trainer_for(tiny_config(tmp_path), test_env=test_env)
    with pytest.raises(
        ObservationMismatch,
        match=r"^the test env's step\(\) call 10 of this test returned observations of shape \(1, 2\) and "
        r"dtype float32, but the env's observation space declares \(3,\) float32 for each of its 1 envs",
    ):
        trainer.test()


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
