"""Environments: EnvPool envs made from a config and checked against EnvPool's registry, read back from it,
split over actors; gymnasium vector envs behind the same batched interface."""
