"""The command lines, each run as `python -m hsuanwu_jax.<name>` (the modules of that name in the package
root call these)."""
