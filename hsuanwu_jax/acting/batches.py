"""Learner batches assembled from actor rollouts, and the stopwatch of the loop's stages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import jax
import numpy as np

from hsuanwu_jax.acting.pipeline import RolloutQueue, allocate_trajectory
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Trajectory, env_slice, map_envs


class BatchAssembler:
    """Copies `rollouts_per_batch` actor rollouts side by side along B into a new host batch.

    Each rollout's buffer goes back to its actor as soon as it is copied, so an actor can refill it
    while the batch is still being assembled. Every batch is freshly allocated: the device may alias
    it, so it is never reused.
    """

    def __init__(
        self, spec: EnvSpec, num_steps: int, num_envs: int, rollouts_per_batch: int, core_template: CoreState
    ):
        """Batches of `rollouts_per_batch` rollouts of `num_envs` envs each; `core_template` is the core
        state of a whole batch (its shapes and dtypes)."""
        batch_size = num_envs * rollouts_per_batch
        self._allocate = lambda: allocate_trajectory(spec, num_steps, batch_size, core_template)
        self._rollouts_per_batch, self._num_envs = rollouts_per_batch, num_envs

    def empty_batch(self) -> Trajectory:
        """A new batch of zeros (for compiling the update ahead of the first batch: uninitialised float64
        memory could hold values that overflow float32 on the way to the device, and numpy warns)."""
        return jax.tree.map(lambda x: np.zeros_like(x), self._allocate())

    def next(self, rollouts: RolloutQueue, check: Callable[[], None], stages: StageTimes):
        """`(batch, versions)`: the batch and the params version each of its rollouts acted with.
        `check()` (which may raise) runs before each rollout is taken and while waiting for one."""
        batch, versions = self._allocate(), []
        for index in range(self._rollouts_per_batch):
            with stages.time("queue_wait"):
                check()
                rollout = rollouts.get(check=check)
            started = time.perf_counter()
            envs = slice(index * self._num_envs, (index + 1) * self._num_envs)
            map_envs(
                lambda axis, dst, src, envs=envs: np.copyto(dst[env_slice(axis, envs)], src),
                batch,
                rollout.trajectory,
            )
            versions.append(rollout.params_version)
            rollout.release()
            stages.add("batch_copy", time.perf_counter() - started)
        return batch, versions


class StageTimes:
    """Seconds spent in named stages of a loop since the last drain (one thread's stopwatch)."""

    def __init__(self):
        self._seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def time(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def add(self, stage: str, seconds: float) -> None:
        self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds

    def drain(self) -> dict[str, float]:
        """`{"<stage>_seconds": total}` since the last drain, then starts again from zero."""
        seconds, self._seconds = self._seconds, {}
        return {f"{stage}_seconds": value for stage, value in seconds.items()}
