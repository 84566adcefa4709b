"""Hsuanwu's `hsuanwu.common` import path (see `hsuanwu_jax.common.engine`)."""
