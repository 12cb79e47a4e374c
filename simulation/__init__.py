"""Synthetic territories (`territoire`), and the replay of a year of CALs on them (`annee`), in
Monte Carlo replicas (`monte_carlo`, `national`) with a report a council can read (`rapport`).
Nothing here reads personal data: every figure comes from `calibration.yaml` or
`dynamique.yaml`, which name their public sources or say they are assumptions."""
