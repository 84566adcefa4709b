"""What "auto" means for a run's actor layout: `num_actors` actor threads of `env_threads` EnvPool threads
each, from the host's cores, whether the learner runs on an accelerator, and the train env a script passes.

The rule, and the measurements it rests on (benchmarks/RESULTS.md):
- Learner on the CPU: the envs and the learner share the cores. Two actor threads, their EnvPool threads about
  half the cores (one each on up to 5 cores). On this project's 2-core machine the learner bounds training:
  Atari layouts of 1-4 actor threads and 1-2 EnvPool threads were all within 6%, two of one thread the fastest
  ("Atari on this machine: the actor layout against the learner's batch shape").
- Learner on a GPU or TPU: it is 20-57x faster than acting ("On a GPU: NVIDIA H200"), so every core but one
  steps envs, at most `MAX_THREADS_PER_ACTOR` EnvPool threads per actor thread (more actor threads instead,
  each making its own policy calls) and never more threads than an actor has envs. Not yet measured on such a
  host: the H200 figures were taken with 2 actor threads set by hand.
- A multi-task run: a multiple of its tasks (each actor thread steps one task's envs).
- A train env handed over fixes the count: one actor thread per env of a list, or one env of N envs cut into
  actors of `num_envs`.
Fields set to a number are kept.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from hsuanwu_jax.config.tasks import task_ids
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.runtime.host import HostFacts

AUTO = "auto"
CPU_ACTORS = 2  # actor threads beside a CPU learner: one acts while the other's rollout is learned from
MAX_THREADS_PER_ACTOR = 4


class ActorLayout(NamedTuple):
    """The actor threads a run uses and the EnvPool threads of each."""

    num_actors: int
    env_threads: int
    note: str  # the layout and, where any of it was "auto", why; printed when the run starts


def actor_layout(fields: dict[str, Any], host: HostFacts, env: EnvFacts) -> ActorLayout:
    """The layout of a config's validated `fields` (`num_actors` and `env_threads` each a number or "auto")
    on `host`, with the train env's `env` facts."""
    actors, threads, num_envs = fields["num_actors"], fields["env_threads"], fields["num_envs"]
    budget, why = env_thread_budget(host)
    reasons = [why]
    if actors == AUTO:
        actors, reason = actor_count(host, len(task_ids(fields)), env, num_envs)
        reasons += [reason] if reason else []
    if threads == AUTO:
        threads = max(1, min(num_envs, round(budget / actors)))
        reasons.append(f"about {budget} EnvPool threads in all")
    note = f"{_count(actors, 'actor thread')} x {_count(threads, 'EnvPool thread')}, {num_envs} envs each"
    if fields["num_actors"] == AUTO or fields["env_threads"] == AUTO:
        note += " (auto: " + "; ".join(reasons) + ")"
    return ActorLayout(actors, threads, note)


def env_thread_budget(host: HostFacts) -> tuple[int, str]:
    """`(threads, why)`: the EnvPool threads of all actor threads together on `host`."""
    if host.accelerator:
        why = f"{host.cores} cores and an accelerator learner: all but one core step envs"
        return max(1, host.cores - 1), why
    return max(CPU_ACTORS, host.cores // 2), f"{host.cores} cores shared with a CPU learner: half step envs"


def actor_count(host: HostFacts, num_tasks: int, env: EnvFacts, num_envs: int) -> tuple[int, str]:
    """`(actor threads, why)` for `num_actors="auto"`."""
    if env.actor_envs is not None:
        return env.actor_envs, "one actor thread per env of train_env"
    if env.total_envs is not None and env.total_envs >= num_envs and env.total_envs % num_envs == 0:
        return env.total_envs // num_envs, f"train_env's {env.total_envs} envs, {num_envs} per actor thread"
    reason = f"a multiple of the {num_tasks} tasks" if num_tasks > 1 else ""
    return host_actor_count(host, num_tasks), reason


def host_actor_count(host: HostFacts, num_tasks: int, divides: int | None = None) -> int:
    """Actor threads for `host` alone: `CPU_ACTORS` beside a CPU learner, else enough that none has more than
    `MAX_THREADS_PER_ACTOR` EnvPool threads; rounded up to a multiple of `num_tasks`; with `divides`, the
    largest count up to that which divides it (a train env of `divides` envs to share out)."""
    budget, _ = env_thread_budget(host)
    wanted = (
        CPU_ACTORS if not host.accelerator else max(CPU_ACTORS, math.ceil(budget / MAX_THREADS_PER_ACTOR))
    )
    wanted = num_tasks * math.ceil(wanted / num_tasks)
    if divides is None:
        return wanted
    return max(n for n in range(1, min(wanted, divides) + 1) if divides % n == 0)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"
