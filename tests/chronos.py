"""Simulation results without their wall-clock times, to compare two runs bit for bit."""

from __future__ import annotations

import json


def sans_chronos(obj):
    """A deep copy without the wall-clock keys ('secondes'), at every level."""
    if isinstance(obj, dict):
        return {k: sans_chronos(v) for k, v in obj.items() if k != "secondes"}
    if isinstance(obj, list):
        return [sans_chronos(v) for v in obj]
    return obj


def canonique(obj) -> str:
    return json.dumps(sans_chronos(obj), sort_keys=True)
