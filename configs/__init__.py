"""Preset configs: each module has get_config(); `hsuanwu_jax.load_config("<module name>")` loads one."""
