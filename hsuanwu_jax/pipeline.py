"""Actor <-> learner plumbing: rollout buffers, a bounded rollout queue, batches assembled from it, the
newest-params slot and worker threads.

Every blocking call here waits in short slices and gives up when the shared stop event is set,
so no thread can hang once the trainer decides to stop.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from hsuanwu_jax.envs import EnvSpec
from hsuanwu_jax.metrics import StageTimes
from hsuanwu_jax.types import CoreState, Trajectory, env_slice, map_envs

POLL_SECONDS = 0.1


class Stopped(Exception):
    """Raised inside a worker when the stop event ends a wait."""


def allocate_trajectory(spec: EnvSpec, num_steps: int, num_envs: int, core_state: CoreState) -> Trajectory:
    """An uninitialised host buffer for one rollout, `[num_steps + 1, num_envs, ...]`."""
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
        """A new batch, its values uninitialised (for compiling the update ahead of the first batch)."""
        return self._allocate()

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


class WorkerGroup:
    """Threads that share one stop event; the first exception in any of them is kept and stops all."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def start(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._run, args=(target,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        except Stopped:
            pass
        except BaseException as error:
            with self._lock:
                if self._error is None:
                    error.add_note(f"raised in thread {threading.current_thread().name}")
                    self._error = error
            self.stop.set()

    def raise_if_failed(self) -> None:
        """Re-raises, in the calling thread, the first exception a worker raised."""
        if self._error is not None:
            raise self._error

    def join(self, timeout: float) -> list[str]:
        """Sets the stop event and joins; returns the names of threads still alive after `timeout`."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        self._threads = [t for t in self._threads if t.is_alive()]
        return alive


class StopRequests:
    """While active, SIGTERM and a first Ctrl-C (SIGINT) ask training to stop at a safe point
    instead of killing it mid-update; a second Ctrl-C interrupts as usual.

    Signal handlers can only be set from the main thread; elsewhere this does nothing and the
    request flag stays false. Use as `with StopRequests() as requested: ... requested() ...`.
    """

    def __init__(self):
        self._requested = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Callable[[], bool]:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self._requested.is_set

    def _handle(self, signum, frame) -> None:
        if signum == signal.SIGINT and self._requested.is_set():
            raise KeyboardInterrupt
        print(f"\nreceived {signal.Signals(signum).name}: stopping after this update", flush=True)
        self._requested.set()

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
