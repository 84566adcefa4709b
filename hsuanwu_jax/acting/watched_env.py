"""A batched env whose calls run on a thread of their own, so that a call that never returns fails its caller
after a limit (`StallLimit`) rather than blocking it: what `test()` and `record()` play on."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from hsuanwu_jax.acting.stall import StallLimit

# The caller waits in slices, each counting at most this many seconds: a process paused (SIGSTOP) in a call
# does not find it stuck when it resumes.
WAIT_SLICE_SECONDS = 0.5


class WatchedEnv:
    """`env` (batched) with `reset`, `step` and `render` run one at a time on a daemon thread, each waited
    for at most its limit: a reset, a render and the first step `limit.first_seconds`, every later step the
    limit that the slowest step so far sets (`StallLimit.seconds`). Other attributes are the env's.

    A call over its limit raises a TimeoutError naming `name` and the call. The env is then stuck (its
    thread may still be inside it): every later call raises at once, and `close()` leaves it to that
    thread to close once the call returns.
    """

    def __init__(self, env, limit: StallLimit, name: str):
        self.env, self._limit, self._name = env, limit, name
        self._slowest_step: float | None = None  # seconds
        self.stuck: str | None = None  # the call that did not return, once one did not
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None  # started by the first call

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # never delegated (nor looked up in an env not yet set)
            raise AttributeError(attribute)
        return getattr(self.env, attribute)

    def reset(self):
        return self._call("reset()", self.env.reset, ())[0]

    def step(self, action):
        result, seconds = self._call("step()", self.env.step, (action,), self._slowest_step)
        self._slowest_step = max(seconds, self._slowest_step or 0.0)
        return result

    def render(self):
        return self._call("render()", self.env.render, ())[0]

    def close(self) -> None:
        """Closes the env; one with a stuck call later, by the calls' thread, once that call returns (if
        ever), without waiting for it."""
        if self._thread is None:
            self.env.close()
            return
        self._calls.put(None)
        if self.stuck is None:
            self._thread.join()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            function, args, answer = call
            try:
                answer.put((True, function(*args)))
            except BaseException as error:
                answer.put((False, error))
        self.env.close()

    def _call(self, name: str, function: Callable, args: tuple, slowest: float | None = None):
        """`(function(*args), seconds it took)`, run on the calls' thread; raises what it raised, or a
        TimeoutError once it has run (while the process ran) for longer than the limit that the slowest
        call of its kind so far (`slowest` seconds; None: none) sets."""
        if self.stuck is not None:
            raise RuntimeError(
                f"{self._name} is stuck in {self.stuck} (a call that never returned): it cannot be used "
                "again; close() this trainer and build a new one"
            )
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=f"{self._name} calls", daemon=True)
            self._thread.start()
        answer: queue.SimpleQueue = queue.SimpleQueue()
        self._calls.put((function, args, answer))
        limit = self._limit.seconds(slowest)
        started, waited = time.monotonic(), 0.0
        while limit is None or waited < limit:
            before = time.monotonic()
            try:
                succeeded, value = answer.get(timeout=WAIT_SLICE_SECONDS)
            except queue.Empty:
                waited += min(time.monotonic() - before, WAIT_SLICE_SECONDS)
                continue
            if not succeeded:
                raise value
            return value, time.monotonic() - started
        self.stuck = name
        raise TimeoutError(
            f"{self._name}'s {name} has not returned after {waited:.0f} s ({self._limit.explain(slowest)}): "
            "is the env stuck? It is left as it is and cannot be used again"
        )
