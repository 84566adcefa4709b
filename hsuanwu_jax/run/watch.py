"""The actors' watchdog: how long each actor has been busy on one rollout, not counting the time in which
the process did not run."""

from __future__ import annotations

import time

# Progress is checked about every second while the learner waits for rollouts: a longer gap between two checks
# means the process was stopped (SIGSTOP, a suspended VM) or the learner was busy (compiling, testing), and
# that time does not count against an actor's actor_timeout_seconds.
UNWATCHED_GAP_SECONDS = 5.0


class ActorWatch:
    """Seconds each actor has been busy on its current rollout, leaving out the gaps in which nobody watched.

    A process paused with SIGSTOP for longer than actor_timeout_seconds must not find every actor "stuck"
    when it resumes: the monotonic clock ran on while nothing did."""

    def __init__(self):
        self._last_check = time.monotonic()
        self._unwatched = 0.0  # seconds of gaps between checks, summed
        self._seen: dict[int, tuple[float, float]] = {}  # actor -> (busy_since, self._unwatched when seen)

    def busy_seconds(self, busy_since: list[float | None]) -> list[float | None]:
        """For each actor's `busy_since` (monotonic seconds, None when idle): its watched busy seconds."""
        now = time.monotonic()
        for index, since in enumerate(busy_since):
            if since is not None and self._seen.get(index, (None,))[0] != since:
                self._seen[index] = (since, self._unwatched)
        if now - self._last_check > UNWATCHED_GAP_SECONDS:
            self._unwatched += now - self._last_check
        self._last_check = now
        return [
            None if since is None else now - since - (self._unwatched - self._seen[index][1])
            for index, since in enumerate(busy_since)
        ]
