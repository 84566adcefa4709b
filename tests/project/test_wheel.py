"""The package as a user gets it: a wheel built from the checkout, installed in a fresh venv outside the source
tree, imports every module and trains a preset named on the command line."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = ("hsuanwu_jax", "configs", "pyproject.toml", "setup.py", "README.md")

IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, hsuanwu_jax, hsuanwu_jax.configs
names = [m.name for m in pkgutil.walk_packages(hsuanwu_jax.__path__, "hsuanwu_jax.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"file": hsuanwu_jax.__file__, "presets": hsuanwu_jax.configs.__path__[0], "modules": names}))
"""


def build_wheel(tmp_path: pathlib.Path) -> pathlib.Path:
    """A wheel of a copy of the checkout's sources (building in the checkout would leave build/ there)."""
    source = tmp_path / "source"
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        kwargs = {"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}
        copy(ROOT / name, source / name, **kwargs)
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(tmp_path / "dist")], check=True)
    (wheel,) = (tmp_path / "dist").glob("hsuanwu_jax-*.whl")
    return wheel


def fresh_venv(tmp_path: pathlib.Path, wheel: pathlib.Path) -> pathlib.Path:
    """A new venv with the wheel installed, seeing this venv's installed dependencies (a .pth line: their
    directory comes after its own, and its .pth files, this checkout's editable install among them, are not
    run)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    pathlib.Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    subprocess.run([*install, "-q", str(wheel)], check=True)
    return python


def test_the_installed_wheel_imports_every_module_and_trains_a_preset_by_name(tmp_path):
    python = fresh_venv(tmp_path, build_wheel(tmp_path))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run(
        [python, "-c", IMPORT_EVERY_MODULE], cwd=outside, env=env, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    found = json.loads(imported.stdout.strip().splitlines()[-1])
    venv = str(tmp_path / "venv")
    assert found["file"].startswith(venv) and found["presets"].startswith(venv)  # not the checkout's
    assert {"hsuanwu_jax.run.trainer", "hsuanwu_jax.cli.train", "hsuanwu_jax.configs.impala_atari"} <= set(
        found["modules"]
    )
    workdir = outside / "run"
    fields = ["num_train_steps=1920", "num_test_episodes=2", "test_every=0", "progress=none"]
    trained = subprocess.run(
        [python, "-m", "hsuanwu_jax.train", "--config", "impala_cartpole", "--workdir", str(workdir)]
        + [f"--config.{field}" for field in fields],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "final test return" in trained.stdout
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 1920 and records[-1]["updates"] == 3
    assert (workdir / "export" / "model.json").is_file()
