"""Loading configs: a file with `get_config()`, a YAML file, a preset by name; and any accepted form of a
config as a `ConfigDict`."""

from __future__ import annotations

import importlib.resources
import importlib.util
import pathlib
from collections.abc import Mapping

import ml_collections
import yaml  # PyYAML, a dependency of ml_collections


def load_config(path_or_preset: str) -> ml_collections.ConfigDict:
    """The config of a file with `get_config()` (e.g. "configs/impala_atari.py"), of a YAML file (ours or
    Hsuanwu's layout, e.g. its hydra `config.yaml`), or of a preset name (e.g. "impala_atari": the
    repository's configs/, installed as the package `hsuanwu_jax.configs`)."""
    path = pathlib.Path(path_or_preset)
    if path.suffix in (".yaml", ".yml"):
        with open(path, encoding="utf-8") as f:
            return ml_collections.ConfigDict(yaml.safe_load(f) or {})
    if not path.suffix:
        path = presets_dir() / f"{path_or_preset}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no config file {str(path)!r}; presets: {preset_names()}")
    spec = importlib.util.spec_from_file_location(f"hsuanwu_jax_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def presets_dir() -> pathlib.Path:
    """Where the presets are installed; looked up only for a preset name, so that a config file's path
    also works from a source checkout on PYTHONPATH, where `hsuanwu_jax.configs` does not exist."""
    return pathlib.Path(str(importlib.resources.files("hsuanwu_jax.configs")))


def to_config_dict(cfg) -> ml_collections.ConfigDict:
    """A ConfigDict from a ConfigDict, a Mapping, an omegaconf DictConfig, or a preset name or path."""
    if isinstance(cfg, ml_collections.ConfigDict):
        return cfg
    if isinstance(cfg, (str, pathlib.Path)):
        return load_config(str(cfg))
    if hasattr(cfg, "_metadata") and hasattr(cfg, "keys"):  # omegaconf.DictConfig
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(cfg, Mapping):
        return ml_collections.ConfigDict(dict(cfg))
    raise TypeError(
        f"config must be a ConfigDict, a dict, an omegaconf DictConfig or a preset name, not {type(cfg).__name__}"
    )


def preset_names() -> list[str]:
    """The names of the installed presets (e.g. "impala_atari")."""
    return sorted(p.stem for p in presets_dir().glob("*.py") if p.stem != "__init__")
