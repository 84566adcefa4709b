"""The Colab quick start runs end to end, with fewer training steps, as a user would run it, in a kernel of
the suite's own Python (CI runs the suite under each Python the machine has: Colab's is 3.12)."""

import pathlib
import platform

import nbformat
import papermill
import pytest

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
def test_the_quickstart_notebook_runs_end_to_end(tmp_path, monkeypatch):
    # Importing envpool (as earlier tests in this worker did) sets MPLBACKEND=Agg if it is unset; a kernel
    # started with it would not draw figures inline, unlike a fresh Jupyter or Colab kernel.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    executed = tmp_path / "quickstart.ipynb"
    workdir = tmp_path / "run"
    # Raises PapermillExecutionError, naming the cell, if any cell fails.
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(executed),
        parameters={"num_train_steps": 100_000, "workdir": str(workdir)},
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
    )
    notebook = nbformat.read(executed, as_version=4)
    print(f"the notebook's kernel ran Python {notebook.metadata.language_info.version}")
    assert notebook.metadata.language_info.version == platform.python_version()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    mime_types = [t for o in outputs for t in o.get("data", {})]
    assert mime_types.count("image/png") == 2  # the two learning-curve figures
    assert "image/gif" in mime_types  # the video, inline
    text = "".join(o.get("text", "") for o in outputs)
    assert "trained 100,480 env steps" in text
    assert "the reloaded policy from" in text
    assert (workdir / "cartpole.gif").stat().st_size > 10_000
    assert (workdir / "export" / "model.json").is_file()
