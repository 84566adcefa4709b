"""Hsuanwu's API over the engine: its env factories (`hsuanwu.env`) and `HsuanwuEngine`; `hsuanwu_jax.env`
and `hsuanwu_jax.common.engine` are their import paths."""
