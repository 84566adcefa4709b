"""Actor <-> learner plumbing: rollout buffers, a bounded rollout queue and the newest-params slot (batches
are assembled from the queue in batches.py; the threads run in workers.py).

Every blocking call here waits in short slices and gives up when the shared stop event is set,
so no thread can hang once the trainer decides to stop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState, Trajectory

POLL_SECONDS = 0.1


class Stopped(Exception):
    """Raised inside a worker when the stop event ends a wait."""


def allocate_trajectory(
    spec: EnvSpec, num_steps: int, num_envs: int, core_state: CoreState, task: int = 0
) -> Trajectory:
    """A host buffer for one rollout, `[num_steps + 1, num_envs, ...]`: uninitialised but for its `task`."""
    shape = (num_steps + 1, num_envs)
    return Trajectory(
        obs=np.empty(shape + spec.obs_shape, spec.obs_dtype),
        first=np.empty(shape, bool),
        prev_action=np.empty(shape + spec.action_shape, spec.action_dtype),
        reward=np.empty(shape, np.float32),
        done=np.empty(shape, bool),
        terminated=np.empty(shape, bool),
        action=np.empty(shape + spec.action_shape, spec.action_dtype),
        behaviour_log_prob=np.empty(shape, np.float32),
        task=np.full(shape, task, np.int32),
        initial_core_state=jax.tree.map(lambda x: np.empty(x.shape, x.dtype), core_state),
    )


class Rollout(NamedTuple):
    """A filled trajectory buffer on its way to the learner."""

    trajectory: Any  # Trajectory of host (NumPy) arrays [T+1, B_actor, ...]
    params_version: int  # the learner update whose params acted in this rollout
    release: Callable[[], None]  # gives the buffer back to its actor once copied


class RolloutQueue:
    """A bounded FIFO of rollouts. Its size bounds how far actors run ahead of the learner
    (and so the policy lag): with size 1 an actor waits while one finished rollout is pending."""

    def __init__(self, maxsize: int, stop: threading.Event):
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = stop

    def put(self, rollout: Rollout) -> None:
        while True:
            try:
                self._queue.put(rollout, timeout=POLL_SECONDS)
                return
            except queue.Full:
                if self._stop.is_set():
                    raise Stopped from None

    def get(self, check: Callable[[], None]) -> Rollout:
        """Waits for a rollout, calling `check()` (which may raise) between short waits."""
        while True:
            try:
                return self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                check()
                if self._stop.is_set():
                    raise Stopped from None

    def drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait().release()
            except queue.Empty:
                return


class ParamsSource:
    """Holds the newest published params and their version; reading never blocks on the learner."""

    def __init__(self, params, version: int = 0):
        self._lock = threading.Lock()
        self._params, self._version = params, version

    def publish(self, params, version: int) -> None:
        with self._lock:
            self._params, self._version = params, version

    def latest(self) -> tuple[Any, int]:
        with self._lock:
            return self._params, self._version


class BufferPool:
    """A fixed set of preallocated buffers handed out and given back by index."""

    def __init__(self, buffers: list, stop: threading.Event):
        self.buffers = buffers
        self._free: queue.Queue = queue.Queue()
        for index in range(len(buffers)):
            self._free.put(index)
        self._stop = stop

    def acquire(self) -> int:
        while True:
            try:
                return self._free.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    raise Stopped from None

    def release(self, index: int) -> None:
        self._free.put(index)
