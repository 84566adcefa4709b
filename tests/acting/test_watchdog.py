"""The stuck-call watchdog: the limit a call's kind sets from its slowest so far (`StallLimit`), the actors'
watch (`ActorWatch`), a stuck env named within a minute with the default settings, and a stuck test env."""

import threading
import time
import types

import pytest
from fakes import BlockingEnv, CountingEnv
from helpers import actor_threads, tiny_config, trainer_for

import hsuanwu_jax.run.watch as watch_module
from hsuanwu_jax import default_config, validate
from hsuanwu_jax.acting.stall import StallLimit
from hsuanwu_jax.run.watch import ActorWatch

DEFAULTS = default_config()


def test_the_limit_is_the_long_allowance_until_a_call_finished_then_a_multiple_with_a_floor_and_a_cap():
    limit = StallLimit(first_seconds=600, factor=10, floor_seconds=30)
    assert limit.seconds(None) == 600  # nothing to compare with yet (the first rollout compiles)
    assert limit.seconds(0.5) == 30  # 10 x 0.5 s is under the floor
    assert limit.seconds(7.0) == 70
    assert limit.seconds(120.0) == 600  # never over the long allowance
    assert StallLimit(600, 0, 30).seconds(0.5) == 600  # stall_factor 0: the allowance only
    assert StallLimit(0, 10, 30).seconds(0.5) is None  # actor_timeout_seconds 0: no limit at all
    assert "stall_factor=10 x the slowest so far, 7 s" in limit.explain(7.0)
    assert limit.explain(None) == limit.explain(120.0) == "actor_timeout_seconds=600"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fake_actor(busy_since, slowest):
    return types.SimpleNamespace(
        name="actor-3", busy_since=busy_since, activity="env.step()", slowest_rollout=slowest
    )


def watch_seconds(monkeypatch, actor, seconds, step=1.0):
    """Checks `actor` every `step` seconds of a fake clock for `seconds`; the first error raised, or None."""
    clock = FakeClock()
    monkeypatch.setattr(watch_module.time, "monotonic", clock)
    actor.busy_since = clock.now
    watch = ActorWatch(StallLimit(600, 10, 30))
    while clock.now < actor.busy_since + seconds:
        clock.now += step
        try:
            watch.check([actor])
        except TimeoutError as error:
            return error
    return None


def test_the_watch_names_an_actor_over_its_limit_and_the_call_it_is_in(monkeypatch):
    error = watch_seconds(monkeypatch, fake_actor(None, slowest=0.5), 40)
    assert error is not None
    assert str(error).startswith(
        "actor-3 has made no progress for 31 s (limit 30.0 s: stall_factor=10 x the slowest so far, 0.5 s"
    )
    assert str(error).endswith("it is in env.step(); is its env stuck?")
    # Before its second rollout ended, an actor has the long allowance (its first compiles).
    assert watch_seconds(monkeypatch, fake_actor(None, slowest=None), 500) is None
    # Gaps between checks (a paused process, a busy learner) do not count.
    assert watch_seconds(monkeypatch, fake_actor(None, slowest=0.5), 200, step=10.0) is None


def test_an_actors_limit_comes_from_its_rollouts_after_the_first(tmp_path):
    class SlowFirstSteps(CountingEnv):
        def step(self, action):
            if self.steps < 2:  # the first rollout's first steps, as compiling would be
                time.sleep(0.5)
            return super().step(action)

    cfg = tiny_config(tmp_path, actor_mode="python")
    trainer = trainer_for(cfg, envs=[SlowFirstSteps([5, 7, 9, 11]), CountingEnv([5, 7, 9, 11])])
    actor = trainer.actors[0]
    trainer.act(0)
    assert actor.slowest_rollout is None
    for _ in range(3):
        trainer.act(0)
    assert 0 < actor.slowest_rollout < 0.5


def test_an_env_that_blocks_after_some_rollouts_fails_train_within_a_minute_with_the_defaults(tmp_path):
    release = threading.Event()
    cfg = tiny_config(tmp_path, num_train_steps=10**6, actor_mode="python")  # the watchdog's defaults
    # 5 steps a rollout: the 16th step() blocks, in actor-1's 4th rollout.
    blocking = BlockingEnv([5, 7, 9, 11], block_after=15, release=release)
    trainer = trainer_for(cfg, envs=[CountingEnv([5, 7, 9, 11]), blocking])
    try:
        with pytest.raises(TimeoutError) as info:
            trainer.train()
        seconds = time.monotonic() - blocking.blocked_at
        print(f"train() failed {seconds:.1f} s after the env blocked: {info.value}")
        message = str(info.value)
        assert message.startswith("actor-1 has made no progress for ")
        assert f"stall_floor_seconds={DEFAULTS.stall_floor_seconds:g}" in message
        assert message.endswith("it is in env.step(); is its env stuck?")
        assert DEFAULTS.stall_floor_seconds - 1 < seconds < 60
    finally:
        release.set()
    trainer.close()
    deadline = time.monotonic() + 10
    while actor_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not actor_threads()


def test_a_test_env_step_far_slower_than_the_others_ends_test_with_an_error(tmp_path):
    release = threading.Event()
    test_env = BlockingEnv([3], block_after=40, release=release)
    trainer = trainer_for(
        tiny_config(tmp_path, stall_floor_seconds=1, num_test_episodes=50), test_env=test_env
    )
    try:
        with pytest.raises(TimeoutError) as info:
            trainer.test()
        seconds = time.monotonic() - test_env.blocked_at
        assert str(info.value).startswith(
            "the test env's step() has not returned after 1 s (limit 1.0 s: stall_factor=10 x the slowest so far"
        )
        assert "raised in the test env's step() call 41 of this test" in info.value.__notes__
        assert seconds < 5
        with pytest.raises(RuntimeError, match=r"the test env is stuck in step\(\)"):
            trainer.test()
        trainer.close()
        assert not test_env.closed  # its call is still in it
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while not test_env.closed and time.monotonic() < deadline:  # closed once the stuck call returned
        time.sleep(0.05)
    assert test_env.closed
    assert not [t for t in threading.enumerate() if t.name == "the test env calls"]


def test_the_watchdog_fields_refuse_bad_values():
    with pytest.raises(ValueError, match=r"stall_factor=0.5 is invalid: expected a finite number >= 1, or 0"):
        validate({"stall_factor": 0.5})
    with pytest.raises(ValueError, match=r"stall_floor_seconds=-1 is invalid: expected a finite number >= 0"):
        validate({"stall_floor_seconds": -1})
    assert validate({"stall_factor": 0}).stall_factor == 0
