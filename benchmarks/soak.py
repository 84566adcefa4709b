"""Soak run: train for a fixed wall time and sample resident memory every interval.

    python benchmarks/soak.py --config configs/impala_cartpole.py --minutes 30 [--set field=value ...] \
        --out benchmarks/results/soak_cartpole.json

Trains with `num_train_steps` set out of reach and a checkpoint every `checkpoint_every` env steps,
then stops itself with SIGTERM (the preemption path) after `--minutes`. Prints a table of
(minute, env steps, RSS MiB) and writes it as JSON with the growth after warm-up.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import time

from common import parse_overrides, script_parser, write_json

from hsuanwu_jax import DistributedTrainer, load_config, make_env
from hsuanwu_jax.runtime.process import limit_malloc_arenas


def resident_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--no-arena-limit", action="store_true", help="leave glibc's malloc arenas uncapped")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes excluded from the growth figure")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides as field=python_literal")
    parser.add_argument("--out", default="benchmarks/results/soak.json")
    args = parser.parse_args()

    if not args.no_arena_limit:
        limit_malloc_arenas()  # as the command line does
    cfg = load_config(args.config)
    cfg.num_train_steps = 10**9
    cfg.test_every = 0
    cfg.log_every = 1_000_000
    cfg.update(parse_overrides(args.set))
    samples = []
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
        started = time.monotonic()
        done = threading.Event()

        def sample() -> None:
            while not done.wait(args.interval if samples else 0.0):
                samples.append(
                    {
                        "minute": (time.monotonic() - started) / 60,
                        "env_steps": trainer.env_steps,
                        "rss_mib": resident_mib(),
                    }
                )
                print(
                    f"{samples[-1]['minute']:7.2f} min | {trainer.env_steps:>13,} steps | "
                    f"{samples[-1]['rss_mib']:8.1f} MiB",
                    file=sys.__stdout__,
                    flush=True,
                )
                if time.monotonic() - started >= args.minutes * 60:
                    os.kill(os.getpid(), signal.SIGTERM)  # stop the way a preemption does
                    return

        sampler = threading.Thread(target=sample, name="rss-sampler")
        sampler.start()
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train()
        done.set()
        sampler.join()
        trainer.close()
    warm = [s["rss_mib"] for s in samples if s["minute"] >= args.warmup] or [s["rss_mib"] for s in samples]
    summary = {
        "config": args.config,
        "minutes": args.minutes,
        "arena_limit": not args.no_arena_limit,
        "samples": samples,
        "rss_after_warmup_min_mib": min(warm, default=None),
        "rss_after_warmup_max_mib": max(warm, default=None),
        "rss_growth_after_warmup_mib": (warm[-1] - warm[0]) if warm else None,
        "env_steps": samples[-1]["env_steps"] if samples else 0,
    }
    print(
        f"RSS after warm-up (>= {args.warmup} min): min {summary['rss_after_warmup_min_mib']:.1f} MiB, "
        f"max {summary['rss_after_warmup_max_mib']:.1f} MiB, first-to-last growth "
        f"{summary['rss_growth_after_warmup_mib']:+.1f} MiB over {len(warm)} samples"
    )
    write_json(args.out, summary)


if __name__ == "__main__":
    main()
