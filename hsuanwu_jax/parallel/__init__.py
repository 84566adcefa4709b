"""Devices and hosts: the run plan (devices, mesh, actor mode, learner pieces), the learner mesh and data
placement on it, joining a multi-host run, agreement between its processes and their failure watch."""
