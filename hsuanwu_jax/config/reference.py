"""Every config field documented from one source: its default (`default_config`), its meaning (the comment on
its line in config/defaults.py), its section (the comment above the section's fields) and what it accepts
(config/rules.py's words). The command line's table (`python -m hsuanwu_jax.config_table`) and the
documentation site's configuration reference are both made from `config_reference()`."""

from __future__ import annotations

import inspect
import re
from typing import Any, NamedTuple

from hsuanwu_jax.config import defaults as defaults_module
from hsuanwu_jax.config.defaults import default_config
from hsuanwu_jax.config.rules import RULES

_FIELD = re.compile(r"^\s*cfg\.(\w+) = .*?(?:  # (.*))?$")
_SECTION = re.compile(r"^\s*# (.+?)\.?$")


class FieldDoc(NamedTuple):
    """One config field as its documentation shows it."""

    name: str
    default: Any  # the value default_config() gives it (a dict for a nested ConfigDict)
    meaning: str  # the comment on its line in config/defaults.py
    accepts: str  # what validation accepts, in the words its error uses (config/rules.py)


class SectionDoc(NamedTuple):
    """A group of fields, in default_config's order (e.g. "Learner")."""

    title: str
    fields: tuple[FieldDoc, ...]


def config_reference() -> tuple[SectionDoc, ...]:
    """Every field of `default_config()` under its section, in the order config/defaults.py sets them.
    Raises ValueError when a field has no comment or is not set on a line of its own (the documentation would
    miss it)."""
    defaults = default_config().to_dict()
    sections: list[tuple[str, list[FieldDoc]]] = []
    for line in inspect.getsource(defaults_module).splitlines():
        if section := _SECTION.match(line):
            sections.append((section.group(1), []))
        elif field := _FIELD.match(line):
            name, meaning = field.groups()
            if not meaning:
                raise ValueError(f"config field {name!r} has no comment in default_config: add one")
            sections[-1][1].append(FieldDoc(name, defaults[name], meaning, RULES[name][1]))
    documented = {field.name for _, fields in sections for field in fields}
    missing = sorted(set(defaults) - documented)
    if missing:
        raise ValueError(f"config fields not on a line of their own in default_config: {missing}")
    return tuple(SectionDoc(title, tuple(fields)) for title, fields in sections)


def shown(value: Any) -> str:
    """A default as the reference writes it: integers with `_` separators, mappings as dicts, else repr."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:_}"
    return repr(dict(value) if isinstance(value, dict) else value)
