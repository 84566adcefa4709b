"""The site's generated parts, as MyST directives, so each page's prose sits beside what the sources say:

- `{config-reference}`: every config field (config/reference.py: its default, meaning, section and what it
  accepts), one `confval` entry each, so pages link a field with {confval}`lr`;
- `{public-api}`: autodoc entries for every name in `hsuanwu_jax.__all__`, the class `load_policy` returns,
  and the modules named as the directive's arguments (e.g. Hsuanwu's import paths);
- `{results-table} benchmarks/results/X.json`: a results table (every task's per-seed final tests, their
  median, random play, the reference, the normalised median; the domain IQM with its confidence interval)
  read from a committed `benchmarks/suite.py` or `benchmarks/domain_scores.py` JSON file;
- `_generated/layers.svg`, drawn when the build starts: the package's layers as pyproject.toml's import-linter
  contract lists them (top first), each with its modules;
- `{atari-runs-table} benchmarks/results/X.json`: single-game Atari runs as `benchmarks/run_summary.py` wrote
  them (each run's greedy tests, speed, final training return and entropy) beside the published random and
  human scores.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import statistics
import textwrap
import tomllib
import typing

from sphinx.util.docutils import SphinxDirective

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def config_reference_markdown() -> str:
    """MyST text: a section per config group, a `confval` per field (default, accepted values, meaning)."""
    from hsuanwu_jax.config.reference import config_reference, shown

    parts = []
    for section in config_reference():
        parts.append(f"## {section.title}\n")
        for field in section.fields:
            parts.append(
                f"```{{confval}} {field.name}\n"
                f":default: ``{shown(field.default)}``\n"
                f":type: {field.accepts}\n\n"
                f"{_literal_brackets(field.meaning)}\n"
                "```\n"
            )
    return "\n".join(parts)


def _literal_brackets(text: str) -> str:
    """`<name>` would be read as an HTML tag by Markdown: shown as code instead."""
    return text.replace("<", "`<").replace(">", ">`") if "<" in text else text


def public_api_markdown(extra_modules: list[str]) -> str:
    """MyST text with autodoc entries: `hsuanwu_jax.__all__`, `load_policy`'s return class, `extra_modules`."""
    import hsuanwu_jax

    entries = ["## `hsuanwu_jax`\n"]
    for name in hsuanwu_jax.__all__:
        entries.append(_autodoc_entry(f"hsuanwu_jax.{name}", getattr(hsuanwu_jax, name)))
    returned = typing.get_type_hints(hsuanwu_jax.load_policy)["return"]
    entries.append(f"## What `load_policy` returns\n\n{_autodoc_entry(_path(returned), returned)}")
    for module_name in extra_modules:
        module = importlib.import_module(module_name)
        entries.append(f"## `{module_name}`\n")
        summary = inspect.getdoc(module).split("\n\n")[0]
        entries.append(f"{summary}\n")
        for name in module.__all__:
            obj = getattr(module, name)
            if getattr(obj, "__module__", None) == "hsuanwu_jax.run.trainer":  # documented above
                entries.append(f"`{module_name}.{name}` is {{py:class}}`hsuanwu_jax.DistributedTrainer`.\n")
            else:
                entries.append(_autodoc_entry(f"{module_name}.{name}", obj))
    return "\n".join(entries)


def _path(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _autodoc_entry(path: str, obj) -> str:
    if inspect.ismodule(obj):
        directive = f".. automodule:: {path}\n   :members:"
    elif inspect.isclass(obj):
        directive = f".. autoclass:: {path}\n   :members:\n   :special-members: __call__"
    else:
        directive = f".. autofunction:: {path}"
    return f"```{{eval-rst}}\n{directive}\n```\n"


def results_markdown(path: str) -> str:
    """MyST text: the table and aggregate of a suite or domain JSON file (paths from the repository root)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        result = json.load(f)
    runs, tasks = result["runs"], result["tasks"]
    protocol = runs[0].get("test_policy", "greedy")
    has_train_levels = any(f"final_{protocol}_train_envs_episode_reward" in r for r in runs)
    header = ["task", "seeds", "final greedy test", "final sampled test", f"median ({protocol})"]
    if has_train_levels:
        header.append(f"training levels ({protocol})")
    header += ["random play", "reference", "normalised median"]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for task, info in tasks.items():
        task_runs = sorted((r for r in runs if r["task"] == task), key=lambda r: r["seed"])
        finals = [r["final_test_episode_reward"] for r in task_runs]
        greedy = [
            r.get("final_greedy_test_episode_reward", r["final_test_episode_reward"]) for r in task_runs
        ]
        sampled = [r.get("final_sampled_test_episode_reward") for r in task_runs]
        median = statistics.median(finals)
        random_mean, reference = info["random"]["mean"], info["threshold"]
        cells = [
            task,
            ", ".join(str(r["seed"]) for r in task_runs),
            " / ".join(_number(v) for v in greedy),
            " / ".join("-" if v is None else _number(v) for v in sampled),
            _number(median),
        ]
        if has_train_levels:
            train = [r[f"final_{protocol}_train_envs_episode_reward"] for r in task_runs]
            cells.append(_number(statistics.median(train)))
        normalised = (median - random_mean) / (reference - random_mean)
        cells += [_number(random_mean), _number(reference), f"{normalised:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    aggregate = result["aggregate"]
    seeds = result.get("aggregate_seeds") or sorted({r["seed"] for r in runs})
    summary = (
        f"Interquartile mean of the normalised scores (random play 0, the reference 1) over {len(tasks)} tasks "
        f"x seeds {', '.join(map(str, seeds))}: **{aggregate['iqm']:.2f}** (95% CI {aggregate['ci_low']:.2f} "
        f"to {aggregate['ci_high']:.2f}); median {aggregate['median']:.2f} ({aggregate['median_ci_low']:.2f} "
        f"to {aggregate['median_ci_high']:.2f}). Medians and scores are the preset's test protocol "
        f"({protocol} play). Source: `{path}`."
    )
    return "\n".join(rows) + "\n\n" + summary + "\n"


def atari_runs_markdown(path: str) -> str:
    """MyST text: a row per run of a `benchmarks/run_summary.py` JSON file whose run directories are named
    after their game (`.../breakout`), with its human-normalised final test."""
    from hsuanwu_jax.envs.atari_scores import REFERENCE_SCORES, human_normalised

    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        runs = json.load(f)["runs"]
    game_ids = {task.split("-")[0].lower(): task for task in REFERENCE_SCORES}
    rows = [
        "| game | greedy tests (env steps: return) | human-normalised | random | human | last training games "
        "| entropy (nats) | hours | env steps/s |",
        "|" + " --- |" * 9,
    ]
    for run in runs:
        task = game_ids[os.path.basename(run["run"]).lower()]
        random_score, human_score = REFERENCE_SCORES[task]
        tests = ", ".join(f"{step / 1e6:g}M: {_number(score)}" for step, score in run["tests"])
        final = run["tests"][-1][1]
        rows.append(
            f"| {task} | {tests} | {human_normalised(task, final):.3f} | {_number(random_score)} "
            f"| {_number(human_score)} | {_number(run['last_training_return'])} | {run['entropy']:.2f} "
            f"| {run['hours']:.2f} | {run['median_sps']:.0f} |"
        )
    return "\n".join(rows) + f"\n\nSource: `{path}`.\n"


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if magnitude < 1 else f"{value:.2f}"


def draw_layers(path: str) -> None:
    """An SVG of the layers contract in pyproject.toml: one row per layer, top first, a box per package on it
    (`a | b`: side by side, neither imports the other) listing its modules."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    (layers,) = [contract["layers"] for contract in contracts if contract["type"] == "layers"]
    rows = [[package.strip() for package in layer.split("|")] for layer in layers]
    figure, axes = plt.subplots(figsize=(10, 0.8 * len(rows)))
    for row, packages in enumerate(rows):
        width = 1.0 / len(packages)
        for column, package in enumerate(packages):
            module = importlib.import_module(package)
            names = sorted(info.name for info in pkgutil.iter_modules(module.__path__))
            x, y = column * width, len(rows) - 1 - row
            axes.add_patch(plt.Rectangle((x + 0.01, y + 0.08), width - 0.02, 0.84, fill=False, linewidth=1))
            axes.text(
                x + 0.02, y + 0.68, package.removeprefix("hsuanwu_jax.") + "/", weight="bold", fontsize=9
            )
            modules = textwrap.fill(
                ", ".join(names), width=int(125 * width)
            )  # ~125 characters span the figure
            axes.text(x + 0.02, y + 0.14, modules, fontsize=7, va="bottom")
    axes.annotate("", xy=(1.04, 0.1), xytext=(1.04, len(rows) - 0.1), arrowprops={"arrowstyle": "->"})
    axes.text(1.06, len(rows) / 2, "imports only\nfrom below", fontsize=8, va="center")
    axes.set_xlim(0, 1.2)
    axes.set_ylim(0, len(rows))
    axes.axis("off")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)


class _MarkdownDirective(SphinxDirective):
    """A directive whose output is MyST text parsed in place (and re-read when its sources change)."""

    def markdown(self) -> str:
        raise NotImplementedError

    def run(self):
        return self.parse_text_to_nodes(self.markdown(), allow_section_headings=True)


class ConfigReference(_MarkdownDirective):
    def markdown(self) -> str:
        self.env.note_dependency(os.path.join(ROOT, "hsuanwu_jax", "config", "defaults.py"))
        self.env.note_dependency(os.path.join(ROOT, "hsuanwu_jax", "config", "rules.py"))
        return config_reference_markdown()


class PublicApi(_MarkdownDirective):
    optional_arguments = 10

    def markdown(self) -> str:
        return public_api_markdown(self.arguments)


class ResultsTable(_MarkdownDirective):
    required_arguments = 1

    def markdown(self) -> str:
        self.env.note_dependency(os.path.join(ROOT, self.arguments[0]))
        return results_markdown(self.arguments[0])


class AtariRunsTable(_MarkdownDirective):
    required_arguments = 1

    def markdown(self) -> str:
        self.env.note_dependency(os.path.join(ROOT, self.arguments[0]))
        return atari_runs_markdown(self.arguments[0])


def setup(app):
    app.connect(
        "builder-inited", lambda app: draw_layers(os.path.join(app.srcdir, "_generated", "layers.svg"))
    )
    app.add_directive("config-reference", ConfigReference)
    app.add_directive("public-api", PublicApi)
    app.add_directive("results-table", ResultsTable)
    app.add_directive("atari-runs-table", AtariRunsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
