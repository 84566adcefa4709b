"""Configuration (config/): typed settings with every field declared, the field categories."""

import dataclasses

import pytest
from helpers import tiny_config

from hsuanwu_jax.config import default_config
from hsuanwu_jax.config.fields import NETWORK_FIELDS, OUTPUT_FIELDS, PLACEMENT_FIELDS, STATE_SHAPE_FIELDS
from hsuanwu_jax.config.settings import CONFIG_FIELDS, DERIVED_FIELDS, Settings, validate


def test_settings_declare_every_config_field_and_the_derived_values_apart(tmp_path):
    assert set(CONFIG_FIELDS) == set(default_config().to_dict())
    assert not set(CONFIG_FIELDS) & set(DERIVED_FIELDS)
    s = validate(tiny_config(tmp_path, mlp_hidden_sizes=[8, 8], num_steps=5, batch_size=8))
    assert s.mlp_hidden_sizes == (8, 8) and s.steps_per_update == 40 and s.rollouts_per_batch == 2
    assert isinstance(s.config, dict) and s.config["num_steps"] == 5  # the whole config, as runs store it
    with pytest.raises(AttributeError):
        s.no_such_field  # noqa: B018 - nothing is forwarded to the config
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr = 1.0
    assert isinstance(s, Settings)


def test_field_categories_name_real_fields_once():
    for category in (STATE_SHAPE_FIELDS, NETWORK_FIELDS, OUTPUT_FIELDS, PLACEMENT_FIELDS):
        assert len(set(category)) == len(category) and set(category) <= set(CONFIG_FIELDS)
    assert not set(OUTPUT_FIELDS) & (set(STATE_SHAPE_FIELDS) | set(NETWORK_FIELDS))
