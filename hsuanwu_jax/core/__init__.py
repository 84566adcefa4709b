"""Pure math and data: the pytrees passed around, the env spec, V-trace, PopArt, action distributions.
No Flax state, no config, no devices."""
