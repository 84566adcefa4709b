"""What the benchmark scripts share: one argument parser, the command line run until a condition, a stage timed
alone, training in a scratch workdir, a table on stdout and a JSON file with the machine named."""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import platform
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from hsuanwu_jax import DistributedTrainer
from hsuanwu_jax.core.types import Trajectory, map_envs
from hsuanwu_jax.outputs.records import read_metrics


def script_parser(doc: str) -> argparse.ArgumentParser:
    """The argument parser every benchmark script starts from: its docstring, as written, for --help."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def benchmark_parser(doc: str, default_out: str) -> argparse.ArgumentParser:
    """`script_parser` with the options the training benchmarks share: --config, --set, --out."""
    parser = script_parser(doc)
    parser.add_argument("--config", required=True, help="a config file or preset name")
    parser.add_argument(
        "--set", nargs="*", action="extend", default=[], help="config overrides as field=python_literal"
    )
    parser.add_argument("--out", default=default_out, help="the JSON file to write")
    return parser


def parse_overrides(items: list[str]) -> dict:
    """Config overrides from `field=python_literal` strings, e.g. ["lr=1e-3", "mlp_hidden_sizes=(32,)"]."""
    return {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in items)}


def random_actions(spec, rng: np.random.Generator, num_envs: int) -> np.ndarray:
    """Uniform random actions `[num_envs, ...]` for an `EnvSpec`: over the actions, or over a Box's bounds."""
    if spec.is_discrete:
        return rng.integers(0, spec.action_size, num_envs).astype(spec.action_dtype)
    return rng.uniform(spec.action_low, spec.action_high, (num_envs, spec.action_size)).astype(
        spec.action_dtype
    )


def concatenate_envs(trajectories: list[Trajectory]) -> Trajectory:
    """Rollouts side by side along their env axis: `[T+1, B_1 + B_2 + ..., ...]` (a learner batch)."""
    return map_envs(lambda axis, *arrays: np.concatenate(arrays, axis), *trajectories)


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """Prints `rows` under `columns` of (heading, key, format spec), e.g. ("samples/s", "sps", ",.0f")."""
    cells = [
        [("-" if row.get(key) is None else format(row[key], spec)).strip() for _, key, spec in columns]
        for row in rows
    ]
    widths = [max([len(heading)] + [len(r[i]) for r in cells]) for i, (heading, _, _) in enumerate(columns)]
    print("\n" + " | ".join(f"{h:>{w}}" for (h, _, _), w in zip(columns, widths, strict=True)))
    for row in cells:
        print(" | ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def write_json(path: str, payload: dict) -> None:
    """Writes `payload` with the machine's platform and CPU count added."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), **payload}, f, indent=2)
    print(f"wrote {path}")


def resumed_lines(records: list[dict]) -> list[dict]:
    """The metrics lines a run stands by: lines a resume logged again (a step not above the line before)
    replace the lines they repeat."""
    kept: list[dict] = []
    for record in records:
        while kept and kept[-1]["step"] >= record["step"]:
            kept.pop()
        kept.append(record)
    return kept


def tasks_env_steps(records: list[dict], tasks: list[str]) -> list[dict[str, float]]:
    """Each task's env steps so far at every one of a multi-task run's `resumed_lines(records)`: the lines'
    per-interval shares (`env_steps_share/<task>`) times their intervals' env steps, summed up to the line."""
    totals, previous, out = dict.fromkeys(tasks, 0.0), 0, []
    for record in resumed_lines(records):
        for task in tasks:
            totals[task] += record.get(f"env_steps_share/{task}", 0.0) * (record["step"] - previous)
        previous = record["step"]
        out.append({"step": record["step"], **totals})
    return out


def train_quietly_and_test(cfg, make_envs) -> dict:
    """Trains `cfg` in a temporary workdir with the envs `make_envs(cfg) -> (train_env, test_env)`,
    without progress output, then tests as its `test_policy` says and the other way (greedy or with sampled
    actions). Returns the final test results (`final`: the config's protocol; `final_greedy`,
    `final_sampled`), the wall seconds from construction to the end of the first test, the
    `test_*` points of the learning curve, the `TRACED` fields of every log line (`trace`), the run's
    collapse warning (None when there was none) and its stall warnings (a list)."""
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        cfg.progress = "none"
        started = time.perf_counter()
        train_env, test_env = make_envs(cfg)
        trainer = DistributedTrainer(cfg, train_env=train_env, test_env=test_env)
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train()
        final = trainer.test()
        seconds = time.perf_counter() - started
        other = trainer.test(greedy=final["policy"] == "sampled")
        trainer.close()
        final_greedy, final_sampled = (final, other) if final["policy"] == "greedy" else (other, final)
        records = read_metrics(os.path.join(workdir, "metrics.jsonl"))
    curve = [
        {
            "step": r["step"],
            "time": r["time"],
            "test_episode_reward": r["test_episode_reward"],
            **{k: r[k] for k in ("test_train_envs_episode_reward",) if k in r},
        }
        for r in records
        if "test_episode_reward" in r
    ]
    warnings = [r["collapse_warning"] for r in records if "collapse_warning" in r]
    stalls = [r["stall_warning"] for r in records if "stall_warning" in r]
    trace = [{k: r[k] for k in TRACED if k in r} for r in records if "loss" in r]
    return {
        "final": final,
        "final_greedy": final_greedy,
        "final_sampled": final_sampled,
        "seconds": seconds,
        "curve": curve,
        "trace": trace,
        "collapse_warning": warnings[0] if warnings else None,
        "stall_warnings": stalls,
    }


# What each log line of a benchmark run keeps (the run's workdir is deleted): enough to tell why a run went
# as it did (the policy's entropy, how far it moved from the actors', the gradients, the value scale).
TRACED = ("step", "episode_reward", "entropy", "policy_kl", "grad_norm", "value_mean", "value_std")


class CliRun(NamedTuple):
    """How a `run_cli_until` run went."""

    result: Any  # what the condition returned when it held; None when it never did
    seconds: float | None  # seconds from the start to the condition holding
    returncode: int  # the process's exit status (negative: the signal that ended it)
    stopped: bool  # whether it was still running at the end and got `stop_signal`
    stderr: str | None  # what it wrote to stderr, when `stderr=subprocess.PIPE`


def run_cli_until(
    command: list[str],
    workdir: str | None = None,
    condition: Callable[[list[dict], subprocess.Popen], Any] | None = None,
    *,
    limit: float,
    stop_signal: int = signal.SIGTERM,
    wait: float = 300.0,
    **popen_args,
) -> CliRun:
    """Runs the training command line `command` until `condition(records, process)` (the complete records of
    `workdir`'s metrics.jsonl, read every 50 ms) returns something other than None, the process ends, or
    `limit` seconds pass; a process still running then gets `stop_signal` (SIGTERM: it checkpoints and
    ends; SIGKILL: a crash) and is waited for. Without a condition it just runs, for at most `limit` s."""
    started = time.perf_counter()
    process = subprocess.Popen(command, text=True, **popen_args)
    result = seconds = None
    try:
        if condition is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=limit)
        while condition is not None and process.poll() is None and time.perf_counter() - started < limit:
            time.sleep(0.05)
            result = condition(read_metrics(os.path.join(workdir, "metrics.jsonl")), process)
            if result is not None:
                seconds = time.perf_counter() - started
                break
    finally:
        stopped = process.poll() is None
        if stopped:
            process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=wait)
    return CliRun(result, seconds, process.returncode, stopped, stderr)


def timed_rate(step: Callable[[], float], seconds: float, warm_up: int) -> float:
    """A stage timed alone: `step()` (which returns the units it did, e.g. env steps) `warm_up` times, then
    over and over for `seconds`; the units per second of the timed calls."""
    for _ in range(warm_up):
        step()
    units, started = 0.0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        units += step()
    return units / (time.perf_counter() - started)
