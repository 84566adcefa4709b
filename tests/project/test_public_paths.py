"""The public import paths and command lines keep working wherever the modules behind them live: the package's
names, Hsuanwu's import paths, `python -m hsuanwu_jax.<command>`, and every `hsuanwu_jax` name the README, the
documentation pages, the notebook, the presets and the benchmarks use."""

import importlib
import json
import pathlib
import re
import subprocess
import sys

import pytest

import hsuanwu_jax
from hsuanwu_jax.cli.train import with_preset_paths
from hsuanwu_jax.config.loading import preset_names, presets_dir

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMANDS = ("train", "record", "plot", "to_csv", "config_table")


def test_the_package_names():
    from hsuanwu_jax import (  # noqa: F401 - imported to show the path works
        DistributedTrainer,
        default_config,
        load_config,
        load_policy,
        make_env,
        validate,
        vtrace,
    )

    public = "DistributedTrainer default_config load_config load_policy make_env validate vtrace"
    assert sorted(hsuanwu_jax.__all__) == sorted(public.split())
    assert callable(hsuanwu_jax.vtrace.from_importance_weights)
    assert default_config().env_id == "CartPole-v1"
    assert load_config("impala_cartpole").env_id == "CartPole-v1"


def test_hsuanwus_import_paths():
    from hsuanwu_jax import env
    from hsuanwu_jax.common.engine import DistributedTrainer, HsuanwuEngine

    assert DistributedTrainer is hsuanwu_jax.DistributedTrainer and callable(HsuanwuEngine)
    factories = [name for name in dir(env) if re.fullmatch(r"make_\w+_env", name)]
    assert sorted(factories) == sorted(env.__all__) and len(factories) == 6


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_line_runs_as_a_module(command):
    result = subprocess.run(
        [sys.executable, "-m", f"hsuanwu_jax.{command}", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == (1 if command == "train" else 0), result.stderr[-2000:]  # absl's --help: 1
    assert "--workdir" in result.stdout if command == "train" else "usage" in result.stdout


def _documented_paths() -> set[str]:
    """Every `hsuanwu_jax.<a>.<b>` path and `from hsuanwu_jax.<a> import <names>` name in the README, the
    documentation pages, the notebook, the presets and the benchmarks."""
    sources = [
        ROOT / "README.md",
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("configs/*.py"),
        *ROOT.glob("benchmarks/**/*.py"),
    ]
    texts = [path.read_text(encoding="utf-8") for path in sources]
    notebook = json.loads((ROOT / "notebooks/quickstart.ipynb").read_text(encoding="utf-8"))
    texts += ["".join(cell["source"]) for cell in notebook["cells"]]
    paths = set()
    for text in texts:
        paths.update(re.findall(r"\bhsuanwu_jax(?:\.\w+)+", text))
        imports = re.findall(r"from (hsuanwu_jax[\w.]*) import \(([^)]*)\)", text)
        imports += re.findall(r"from (hsuanwu_jax[\w.]*) import ([\w, ]+)$", text, re.MULTILINE)
        for module, names in imports:
            paths.update(f"{module}.{name.strip()}" for name in names.split(",") if name.strip())
    return {path for path in paths if not path.endswith(".git")}  # the repository's clone URL


def _resolves(path: str) -> bool:
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            if name.endswith("_"):  # a name pattern in prose, e.g. `hsuanwu_jax.env.make_*_env`
                return any(attribute.startswith(name) for attribute in dir(target))
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def test_every_name_the_readme_notebook_presets_and_benchmarks_use_resolves():
    paths = _documented_paths()
    assert {"hsuanwu_jax.plot.plot_runs", "hsuanwu_jax.runtime.limit_malloc_arenas"} <= paths
    assert "hsuanwu_jax.config.default_config" in paths  # the presets' import
    assert [path for path in sorted(paths) if not _resolves(path)] == []


def test_the_command_line_takes_a_preset_by_name():
    preset = str(presets_dir() / "impala_atari.py")
    assert with_preset_paths(["train", "--config", "impala_atari", "--workdir", "w"]) == [
        "train",
        "--config",
        preset,
        "--workdir",
        "w",
    ]
    assert with_preset_paths(["train", "--config=impala_atari"]) == ["train", f"--config={preset}"]
    unchanged = ["train", "--config", "configs/impala_cartpole.py", "--config.lr=1e-3"]
    assert with_preset_paths(unchanged) == unchanged
    with pytest.raises(
        ValueError, match=r"'impala_atary' is neither a config file nor a preset: \[.*'impala_atari'"
    ):
        with_preset_paths(["train", "--config", "impala_atary"])
    assert "impala_cartpole" in preset_names()
