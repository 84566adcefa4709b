"""Configuration: the default config with every field explained, the fields' categories, loading, and the one
validating function (settings.py) that turns a config into typed `Settings`.

Configs are `ml_collections.ConfigDict`s (a plain dict, an omegaconf config or Hsuanwu's config tree is
converted). They are read-only once loaded: `settings.validate` checks every field and returns frozen,
typed `Settings` with the derived sizes; nothing is written back into the config.
"""

from hsuanwu_jax.config.defaults import DEFAULT_COMPILE_CACHE, default_config
from hsuanwu_jax.config.fields import NETWORK_FIELDS, OUTPUT_FIELDS, PLACEMENT_FIELDS, STATE_SHAPE_FIELDS
from hsuanwu_jax.config.loading import load_config, to_config_dict

__all__ = [
    "DEFAULT_COMPILE_CACHE",
    "NETWORK_FIELDS",
    "OUTPUT_FIELDS",
    "PLACEMENT_FIELDS",
    "STATE_SHAPE_FIELDS",
    "default_config",
    "load_config",
    "to_config_dict",
]
