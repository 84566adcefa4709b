"""The run: checkpoints of its state, the training loop and its schedule, the actors' watchdog, the parts
assembled, and `DistributedTrainer`, the face over them."""
