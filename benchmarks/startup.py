"""Start-up: seconds from process start to the first update, with a cold and a warm compilation cache,
after a SIGTERM resume, and the peak resident memory, for the command line on a few workloads.

    python benchmarks/startup.py [--workloads cartpole breakout_nature breakout_resnet] [--set field=value ...]
        [--out FILE]

Each workload runs `python -m hsuanwu_jax.train` three times in one workdir with one fresh compilation
cache directory: cold (empty cache) until its first metrics line (logged after the first update, as
`log_every` is one update), then SIGTERM (a checkpoint is written); warm (the resume of that run: cache
filled, checkpoint restored) until its first new line; and again from scratch in a new workdir with the
filled cache (warm start). Peak resident memory is the cold process's VmHWM, read just before SIGTERM.
Prints a table and writes JSON.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from common import print_table, run_cli_until, script_parser, write_json

from hsuanwu_jax.outputs.records import read_metrics

ATARI = [
    "--config",
    "configs/atari_machado.py",
    "--config.num_envs=16",
    "--config.num_steps=20",
    "--config.batch_size=32",
]
WORKLOADS = {
    "cartpole": ["--config", "configs/impala_cartpole.py"],
    "breakout_nature": ATARI,
    "breakout_resnet": [*ATARI, "--config.encoder=resnet"],
}


def steps_per_update(workload: list[str]) -> int:
    """num_steps x batch_size of a workload (its config file's values with the overrides applied)."""
    from hsuanwu_jax import load_config

    cfg = load_config(workload[1])
    for item in workload[2:]:
        name, value = item.removeprefix("--config.").split("=")
        if name in ("num_steps", "batch_size"):
            cfg[name] = int(value)
    return cfg.num_steps * cfg.batch_size


def peak_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return None


def until_first_update(command: list[str], workdir: str, limit: float) -> dict:
    """Starts `command`, waits for a new metrics line, SIGTERMs it; seconds and peak memory."""
    before = len(read_metrics(os.path.join(workdir, "metrics.jsonl")))

    def new_line(records, process):
        return {"peak_rss_mib": peak_rss_mib(process.pid)} if len(records) > before else None

    run = run_cli_until(
        command, workdir, new_line, limit=limit, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if run.result is None:
        raise RuntimeError(f"no update within {limit} s: {' '.join(command)}\n{run.stderr[-2000:]}")
    return {"seconds": run.seconds, **run.result}


def measure(name: str, workload: list[str], limit: float, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        cache, first, second = (os.path.join(scratch, d) for d in ("cache", "run", "again"))
        flags = [
            f"--config.compile_cache_dir={cache}",
            f"--config.log_every={steps_per_update(workload)}",
            "--config.progress=none",
            "--config.checkpoint_every=0",
            *(f"--config.{item}" for item in overrides),
        ]

        def command(workdir: str) -> list[str]:
            return [sys.executable, "-m", "hsuanwu_jax.train", *workload, "--workdir", workdir, *flags]

        cold = until_first_update(command(first), first, limit)
        resume = until_first_update(command(first), first, limit)
        warm = until_first_update(command(second), second, limit)
    return {
        "workload": name,
        "cold_seconds": cold["seconds"],
        "warm_seconds": warm["seconds"],
        "resume_seconds": resume["seconds"],
        "warm_over_cold": warm["seconds"] / cold["seconds"],
        "resume_over_cold": resume["seconds"] / cold["seconds"],
        "peak_rss_mib": cold["peak_rss_mib"],
    }


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--limit", type=float, default=600.0, help="seconds to wait for one first update")
    parser.add_argument(
        "--set", nargs="*", default=[], help="config overrides for every workload, as field=value"
    )
    parser.add_argument("--out", default="benchmarks/results/startup.json")
    args = parser.parse_args()
    rows = [measure(name, WORKLOADS[name], args.limit, args.set) for name in args.workloads]
    print_table(
        rows,
        [
            ("workload", "workload", ""),
            ("cold s", "cold_seconds", ".1f"),
            ("warm s", "warm_seconds", ".1f"),
            ("resume s", "resume_seconds", ".1f"),
            ("warm/cold", "warm_over_cold", ".2f"),
            ("resume/cold", "resume_over_cold", ".2f"),
            ("peak RSS MiB", "peak_rss_mib", ",.0f"),
        ],
    )
    write_json(args.out, {"command": " ".join(sys.argv), "rows": rows})


if __name__ == "__main__":
    main()
