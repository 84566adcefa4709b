"""The persistent compilation cache (a second process reuses the programs the first compiled) and the
start-up benchmark that measures it."""

import json
import subprocess
import sys

from helpers import ROOT, cli


def compile_totals(workdir):
    with open(workdir / "metrics.jsonl") as f:
        first = json.loads(f.readline())
    return first["compile_cache_hits"], first["compile_cache_misses"]


def test_a_second_run_loads_its_programs_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    for name in ("first", "second"):
        run = subprocess.run(
            cli(tmp_path / name, "--config.num_train_steps=2000", f"--config.compile_cache_dir={cache}"),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-2000:]
    first_hits, first_misses = compile_totals(tmp_path / "first")
    second_hits, _ = compile_totals(tmp_path / "second")
    assert first_hits == 0 and first_misses > 0  # an empty cache: everything compiled
    assert second_hits >= 3  # at least the learner step, the actors' rollout and the policy step
    assert any(cache.iterdir())


def test_no_cache_directory_means_no_cache(tmp_path):
    run = subprocess.run(
        cli(tmp_path / "run", "--config.num_train_steps=2000", "--config.compile_cache_dir="),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert compile_totals(tmp_path / "run") == (0, 0)
    assert not (tmp_path / ".cache").exists()


def test_the_startup_benchmark_runs(tmp_path):
    out = tmp_path / "startup.json"
    command = [sys.executable, "benchmarks/startup.py", "--workloads", "cartpole", "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert row["workload"] == "cartpole" and row["peak_rss_mib"] > 0
    assert all(row[key] > 0 for key in ("cold_seconds", "warm_seconds", "resume_seconds"))
