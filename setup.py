"""The packages: every subpackage of hsuanwu_jax, found rather than listed, and the presets in configs/, which
ship inside the package as hsuanwu_jax.configs so that load_config("impala_atari") works from any install.
(pyproject.toml alone cannot combine found packages with one mapped from another folder.)"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hsuanwu_jax", "hsuanwu_jax.*"]), "hsuanwu_jax.configs"],
    package_dir={"hsuanwu_jax.configs": "configs"},
)
