"""Worker threads that share one stop event, and stop requests by signal (SIGTERM, Ctrl-C)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Collection
from typing import Any

from hsuanwu_jax.acting.pipeline import Stopped


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

    def join(self, timeout: float, stuck: Collection[str] = ()) -> list[str]:
        """Sets the stop event and joins; returns the names of threads still alive after `timeout`. Threads
        named in `stuck` (known not to return soon) are not waited for."""
        self.stop.set()
        for thread in self._threads:
            thread.join(0 if thread.name in stuck else timeout)
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
