"""The collapse alarm: one warning when the policy turned (nearly) deterministic before it learned anything.

A policy whose entropy falls to a small fraction of its starting value while the episode returns are still
where the first episodes left them can no longer explore, and its gradients vanish with its entropy: the run
will not recover (benchmarks/RESULTS.md, "Early collapse"). Said once per process, in the log and in the
metrics record (`collapse_warning`).
"""

from __future__ import annotations

from typing import Any

# Entropy below this fraction of its value at the first update counts as collapsed.
ENTROPY_FRACTION = 0.1
# Returns above the first episodes' mean by no more than this fraction of the larger magnitude of the two
# count as not improved. Relative, not absolute: MiniGrid's returns live in [0, 1], Atari's in thousands.
RETURN_MARGIN = 0.1

ADVICE = (
    "try value_network='separate' (mlp encoders), popart=True where returns are large, a lower lr, or a "
    "larger ent_coef"
)


def improved(start_return: float | None, returns: float | None) -> bool:
    """Whether `returns` are above `start_return` by more than RETURN_MARGIN of the larger magnitude of the two
    (False while either is unknown)."""
    if start_return is None or returns is None:
        return False
    return returns > start_return + RETURN_MARGIN * max(abs(start_return), abs(returns))


class CollapseAlarm:
    """Watches the metrics records of one training process.

    `first_update(entropy)` takes the entropy (nats per step) of the process's first update: the policy's
    starting value. `check(record, first_episodes_reward)` takes each metrics record (`step`, `entropy`,
    `episode_reward`) and returns the warning line the first time the policy's entropy is below
    `ENTROPY_FRACTION` of that start while `episode_reward` is not above the reference by more than the margin;
    then never again. The reference is taken at the first record with episodes, and that record is only the
    reference (a policy that turned deterministic by then has had no later episodes to show whether it
    learned): the mean return of the process's first episodes (`first_episodes_reward`, the policy it started
    with, where the run learned within its first log interval), else that record's. A policy starting at or
    below 0 nats (a narrow Gaussian) is not watched.
    """

    def __init__(self):
        self.start_entropy: float | None = None
        self.start_return: float | None = None
        self.fired = False

    def first_update(self, entropy: float) -> None:
        if self.start_entropy is None:
            self.start_entropy = entropy

    def check(self, record: dict[str, Any], first_episodes_reward: float | None = None) -> str | None:
        returns = record.get("episode_reward")
        if returns is not None and self.start_return is None:
            self.start_return = returns if first_episodes_reward is None else first_episodes_reward
            return None
        if self.fired or self.start_entropy is None or self.start_entropy <= 0 or returns is None:
            return None
        entropy = record["entropy"]
        if entropy >= ENTROPY_FRACTION * self.start_entropy or improved(self.start_return, returns):
            return None
        self.fired = True
        return (
            f"policy collapse: entropy fell from {self.start_entropy:.3f} to {entropy:.3f} nats per step "
            f"({100 * entropy / self.start_entropy:.1f}% of its start) by env step {record['step']:,} while the "
            f"episode return ({returns:.4g}) is still at its first episodes' level ({self.start_return:.4g}); "
            f"the policy stopped exploring before it learned: {ADVICE}"
        )
