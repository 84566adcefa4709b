"""Rollout times: how long each actor's rollouts take in a real run, the first (which compiles) apart from the
rest, and whether any rollout after the first compiled. What the stuck-actor watchdog's defaults
(`stall_factor`, `stall_floor_seconds`) are weighed against (benchmarks/RESULTS.md, issue 25).

    python benchmarks/rollout_times.py --config impala_cartpole [--steps 200000] [--set field=value ...]
        [--out FILE]

Trains `--steps` env steps in a scratch workdir with every rollout timed; prints a row per actor (its first
rollout, the median, 99th percentile and slowest of the rest, the compilations in its thread after its
first rollout) and writes JSON.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time

import jax
import numpy as np
from common import benchmark_parser, parse_overrides, print_table, write_json

import hsuanwu_jax.acting.actor as actor_module
from hsuanwu_jax import DistributedTrainer, load_config

COLUMNS = [
    ("actor", "actor", "s"),
    ("rollouts", "rollouts", "d"),
    ("first s", "first_seconds", ".3f"),
    ("median s", "median_seconds", ".4f"),
    ("p99 s", "p99_seconds", ".4f"),
    ("slowest s", "slowest_seconds", ".3f"),
    ("later compiles", "later_compiles", "d"),
]


class CompileLog(logging.Handler):
    """Counts JAX's "Finished XLA compilation" messages per thread and rollout (with jax_log_compiles)."""

    def __init__(self, rollouts: dict[str, list[float]]):
        super().__init__()
        self.later: dict[str, int] = {}  # thread -> compilations after its first rollout ended
        self._rollouts = rollouts

    def emit(self, record: logging.LogRecord) -> None:
        thread = threading.current_thread().name
        if "Finished XLA compilation" in record.getMessage() and len(self._rollouts.get(thread, ())) >= 1:
            self.later[thread] = self.later.get(thread, 0) + 1


def timed_rollouts() -> dict[str, list[float]]:
    """Patches `Actor.collect` to record each rollout's seconds under its actor's name."""
    rollouts: dict[str, list[float]] = {}
    collect = actor_module.Actor.collect

    def timed(self, *args, **kwargs):
        started = time.monotonic()
        traj = collect(self, *args, **kwargs)
        rollouts.setdefault(self.name, []).append(time.monotonic() - started)
        return traj

    actor_module.Actor.collect = timed
    return rollouts


def row(name: str, seconds: list[float], later_compiles: int) -> dict:
    rest = np.asarray(seconds[1:])
    return {
        "actor": name,
        "rollouts": len(seconds),
        "first_seconds": seconds[0],
        "median_seconds": float(np.median(rest)),
        "p99_seconds": float(np.percentile(rest, 99)),
        "slowest_seconds": float(rest.max()),
        "later_compiles": later_compiles,
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/rollout_times.json")
    parser.add_argument("--steps", type=int, default=200_000, help="env steps to train")
    args = parser.parse_args()
    rollouts = timed_rollouts()
    compiles = CompileLog(rollouts)
    logging.getLogger("jax").addHandler(compiles)
    jax.config.update("jax_log_compiles", True)
    cfg = load_config(args.config)
    cfg.update(dict(num_train_steps=args.steps, progress="none", checkpoint_every=0, log_every=args.steps))
    cfg.update(parse_overrides(args.set))
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        trainer = DistributedTrainer(cfg)
        try:
            trainer.train()
        finally:
            trainer.close()
    rows = [row(name, seconds, compiles.later.get(name, 0)) for name, seconds in sorted(rollouts.items())]
    print_table(rows, COLUMNS)
    write_json(
        args.out,
        {"config": args.config, "steps": args.steps, "actor_mode": trainer.actor_mode, "actors": rows},
    )


if __name__ == "__main__":
    main()
