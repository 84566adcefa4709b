"""Fake batched envs with EnvPool's interface and auto-reset semantics, for fast deterministic tests."""

import time

import gymnasium
import numpy as np


class CountingEnv:
    """B envs; env i's episodes last `lengths[i]` steps and terminate (or truncate if `truncate`).

    obs = [env index, step within episode, episode count]; reward after step k of an episode is
    k + 1. As EnvPool does, the step after an episode ends ignores its action and returns the new
    episode's first observation with reward 0.
    """

    def __init__(self, lengths, truncate=False, fail_after=None, nan_after=None, continuous=False):
        self.lengths = np.asarray(lengths)
        self.num_envs = len(lengths)
        self.config = {"num_envs": self.num_envs}
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = (
            gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32) if continuous else gymnasium.spaces.Discrete(2)
        )
        self.truncate = truncate
        self.fail_after = fail_after
        self.nan_after = nan_after
        self.actions_seen = []
        self.steps = 0
        self.closed = False

    def _obs(self):
        return np.stack([np.arange(self.num_envs), self.t, self.episode], axis=1).astype(np.float32)

    def reset(self):
        self.t = np.zeros(self.num_envs, np.int64)
        self.episode = np.zeros(self.num_envs, np.int64)
        self.pending_reset = np.zeros(self.num_envs, bool)
        return self._obs(), {"env_id": np.arange(self.num_envs)}

    def step(self, action):
        self.steps += 1
        if self.fail_after is not None and self.steps > self.fail_after:
            raise RuntimeError("fake env failure")
        self.actions_seen.append(np.array(action))
        reward = np.where(self.pending_reset, 0.0, self.t + 1.0).astype(np.float32)
        if self.nan_after is not None and self.steps > self.nan_after:
            reward[:] = np.nan
        self.episode = np.where(self.pending_reset, self.episode + 1, self.episode)
        self.t = np.where(self.pending_reset, 0, self.t + 1)
        ended = (self.t >= self.lengths) & ~self.pending_reset
        self.pending_reset = ended
        terminated = ended & (not self.truncate)
        truncated = ended & self.truncate
        return self._obs(), reward, terminated, truncated, {"env_id": np.arange(self.num_envs)}

    def close(self):
        self.closed = True


class BlockingEnv(CountingEnv):
    """A `CountingEnv` whose step() calls after the first `block_after` wait for `release` (a
    threading.Event); `blocked_at` is the monotonic time the first of them began waiting."""

    def __init__(self, *args, block_after, release, **kwargs):
        super().__init__(*args, **kwargs)
        self.block_after, self.release = block_after, release
        self.blocked_at = None

    def step(self, action):
        if self.steps >= self.block_after:
            self.blocked_at = self.blocked_at or time.monotonic()
            self.release.wait()
        return super().step(action)


class ReshapingEnv(CountingEnv):
    """A `CountingEnv` whose observations from step() call `change_at` on have another shape (`change`
    "shape": 2 values per env where 3 are declared) or dtype ("dtype": float64 where float32 is declared);
    `changed_at` is the monotonic time it first returned one."""

    def __init__(self, *args, change_at, change, **kwargs):
        super().__init__(*args, **kwargs)
        self.change_at, self.change = change_at, change
        self.changed_at = None

    def _obs(self):
        obs = super()._obs()
        if self.steps < self.change_at:
            return obs
        self.changed_at = self.changed_at or time.monotonic()
        return obs[:, :2] if self.change == "shape" else obs.astype(np.float64)


class SwitchingResolution(gymnasium.ObservationWrapper):
    """A single gymnasium env whose observations double in length from its call `switch_at` on (its
    step() and reset() calls after the first reset, counted together: a vector env's step resets an env
    whose episode ended), its declared space unchanged, as a wrapper that switches resolution mid-run
    would; `switched_at` is the monotonic time it first returned one."""

    def __init__(self, env, switch_at):
        super().__init__(env)
        self.switch_at, self.calls, self.switched_at = switch_at, -1, None

    def reset(self, **kwargs):
        self.calls += 1
        return super().reset(**kwargs)

    def step(self, action):
        self.calls += 1
        return super().step(action)

    def observation(self, observation):
        if self.calls < self.switch_at:
            return observation
        self.switched_at = self.switched_at or time.monotonic()
        return np.concatenate([observation, observation])


class LateRewardEnv:
    """B envs of episodes `length` steps long; each env's observation is a fixed random vector of its own
    (obs `[B, 4]`), and action 1 is rewarded 1 (action 0: 0), but only once the env has stepped
    `reward_from` times: before that every reward is 0, as for a task whose reward random play does not
    reach at first. Random play's return is then length / 2 per episode; always choosing 1 scores length."""

    def __init__(self, num_envs, length=10, reward_from=0, seed=0):
        self.num_envs, self.length, self.reward_from = num_envs, length, reward_from
        self.config = {"num_envs": num_envs}
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.obs = np.random.default_rng(seed).normal(size=(num_envs, 4)).astype(np.float32)
        self.steps = 0

    def reset(self):
        self.t = np.zeros(self.num_envs, np.int64)
        self.pending_reset = np.zeros(self.num_envs, bool)
        return self.obs.copy(), {}

    def step(self, action):
        self.steps += 1
        paid = self.steps > self.reward_from and ~self.pending_reset
        reward = np.where(paid, np.asarray(action) == 1, 0.0).astype(np.float32)
        self.t = np.where(self.pending_reset, 0, self.t + 1)
        ended = (self.t >= self.length) & ~self.pending_reset
        self.pending_reset = ended
        return self.obs.copy(), reward, ended, np.zeros_like(ended), {}

    def close(self):
        pass
