"""The persistent compilation cache: a second process reuses the programs the first compiled."""

import json
import subprocess

from helpers import cli


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
