"""The stall alarm: one warning line for each way a run can stop learning without its policy collapsing.

Beside the collapse alarm (collapse_alarm.py: the policy turned deterministic), and apart from the actors'
watchdog (acting/stall.py: an actor stuck in a call), four signs that the learner is not learning, each said
once per process, in the log and in the metrics record (`stall_warning`):
- no reward: every reward since the run started is 0, after NO_REWARD_FRACTION of its env steps (at least
  NO_REWARD_MIN_STEPS): nothing to learn from, and random play may never find one;
- gradients crushed: the gradient norm is over CLIP_FACTOR times `max_grad_norm` on STREAK log lines in a
  row while the episode return is still at the first episodes' level (collapse_alarm.py's `improved`), so the
  global clip shrinks every gradient, the policy's with the value's, by that factor (benchmarks/RESULTS.md,
  "Rewards that random play never sees"); a run that has learned is not warned of (CartPole-v1 at 500, whose
  constant returns leave PopArt's std at its floor and its gradients over the clip, plays on at 500);
- policy frozen: the policy moved by less than FROZEN_KL nats per step from the actors' on STREAK log lines
  in a row while it is still at least half as random as it started, before FROZEN_BEFORE of the run (where
  the learning rate has not yet decayed towards 0);
- still uniform: a discrete policy's entropy is at least UNIFORM_FRACTION of the most it can have (ln of the
  number of actions) on STREAK log lines in a row, all after the no-reward sign's point, although rewards were
  seen: the policy moves, but what it learns does not change how it acts (benchmarks/RESULTS.md, "The Procgen
  preset over four games": Bigfish at 2.70 of 2.71 nats for 2M env steps, which the frozen sign's KL missed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hsuanwu_jax.run.collapse_alarm import improved

NO_REWARD_FRACTION = 0.1
NO_REWARD_MIN_STEPS = 100_000
CLIP_FACTOR = 1_000.0
FROZEN_KL = 1e-6
FROZEN_BEFORE = 0.9
UNIFORM_FRACTION = 0.99
STREAK = 3


class StallAlarm:
    """Watches one training process: `see_rewards(rewards)` takes each learned batch's rewards (any shape),
    `check(record, first_episodes_reward)` each metrics record (`step`, `grad_norm`, `baseline_loss`,
    `policy_kl`, `entropy`, `episode_reward`) with the mean return of the process's first episodes, and returns
    the warning lines due at it (each sign once per process). `max_entropy`: the uniform policy's
    entropy in nats per step (`EnvSpec.max_entropy`; None for continuous actions, which have no such sign)."""

    def __init__(self, *, target_steps: int, max_grad_norm: float, max_entropy: float | None = None):
        self.target_steps, self.max_grad_norm = target_steps, max_grad_norm
        self.max_entropy = max_entropy
        self.reward_seen = False
        self.start_entropy: float | None = None
        self.fired: set[str] = set()
        # The steps of the log lines in a row that showed each sign.
        self._streaks: dict[str, list[int]] = {"crushed": [], "frozen": [], "uniform": []}

    def see_rewards(self, rewards) -> None:
        self.reward_seen = self.reward_seen or bool(np.any(np.asarray(rewards) != 0))

    def check(self, record: dict[str, Any], first_episodes_reward: float | None = None) -> list[str]:
        step = record["step"]
        if self.start_entropy is None:
            self.start_entropy = record["entropy"]
        learned = improved(first_episodes_reward, record.get("episode_reward"))
        crushed = record["grad_norm"] > CLIP_FACTOR * self.max_grad_norm and not learned
        frozen = (
            abs(record.get("policy_kl", np.inf)) < FROZEN_KL
            and self.start_entropy > 0
            and record["entropy"] >= 0.5 * self.start_entropy
            and step < FROZEN_BEFORE * self.target_steps
        )
        past_start = step >= max(NO_REWARD_MIN_STEPS, NO_REWARD_FRACTION * self.target_steps)
        uniform = (
            self.max_entropy is not None
            and self.max_entropy > 0
            and self.reward_seen
            and past_start
            and record["entropy"] >= UNIFORM_FRACTION * self.max_entropy
        )
        for name, now in (("crushed", crushed), ("frozen", frozen), ("uniform", uniform)):
            self._streaks[name] = [*self._streaks[name], step] if now else []
        due = ["no_reward"] if not self.reward_seen and past_start else []
        due += [name for name, streak in self._streaks.items() if len(streak) >= STREAK]
        warnings = []
        messages = {
            "no_reward": self._no_reward_warning,
            "crushed": self._crushed_warning,
            "frozen": self._frozen_warning,
            "uniform": self._uniform_warning,
        }
        for name in due:
            if name not in self.fired:
                self.fired.add(name)
                warnings.append(messages[name](record))
        return warnings

    def _no_reward_warning(self, record: dict[str, Any]) -> str:
        return (
            f"no reward: every reward in the {record['step']:,} env steps learned from so far was 0: there is "
            "nothing to learn from, and random play may never find a reward: try a denser reward, an easier "
            "task of the same family first, a larger ent_coef, or for Box actions a wider initial_action_std "
            "(FingerSpin-v1 with impala_mujoco: 0.5 found a reward in 1 of 3 seeds in 3M env steps, 1.0 in all "
            "3 within 100k)"
        )

    def _crushed_warning(self, record: dict[str, Any]) -> str:
        factor = record["grad_norm"] / self.max_grad_norm
        return (
            f"gradients crushed: grad_norm {record['grad_norm']:.3g} is {factor:,.0f} times max_grad_norm="
            f"{self.max_grad_norm:g} on every log line since env step {self._streaks['crushed'][0]:,}, "
            f"so the clip shrinks every gradient, the policy's too, by that factor (baseline_loss "
            f"{record['baseline_loss']:.3g}): try popart=True (with popart_std_floor > 0), a smaller "
            "baseline_coef or reward_scale"
        )

    def _frozen_warning(self, record: dict[str, Any]) -> str:
        return (
            f"policy frozen: it moved {abs(record['policy_kl']):.2g} nats per step from the actors' policy "
            f"(entropy {record['entropy']:.4f}, {record['entropy'] / self.start_entropy:.0%} of its start) "
            f"on every log line since env step {self._streaks['frozen'][0]:,}: check grad_norm against "
            "max_grad_norm, and lr"
        )

    def _uniform_warning(self, record: dict[str, Any]) -> str:
        return (
            f"policy still uniform: entropy {record['entropy']:.3f} nats per step, "
            f"{record['entropy'] / self.max_entropy:.1%} of the uniform policy's {self.max_entropy:.3f}, "
            f"on every log line since env step {self._streaks['uniform'][0]:,}, although rewards were seen: "
            "what it learns does not yet change how it acts: try a smaller ent_coef, more envs per update "
            "or more env steps, or an easier task of the same family first"
        )
