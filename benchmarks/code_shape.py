"""The shape of the package's code, by the measures issue 41 tracks: the longest function, the largest parameter
list, the string comparisons in agent/networks.py, and the raw-config reads outside config/ (a config field read
from a config mapping by its name, e.g. `cfg["num_envs"]` or `config.get("seed")`, where typed `Settings` exist).

    python benchmarks/code_shape.py [--out FILE.json]

Prints a table and writes the figures (with where each maximum is) as JSON."""

from __future__ import annotations

import ast
import pathlib

from common import script_parser, write_json

from hsuanwu_jax.config.defaults import default_config

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "hsuanwu_jax"
# the layers that consume a validated config (config/ makes Settings; cli/ and hsuanwu/ read what users wrote)
CONSUMERS = ("core", "runtime", "envs", "parallel", "agent", "acting", "outputs", "run")


def modules(folders=None):
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if folders is None or relative.parts[0] in folders:
            yield relative.as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def functions():
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node


def parameter_count(node) -> int:
    arguments = node.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    return len([n for n in names if n not in ("self", "cls")])


def string_comparisons(tree) -> int:
    """Comparisons with a string constant on either side (`kind == "mlp"`, `mode in ("a", "b")`)."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            strings = [
                o
                for o in operands
                if (isinstance(o, ast.Constant) and isinstance(o.value, str))
                or (
                    isinstance(o, (ast.Tuple, ast.List, ast.Set))
                    and o.elts
                    and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in o.elts)
                )
            ]
            count += bool(strings)
    return count


def raw_config_reads():
    """(module, line, field) of every config field read by name from a mapping outside config/."""
    fields = set(default_config())
    for name, tree in modules(CONSUMERS):
        for node in ast.walk(tree):
            mapping = key = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                mapping, key = node.value, node.slice.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                mapping, key = node.func.value, node.args[0].value
            if isinstance(key, str) and key in fields and _is_run_config(mapping):
                yield name, node.lineno, key


def _is_run_config(node) -> bool:
    """`cfg`, `config`, `self._config`, `settings.config`: a run's config; not an EnvPool env's own `env.config`."""
    if isinstance(node, ast.Name):
        return node.id in ("cfg", "config")
    if isinstance(node, ast.Attribute):
        owner = node.value.id if isinstance(node.value, ast.Name) else ""
        return node.attr in ("config", "_config", "cfg") and owner in ("self", "settings")
    return False


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--out", default="benchmarks/results/code_shape.json")
    args = parser.parse_args()
    longest = max(functions(), key=lambda f: f[1].end_lineno - f[1].lineno + 1)
    widest = max(functions(), key=lambda f: parameter_count(f[1]))
    (networks,) = [tree for name, tree in modules(("agent",)) if name == "agent/networks.py"]
    reads = list(raw_config_reads())
    figures = {
        "longest_function": {
            "where": f"{longest[0]}:{longest[1].name}",
            "lines": longest[1].end_lineno - longest[1].lineno + 1,
        },
        "largest_parameter_list": {
            "where": f"{widest[0]}:{widest[1].name}",
            "parameters": parameter_count(widest[1]),
        },
        "string_comparisons_in_agent_networks": string_comparisons(networks),
        "raw_config_reads_outside_config": len(reads),
        "raw_config_reads": [f"{m}:{line} {field}" for m, line, field in reads],
    }
    for key, value in figures.items():
        if key != "raw_config_reads":
            print(f"{key:40} {value}")
    for read in figures["raw_config_reads"]:
        print(f"  {read}")
    write_json(args.out, figures)


if __name__ == "__main__":
    main()
