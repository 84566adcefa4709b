"""The stall alarm: one warning line for each way a run can stop learning without its policy collapsing.

Beside the collapse alarm (collapse_alarm.py: the policy turned deterministic), and apart from the actors'
watchdog (acting/stall.py: an actor stuck in a call), three signs that the learner is not learning, each said
once per process, in the log and in the metrics record (`stall_warning`):
- no reward: every reward since the run started is 0, after NO_REWARD_FRACTION of its env steps (at least
  NO_REWARD_MIN_STEPS): nothing to learn from, and random play may never find one;
- gradients crushed: the gradient norm is over CLIP_FACTOR times `max_grad_norm` on STREAK log lines in a
  row, so the global clip shrinks every gradient, the policy's with the value's, by that factor
  (benchmarks/RESULTS.md, "Rewards that random play never sees");
- policy frozen: the policy moved by less than FROZEN_KL nats per step from the actors' on STREAK log lines
  in a row while it is still at least half as random as it started, before FROZEN_BEFORE of the run (where
  the learning rate has not yet decayed towards 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NO_REWARD_FRACTION = 0.1
NO_REWARD_MIN_STEPS = 100_000
CLIP_FACTOR = 1_000.0
FROZEN_KL = 1e-6
FROZEN_BEFORE = 0.9
STREAK = 3


class StallAlarm:
    """Watches one training process: `see_rewards(rewards)` takes each learned batch's rewards (any shape),
    `check(record)` each metrics record (`step`, `grad_norm`, `baseline_loss`, `policy_kl`, `entropy`) and
    returns the warning lines due at it (each sign once per process)."""

    def __init__(self, *, target_steps: int, max_grad_norm: float):
        self.target_steps, self.max_grad_norm = target_steps, max_grad_norm
        self.reward_seen = False
        self.start_entropy: float | None = None
        self.fired: set[str] = set()
        self._streaks: dict[str, list[int]] = {"crushed": [], "frozen": []}  # steps of the lines in a row

    def see_rewards(self, rewards) -> None:
        self.reward_seen = self.reward_seen or bool(np.any(np.asarray(rewards) != 0))

    def check(self, record: dict[str, Any]) -> list[str]:
        step = record["step"]
        if self.start_entropy is None:
            self.start_entropy = record["entropy"]
        crushed = record["grad_norm"] > CLIP_FACTOR * self.max_grad_norm
        frozen = (
            abs(record.get("policy_kl", np.inf)) < FROZEN_KL
            and self.start_entropy > 0
            and record["entropy"] >= 0.5 * self.start_entropy
            and step < FROZEN_BEFORE * self.target_steps
        )
        for name, now in (("crushed", crushed), ("frozen", frozen)):
            self._streaks[name] = [*self._streaks[name], step] if now else []
        warnings = []
        if not self.reward_seen and step >= max(NO_REWARD_MIN_STEPS, NO_REWARD_FRACTION * self.target_steps):
            warnings += self._once(
                "no_reward",
                f"no reward: every reward in the {step:,} env steps learned from so far was 0: there is nothing "
                "to learn from, and random play may never find a reward: try a denser reward, an easier task "
                "of the same family first, or a larger ent_coef",
            )
        if len(self._streaks["crushed"]) >= STREAK:
            factor = record["grad_norm"] / self.max_grad_norm
            warnings += self._once(
                "crushed",
                f"gradients crushed: grad_norm {record['grad_norm']:.3g} is {factor:,.0f} times max_grad_norm="
                f"{self.max_grad_norm:g} on every log line since env step {self._streaks['crushed'][0]:,}, "
                f"so the clip shrinks every gradient, the policy's too, by that factor (baseline_loss "
                f"{record['baseline_loss']:.3g}): try popart=True (with popart_std_floor > 0), a smaller "
                "baseline_coef or reward_scale",
            )
        if len(self._streaks["frozen"]) >= STREAK:
            warnings += self._once(
                "frozen",
                f"policy frozen: it moved {abs(record['policy_kl']):.2g} nats per step from the actors' policy "
                f"(entropy {record['entropy']:.4f}, {record['entropy'] / self.start_entropy:.0%} of its start) "
                f"on every log line since env step {self._streaks['frozen'][0]:,}: check grad_norm against "
                "max_grad_norm, and lr",
            )
        return warnings

    def _once(self, name: str, warning: str) -> list[str]:
        if name in self.fired:
            return []
        self.fired.add(name)
        return [warning]
