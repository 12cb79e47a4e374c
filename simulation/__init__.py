"""Synthetic territories for the demo, the tests and the benchmarks, and (later) the replay of a
year of CALs. Nothing here reads personal data: every figure comes from `calibration.yaml`, which
names its public source."""
