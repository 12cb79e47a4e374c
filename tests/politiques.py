"""Policy texts shared by the tests: the default policy with one objective counted per bailleur."""

from __future__ import annotations

from pathlib import Path

DEFAUT = Path(__file__).resolve().parents[1] / "rules" / "politiques" / "defaut.yaml"
PAR_BAILLEUR = """
  - id: q1_par_bailleur
    libelle: Premier quartile, par bailleur
    public: "premier_quartile"
    logements: tous
    niveau: bailleur
    cible: 0.5
"""


def texte_par_bailleur() -> str:
    """The default policy's YAML with a first-quartile objective of 50 % counted per bailleur."""
    return DEFAUT.read_text(encoding="utf-8").replace("\nrealise:", PAR_BAILLEUR + "\nrealise:", 1)
