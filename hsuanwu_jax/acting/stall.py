"""When a call that should come back (an actor's rollout, a test env's step) counts as stuck: a long allowance
until there is something to compare with, then a multiple of the slowest such call seen so far."""

from __future__ import annotations

import dataclasses

from hsuanwu_jax.config.settings import Settings


@dataclasses.dataclass(frozen=True)
class StallLimit:
    """How many seconds a call may take before it counts as stuck.

    Until a call of its kind has finished normally (an actor's first rollout compiles its programs), the
    limit is `first_seconds`; then it is `factor` times the slowest one seen so far, but at least
    `floor_seconds` and at most `first_seconds`. `first_seconds` 0: no limit at all; `factor` 0: always
    `first_seconds`.
    """

    first_seconds: float  # actor_timeout_seconds
    factor: float  # stall_factor
    floor_seconds: float  # stall_floor_seconds

    @classmethod
    def of(cls, settings: Settings) -> StallLimit:
        """The limit a run's settings set (`actor_timeout_seconds`, `stall_factor`, `stall_floor_seconds`)."""
        return cls(settings.actor_timeout_seconds, settings.stall_factor, settings.stall_floor_seconds)

    def seconds(self, slowest: float | None) -> float | None:
        """The limit in seconds (None: none) for a call when the slowest one of its kind so far took
        `slowest` seconds (None: none has finished yet)."""
        if not self.first_seconds:
            return None
        if slowest is None or not self.factor:
            return self.first_seconds
        return min(self.first_seconds, max(self.floor_seconds, self.factor * slowest))

    def explain(self, slowest: float | None) -> str:
        """Which fields set the limit for `slowest` (as `seconds` takes it), for an error message."""
        limit = self.seconds(slowest)
        if slowest is None or not self.factor or limit == self.first_seconds:
            return f"actor_timeout_seconds={self.first_seconds:g}"
        return (
            f"limit {limit:.1f} s: stall_factor={self.factor:g} x the slowest so far, {slowest:.3g} s, "
            f"and at least stall_floor_seconds={self.floor_seconds:g}"
        )
