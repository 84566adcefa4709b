"""Failure watch of a multi-host run: a process that fails tells the others, which end at once rather than
wait in a collective that will never complete."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import jax

_FAILURE_KEY = "hsuanwu_jax/failure"


def _distributed_client():
    """The jax.distributed key-value client (None in a single-process run). JAX exposes it only through
    its private `_src.distributed` module, as its own multihost_utils reads it."""
    from jax._src import distributed

    return distributed.global_state.client


def report_failure(error: BaseException) -> None:
    """Tells the other processes of a multi-host run that this one failed with `error` (see
    `watch_peer_failures`); a no-op in a single-process run."""
    client = _distributed_client()
    if client is None:
        return
    # Setting a key twice fails: then another process reported first, and its error is the one that counts.
    with contextlib.suppress(Exception):
        client.key_value_set(_FAILURE_KEY, f"process {jax.process_index()}: {type(error).__name__}: {error}")


def watch_peer_failures(poll_seconds: float = 0.5) -> None:
    """Runs in a daemon thread of every process of a multi-host run: when another process reports a
    failure, prints its error and ends this process with status 1. Its main thread may be blocked in a
    collective that will never complete, where nothing else could stop it before the runtime's
    heartbeat timeout (minutes)."""
    client = _distributed_client()
    while client is not None:
        try:
            failure = client.key_value_try_get(_FAILURE_KEY)
        except Exception:  # not set (NOT_FOUND) or the service is gone: look again
            failure = None
        if failure and not failure.startswith(f"process {jax.process_index()}:"):
            print(
                f"stopping: another process of this multi-host run failed: {failure}",
                file=sys.stderr,
                flush=True,
            )
            os._exit(1)
        time.sleep(poll_seconds)
