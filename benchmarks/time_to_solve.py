"""Wall-clock seconds from process start to a greedy test return at or above a threshold.

    python benchmarks/time_to_solve.py --config configs/impala_cartpole.py --seeds 1 2 3 [--threshold 475]
        [--test-every 100000] [--cache warm|cold] [--set field=value ...]

For each seed, starts the command line (`python -m hsuanwu_jax.train`, a fresh process: imports, env
creation and compilation all count) and watches its metrics.jsonl; the time is taken when the first line
with `test_episode_reward >= threshold` appears, then the run is stopped (SIGTERM). `--cache cold` gives
each seed an empty compilation cache; `--cache warm` (the default) one cache filled beforehand by an
untimed short run of the same config. Prints a table with the median over seeds and writes JSON.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile

from common import print_table, run_cli_until, script_parser, write_json

from hsuanwu_jax.cli.train import train_command


def command_line(config: str, workdir: str, cache: str, overrides: list[str]) -> list[str]:
    """The CLI on `config` with the compilation cache in `cache` and `overrides` (`field=value`)."""
    flags = [f"--config.{item}" for item in overrides]
    return train_command(config, workdir, *flags, compile_cache_dir=cache, progress="none")


def fill_cache(config: str, cache: str, test_every: int, overrides: list[str]) -> None:
    """An untimed run of the config for one test interval, so that its programs are in `cache`."""
    with tempfile.TemporaryDirectory() as workdir:
        short = [f"test_every={test_every}", f"num_train_steps={test_every}", *overrides]
        subprocess.run(command_line(config, workdir, cache, short), check=True, capture_output=True)


def time_one_seed(
    config: str, seed: int, threshold: float, test_every: int, overrides: list[str], limit: float, cache: str
):
    with tempfile.TemporaryDirectory() as workdir:
        command = command_line(
            config, workdir, cache, [f"seed={seed}", f"test_every={test_every}", *overrides]
        )

        def solved(records, process):
            tests = [r for r in records if "test_episode_reward" in r]
            return next((r for r in tests if r["test_episode_reward"] >= threshold), None)

        run = run_cli_until(
            command,
            workdir,
            solved,
            limit=limit,
            wait=60,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if run.result is None:
        return {"seed": seed, "seconds": None, "step": None, "test_episode_reward": None}
    hit = run.result
    return {
        "seed": seed,
        "seconds": run.seconds,
        "step": hit["step"],
        "test_episode_reward": hit["test_episode_reward"],
    }


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--test-every", type=int, default=100_000)
    parser.add_argument(
        "--limit", type=float, default=300.0, help="give up on a seed after this many seconds"
    )
    parser.add_argument(
        "--set", nargs="*", default=[], help="config overrides as field=value (command-line syntax)"
    )
    parser.add_argument(
        "--cache",
        choices=("warm", "cold"),
        default="warm",
        help="warm: one compilation cache, filled first by an untimed run; cold: an empty one per seed",
    )
    parser.add_argument("--out", default="benchmarks/results/time_to_solve.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.cache == "warm":
            fill_cache(args.config, scratch, args.test_every, args.set)
        rows = []
        for seed in args.seeds:
            cache = scratch if args.cache == "warm" else tempfile.mkdtemp(dir=scratch)
            rows.append(
                time_one_seed(args.config, seed, args.threshold, args.test_every, args.set, args.limit, cache)
            )
    print_table(
        rows,
        [
            ("seed", "seed", "d"),
            ("seconds from process start", "seconds", ".1f"),
            ("env step", "step", ","),
            ("test return", "test_episode_reward", ".1f"),
        ],
    )
    times = [r["seconds"] for r in rows]
    median = statistics.median(times) if None not in times else None
    print(
        f"\nmedian seconds to a greedy test >= {args.threshold:g}: "
        + ("not reached by every seed" if median is None else f"{median:.1f}")
    )
    write_json(
        args.out,
        {
            "config": args.config,
            "overrides": args.set,
            "command": " ".join(sys.argv),
            "threshold": args.threshold,
            "cache": args.cache,
            "runs": rows,
            "median_seconds": median,
        },
    )


if __name__ == "__main__":
    main()
