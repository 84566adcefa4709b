"""Many hosts: joining a multi-process run through `jax.distributed` (with a clear timeout), and the values
and agreements every process of it shares."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

from hsuanwu_jax.parallel.failures import watch_peer_failures


def any_process(flag: bool) -> bool:
    """True on every process if `flag` is true on any: lets all processes stop at the same update."""
    if jax.process_count() == 1:
        return flag
    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag))))


def process_values(value: int) -> list[int]:
    """Every process's `value`, in process order (`[value]` in a single-process run)."""
    if jax.process_count() == 1:
        return [value]
    return [int(x) for x in multihost_utils.process_allgather(np.asarray(value, np.int64))]


def is_primary() -> bool:
    """Whether this process writes metrics, exports and logs (process 0)."""
    return jax.process_index() == 0


def initialize_distributed(
    *, coordinator_address: str, num_processes: int | None, process_id: int | None, timeout_seconds: int
) -> None:
    """Joins a multi-process run through `jax.distributed.initialize` (a no-op if already joined).

    Must run before anything else uses JAX devices. With an explicit coordinator, a process other
    than 0 first waits up to `timeout_seconds` for the coordinator's port to accept connections, so
    an unreachable coordinator is a clear TimeoutError rather than the runtime's abort.
    """
    if jax.distributed.is_initialized():
        return
    # CPU collectives between processes need gloo; GPU and TPU use their own and ignore this.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator_address and process_id not in (None, 0):
        _wait_for_coordinator(coordinator_address, timeout_seconds)
    print(
        f"joining the multi-host run: coordinator {coordinator_address or '(auto-detected)'}, process "
        f"{'auto' if process_id is None else process_id} of {num_processes or 'auto'}, timeout {timeout_seconds} s",
        flush=True,
    )
    joined = threading.Event()
    # JAX aborts the whole process (SIGABRT from C++) when its own timeout expires; ours comes first and
    # ends the process with a message that says what was waited for. JAX's is 5 s longer.
    threading.Thread(
        target=_exit_unless_joined,
        args=(joined, timeout_seconds, coordinator_address, num_processes, process_id),
        name="join-timeout",
        daemon=True,
    ).start()
    jax.distributed.initialize(
        coordinator_address=coordinator_address or None,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=timeout_seconds + 5,
    )
    joined.set()
    threading.Thread(target=watch_peer_failures, name="peer-failure-watch", daemon=True).start()


def _exit_unless_joined(joined, timeout_seconds, coordinator_address, num_processes, process_id) -> None:
    if joined.wait(timeout_seconds):
        return
    print(
        f"TimeoutError: the multi-host run did not form within distributed_timeout_seconds={timeout_seconds}: "
        f"process {'(auto)' if process_id is None else process_id} waited for {num_processes or 'all'} processes "
        f"at coordinator_address={coordinator_address or '(auto-detected)'!r}; start every process with the "
        "same coordinator_address and num_processes and its own process_id, or raise distributed_timeout_seconds",
        file=sys.stderr,
        flush=True,
    )
    os._exit(1)


def _wait_for_coordinator(address: str, timeout_seconds: int) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f'coordinator_address={address!r} is not of the form "host:port"')
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the coordinator at coordinator_address={address!r} did not answer within "
                    f"distributed_timeout_seconds={timeout_seconds} ({error}); is process 0 running?"
                ) from None
            time.sleep(0.5)
