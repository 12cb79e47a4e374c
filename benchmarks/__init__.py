"""Benchmarks at realistic scale.

Each runs as `python -m benchmarks.<name>` and writes benchmarks/results/<name>.json.
"""

import json
from pathlib import Path


def ecrire_resultats(resultats: dict, chemin: Path) -> None:
    """Write a benchmark's results as JSON and say where."""
    chemin.parent.mkdir(parents=True, exist_ok=True)
    chemin.write_text(json.dumps(resultats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Résultats : {chemin}")
