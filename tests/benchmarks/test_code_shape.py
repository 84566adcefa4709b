"""The code's shape stays as issue 41 left it: no part outside config/ reads a config field by its name from a
raw config mapping (they take the run's typed `Settings`); benchmarks/code_shape.py measures it."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_no_raw_config_reads_outside_config(tmp_path):
    out = tmp_path / "shape.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/code_shape.py", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shape = json.loads(out.read_text())
    assert shape["raw_config_reads_outside_config"] == 0, shape["raw_config_reads"]
    assert shape["longest_function"]["lines"] > 0 and shape["largest_parameter_list"]["parameters"] > 0
