"""The documentation site and the README: the site builds with every warning an error, its generated references
name every public name and config field, a broken cross-reference fails the build, and the README stays a page
whose links and example work."""

import pathlib
import re
import shutil
import subprocess
import sys
import typing

import pytest

import hsuanwu_jax
from hsuanwu_jax import default_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPHINX_BUILD = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]


def build(source: pathlib.Path, out: pathlib.Path) -> subprocess.CompletedProcess:
    """The README's site build command on `source`, with this interpreter."""
    return subprocess.run([*SPHINX_BUILD, str(source), str(out)], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "docs", out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out


def test_the_site_builds_with_warnings_as_errors(site):
    pages = {path.relative_to(site).as_posix() for path in site.rglob("*.html")}
    for page in (
        "index.html",
        "getting-started.html",
        "quickstart.html",
        "reference/config.html",
        "reference/api.html",
        "results/minigrid.html",
        "guides/hsuanwu.html",
    ):
        assert page in pages


def test_the_references_name_every_public_name_and_config_field(site):
    config_page = (site / "reference" / "config.html").read_text(encoding="utf-8")
    api_page = (site / "reference" / "api.html").read_text(encoding="utf-8")
    returned = typing.get_type_hints(hsuanwu_jax.load_policy)["return"]
    wanted_api = [f"hsuanwu_jax.{name}" for name in hsuanwu_jax.__all__]
    wanted_api.append(f"{returned.__module__}.{returned.__qualname__}")
    missing = [
        path
        for path in wanted_api
        if f'id="{path}"' not in api_page and f'id="module-{path}"' not in api_page
    ]
    missing += [
        f"config field {field}" for field in default_config() if f'id="confval-{field}"' not in config_page
    ]
    assert not missing, f"missing from the generated reference: {missing}"


def test_the_results_pages_show_their_plots_and_tables(site):
    page = (site / "results" / "minigrid.html").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="\.\./_images/domain_minigrid_floor001\.png"', page)
    assert "MiniGrid-DoorKey-5x5-v0" in page and "Interquartile mean" in page


def test_a_broken_cross_reference_fails_the_build(tmp_path):
    docs = tmp_path / "docs"  # a copy of the site beside the repository's folders it reads
    shutil.copytree(ROOT / "docs", docs, symlinks=True, ignore=shutil.ignore_patterns("_build"))
    for name in ("benchmarks", "notebooks", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    with open(docs / "index.md", "a", encoding="utf-8") as f:
        f.write("\nSee {confval}`no_such_field` and {py:func}`hsuanwu_jax.no_such_function`.\n")
    result = build(docs, tmp_path / "out")
    assert result.returncode != 0
    assert "no_such_field" in result.stderr and "hsuanwu_jax.no_such_function" in result.stderr


def test_the_readme_fits_on_a_few_screens_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert links and not [link for link in links if not (ROOT / link).exists()]


def test_the_readmes_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Use", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    real_load_config = hsuanwu_jax.load_config

    def a_few_updates(name):  # the example as written, for 2 updates in a temporary workdir
        cfg = real_load_config(name)
        cfg.update(
            num_train_steps=2 * cfg.batch_size * cfg.num_steps,
            num_test_episodes=1,
            test_max_episode_steps=100,
            workdir=str(tmp_path / "run"),
            progress="none",
        )
        return cfg

    monkeypatch.setattr(hsuanwu_jax, "load_config", a_few_updates)
    scope = {}
    exec(compile(example, "README.md (Use)", "exec"), scope)
    assert (
        scope["policy"].tasks == ("LunarLander-v2",) and (tmp_path / "run" / "export" / "model.json").exists()
    )
