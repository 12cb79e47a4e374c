"""The same simulated year on every EPCI of the first-quartile table, in one run.

What changes from one EPCI to the next is what the tables know of it: its first-quartile
threshold (the income line of the 25 % objective) and its département (the délai anormalement
long of DALO). The territory's size and the commune geography are the scenario's: the tables
carry no per-EPCI demand figures, so every EPCI is simulated at the same scale (an assumption
stated in the summary). Île-de-France EPCIs get Paris and limitrophe communes (ceiling zone 1).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from rules.parametres import ParametreManquant, Parametres
from simulation.annee import Scenario
from simulation.monte_carlo import executer
from simulation.rapport import ecrire_rapport, resultats_json

COMMUNES_ILE_DE_FRANCE = ("75056", "92012", "93066", "94080")


def scenario_epci(sc: Scenario, code: str, departement: str | None) -> Scenario:
    """The scenario moved to one EPCI (its threshold and département; IDF: zone 1 communes)."""
    if departement is None:  # regional threshold (Île-de-France)
        return dataclasses.replace(sc, epci=code, departement="75", communes=COMMUNES_ILE_DE_FRANCE)
    return dataclasses.replace(sc, epci=code, departement=departement, communes=None)


def simuler_national(sc: Scenario, repliques: int, dossier: Path, graine: int = 0, processus: int | None = None,
                     dask: str | None = None, progression: bool = True) -> dict[str, Any]:
    """Every EPCI of the table: a report each, and one summary table (synthese.json, synthese.md)."""
    start = time.perf_counter()
    rows = []
    for code, nom, departement in Parametres.charger().epcis_premier_quartile():
        local = scenario_epci(sc, code, departement)
        try:
            summary, _runs = executer(local, repliques, graine, processus, dask, progression)
        except ParametreManquant as exc:  # e.g. a département without its DALO delay
            rows.append({"epci": code, "nom": nom, "erreur": str(exc)})
            continue
        ecrire_rapport(summary, dossier / code)
        row: dict[str, Any] = {"epci": code, "nom": nom, "rapport": f"{code}/rapport.html", "objectifs": {}}
        for label, arm in summary["bras"].items():
            row["objectifs"][label] = {f"{o['id']}:{o['groupe']}": o["annee"] for o in arm["objectifs"]}
        rows.append(row)
    out = {"hypothese": "même taille de territoire pour chaque EPCI (pas de demande par EPCI dans les tables)",
           "territoires": rows, "secondes": time.perf_counter() - start}
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / "synthese.json").write_text(resultats_json(out), encoding="utf-8")
    (dossier / "synthese.md").write_text(_markdown(out), encoding="utf-8")
    return out


def _markdown(out: dict[str, Any]) -> str:
    lines = ["# Simulation nationale : part des attributions hors QPV au premier quartile", "",
             f"Hypothèse : {out['hypothese']}.", "", "| EPCI | nom | bras | part Q1 hors QPV (moyenne) | rapport |",
             "|---|---|---|---|---|"]
    for row in out["territoires"]:
        if "erreur" in row:
            lines.append(f"| {row['epci']} | {row['nom']} | — | non simulé : {row['erreur']} | — |")
            continue
        for label, objectives in row["objectifs"].items():
            q1 = [v for k, v in objectives.items() if k.startswith("q1_hors_qpv:")]
            share = q1[0]["moyenne"] if q1 and q1[0]["moyenne"] is not None else None
            text = "—" if share is None else f"{share * 100:.1f} %".replace(".", ",")
            lines.append(f"| {row['epci']} | {row['nom']} | {label} | {text} | {row['rapport']} |")
    return "\n".join(lines) + "\n"
