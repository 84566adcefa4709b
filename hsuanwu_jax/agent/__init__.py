"""The agent: networks, the IMPALA loss, the optimiser, the policy step, the update (one device's, and
data-parallel over the mesh), its saved form, and the builder that makes all of them from the settings."""
