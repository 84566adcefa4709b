"""The actors' watchdog: how long each actor has been busy on one rollout, not counting the time in which
the process did not run, against the limit its rollouts so far set (`StallLimit`)."""

from __future__ import annotations

import time

from hsuanwu_jax.acting.stall import StallLimit

# Progress is checked about every second while the learner waits for rollouts: a longer gap between two checks
# means the process was stopped (SIGSTOP, a suspended VM) or the learner was busy (compiling, testing), and
# that time does not count against an actor's limit.
UNWATCHED_GAP_SECONDS = 5.0


class ActorWatch:
    """Raises when an actor has been busy on one rollout for longer than `limit` allows it (after its first
    rollout: a multiple of its slowest so far), leaving out the gaps in which nobody watched.

    A process paused with SIGSTOP for longer than the limit must not find every actor "stuck" when it
    resumes: the monotonic clock ran on while nothing did."""

    def __init__(self, limit: StallLimit):
        self._limit = limit
        self._last_check = time.monotonic()
        self._unwatched = 0.0  # seconds of gaps between checks, summed
        self._seen: dict[int, tuple[float, float]] = {}  # actor -> (busy_since, self._unwatched when seen)
        self.stuck: list[str] = []  # the actor `check` found over its limit

    def check(self, actors: list) -> None:
        """Raises a TimeoutError naming the first of `actors` (each with `name`, `busy_since`, `activity`
        and `slowest_rollout`, as `Actor` has them) that is over its limit, and the call it is in."""
        busy = self.busy_seconds([actor.busy_since for actor in actors])
        for actor, seconds in zip(actors, busy, strict=True):
            slowest = actor.slowest_rollout
            limit = self._limit.seconds(slowest)
            if seconds is not None and limit is not None and seconds > limit:
                self.stuck.append(actor.name)
                raise TimeoutError(
                    f"{actor.name} has made no progress for {seconds:.0f} s ({self._limit.explain(slowest)}): "
                    f"it is in {actor.activity}; is its env stuck?"
                )

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
