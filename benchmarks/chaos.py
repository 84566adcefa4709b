"""Chaos: a command-line training run SIGKILLed at random moments, rerun with the same command each time.

    python benchmarks/chaos.py --kills 20 [--seed 0] [--steps 2000000] [--out benchmarks/results/chaos.json]

Each round starts `python -m hsuanwu_jax.train` on the CartPole preset in one workdir and kills it after a
random delay (uniform over start-up, training, checkpoints and the final export); after `--kills` kills the
command runs to the end. Then it checks what a preemptible run needs: no rerun crashed on its own, every
env step is logged once (no duplicated and no missing metrics lines), the final step is the total, the
newest checkpoint is there, and the export loads. Prints a table and writes JSON; exits 1 on any failure.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import random
import signal
import subprocess
import sys
import tempfile
import time

from common import print_table, run_cli_until, script_parser, write_json

from hsuanwu_jax import load_config, load_policy, validate
from hsuanwu_jax.cli.train import train_command
from hsuanwu_jax.outputs.records import read_metrics

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG_EVERY, CHECKPOINT_EVERY = 10_000, 20_000


def command(workdir: str, steps: int) -> list[str]:
    config = str(ROOT / "configs/impala_cartpole.py")
    return train_command(
        config,
        workdir,
        num_train_steps=steps,
        log_every=LOG_EVERY,
        checkpoint_every=CHECKPOINT_EVERY,
        num_test_episodes=4,
        progress="lines",
    )


def run_round(cmd: list[str], kill_after: float | None, log) -> dict:
    """One run of `cmd`, SIGKILLed after `kill_after` seconds (None: to the end)."""
    started = time.monotonic()
    limit = kill_after if kill_after is not None else 900
    run = run_cli_until(
        cmd, limit=limit, stop_signal=signal.SIGKILL, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    killed = run.stopped and kill_after is not None
    return {
        "kill_after_seconds": kill_after,
        "killed": killed,
        "returncode": run.returncode,
        "crashed": not killed and run.returncode != 0,
        "seconds": time.monotonic() - started,
    }


def check_run(workdir: str, steps: int, steps_per_update: int) -> dict:
    records = read_metrics(os.path.join(workdir, "metrics.jsonl"))
    logged = [r["step"] for r in records]
    duplicated = len(logged) - len(set(logged))
    out_of_order = sum(b <= a for a, b in itertools.pairwise(logged))
    # A line is logged LOG_EVERY env steps after the previous one, rounded up to whole updates: a wider
    # gap means lines were lost between a kill and the resume.
    missing = sum(b - a > LOG_EVERY + steps_per_update for a, b in itertools.pairwise(logged))
    final = logged[-1] if logged else 0
    try:
        load_policy(os.path.join(workdir, "export"))
        export_loads = True
    except Exception as error:
        print(f"export does not load: {type(error).__name__}: {error}")
        export_loads = False
    checkpoints = sorted(int(p) for p in os.listdir(os.path.join(workdir, "checkpoints")) if p.isdigit())
    return {
        "lines": len(logged),
        "duplicated_steps": duplicated,
        "out_of_order_steps": out_of_order,
        "missing_intervals": missing,
        "final_step": final,
        "final_step_is_total": final >= steps and final - steps < steps_per_update,
        "newest_checkpoint": checkpoints[-1] if checkpoints else None,
        "export_loads": export_loads,
    }


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs before the run may finish")
    parser.add_argument("--steps", type=int, default=2_000_000, help="num_train_steps of the run")
    parser.add_argument(
        "--max-delay", type=float, default=15.0, help="kill within this many seconds of a start"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--out", default="benchmarks/results/chaos.json", help="the JSON file to write")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    steps_per_update = validate(load_config(str(ROOT / "configs/impala_cartpole.py"))).steps_per_update
    with tempfile.TemporaryDirectory() as workdir:
        cmd = command(workdir, args.steps)
        rounds = []
        with open(os.path.join(workdir, "console.log"), "ab") as log:
            for _ in range(args.kills):
                rounds.append(run_round(cmd, rng.uniform(0.5, args.max_delay), log))
            rounds.append(run_round(cmd, None, log))
        result = check_run(workdir, args.steps, steps_per_update)
    kills = sum(r["killed"] for r in rounds)
    crashed = sum(r["crashed"] for r in rounds)
    ok = (
        crashed == 0
        and rounds[-1]["returncode"] == 0
        and result["duplicated_steps"] == result["out_of_order_steps"] == result["missing_intervals"] == 0
        and result["final_step_is_total"]
        and result["newest_checkpoint"] == result["final_step"]
        and result["export_loads"]
    )
    rows = [
        {"what": "runs started", "value": len(rounds)},
        {"what": "SIGKILLs that hit a running process", "value": kills},
        {"what": "reruns that crashed on their own", "value": crashed},
        {"what": "metrics lines", "value": result["lines"]},
        {"what": "duplicated steps", "value": result["duplicated_steps"]},
        {"what": "steps out of order", "value": result["out_of_order_steps"]},
        {"what": "gaps wider than one log interval", "value": result["missing_intervals"]},
        {"what": f"final step (total {args.steps:,})", "value": result["final_step"]},
        {"what": "newest checkpoint", "value": result["newest_checkpoint"] or 0},
        {"what": "export loads", "value": int(result["export_loads"])},
    ]
    print_table(rows, [("check", "what", "s"), ("value", "value", ",d")])
    print("\nPASS" if ok else "\nFAIL")
    write_json(
        args.out,
        {"command": " ".join(sys.argv), "args": vars(args), "ok": ok, "rounds": rounds, **result},
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
