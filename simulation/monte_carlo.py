"""Replicas of a simulated year, in parallel, summarised as means and 90 % intervals.

Replica r runs with seed `graine + r`; every arm of a replica shares its territory and its
random draws (common random numbers), so the A/B differences are computed replica by replica
and their interval says whether a difference is more than noise. Replicas run in processes on
this machine by default, or on a Dask cluster given its address, with the same function.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from tqdm import tqdm

from simulation.annee import GROUPES_SUIVIS, Scenario, simuler

INTERVALLE = (5.0, 95.0)  # percentiles: a 90 % interval
ECHANTILLON_ATTENTES = 5_000  # waiting times kept per group and arm for the distribution plots
GROUPES = ("tous", *GROUPES_SUIVIS)
INDICATEURS = ("menages_loges", "refus", "logements_sans_trois_candidats", "logements_restes_vacants",
               "demandes_en_attente_fin")


def lancer(sc: Scenario, repliques: int, graine: int = 0, processus: int | None = None,
           dask: str | None = None, progression: bool = True) -> list[dict[str, Any]]:
    """Run the replicas (seeds graine .. graine + repliques − 1), in seed order."""
    seeds = list(range(graine, graine + repliques))
    bar = tqdm(total=repliques, desc="répliques", unit="réplique", disable=not progression, file=sys.stderr)
    try:
        if dask is not None:
            results = _sur_dask(sc, seeds, dask, bar.update)
        elif (processus or os.cpu_count() or 1) <= 1 or repliques == 1:
            results = []
            for s in seeds:
                results.append(simuler(sc, s))
                bar.update()
        else:
            results = _en_processus(sc, seeds, processus or os.cpu_count() or 1, bar.update)
    finally:
        bar.close()
    return sorted(results, key=lambda r: r["graine"])


def _en_processus(sc: Scenario, seeds: list[int], workers: int, step: Callable[[], Any]) -> list[dict]:
    with ProcessPoolExecutor(max_workers=min(workers, len(seeds))) as pool:
        futures = [pool.submit(simuler, sc, s) for s in seeds]
        out = []
        for f in as_completed(futures):
            out.append(f.result())
            step()
        return out


def _sur_dask(sc: Scenario, seeds: list[int], address: Any, step: Callable[[], Any]) -> list[dict]:
    """The same replicas on a Dask cluster: an address ('tcp://…') or a Cluster object."""
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(address) as client:
        futures = client.map(simuler, [sc] * len(seeds), seeds, pure=False)
        out = []
        for f in dask_completed(futures):
            out.append(f.result())
            step()
        return out


def intervalle(values: Iterable[float | None]) -> dict[str, float | None]:
    """Mean and 90 % interval of the replicas' values (missing values left out)."""
    x = np.array([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    if not len(x):
        return {"moyenne": None, "bas": None, "haut": None}
    low, high = np.percentile(x, INTERVALLE)
    return {"moyenne": float(x.mean()), "bas": float(low), "haut": float(high)}


def resumer(sc: Scenario, repliques: list[dict[str, Any]], secondes: float | None = None,
            execution: str = "", validation: list[dict] | None = None) -> dict[str, Any]:
    """The figures of all replicas, per arm and A/B, in the schema `rapport.ecrire_rapport` reads."""
    arms = [a.libelle for a in sc.bras]
    out: dict[str, Any] = {
        "titre": "Simulation d'une année de CAL",
        "scenario": {
            "territoire": {"epci": sc.epci, "demandes": sc.demandes, "logements_par_an": round(sc.logements_annuels)},
            "mois": sc.mois, "debut": sc.debut.isoformat(), "repliques": len(repliques),
            "graine": repliques[0]["graine"] if repliques else None, "execution": execution,
            "bras": {a.libelle: {"grille": f"{a.grille.grille.territoire} {a.grille.grille.version}",
                                 "politique": f"{a.politique.politique.territoire} {a.politique.politique.version}",
                                 "methode": a.methode} for a in sc.bras},
        },
        "bras": {label: _bras([r["bras"][label] for r in repliques]) for label in arms},
        "comparaison": None,
        "secondes": secondes,
    }
    if len(arms) >= 2:
        out["comparaison"] = _comparaison([r["bras"][arms[0]] for r in repliques],
                                          [r["bras"][arms[1]] for r in repliques])
    if validation:
        out["validation"] = validation
    return out


def _key(o: dict) -> tuple[str, str]:
    return o["id"], o["groupe"]


def _bras(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    months = [m["mois"] for m in first["mois"]]
    keys: dict[tuple[str, str], dict] = {}
    for run in runs:
        for o in run["annee"]["objectifs"]:
            keys.setdefault(_key(o), o)
    objectives = []
    for key, spec in sorted(keys.items()):
        per_month = []
        for i, label in enumerate(months):
            shares = [_share(run["mois"][i]["objectifs"], key) for run in runs]
            per_month.append({"mois": label, **intervalle(shares)})
        year = [_share(run["annee"]["objectifs"], key) for run in runs]
        reached = [s >= spec["cible"] - 1e-12 for s in year if s is not None]
        objectives.append({
            "id": key[0], "libelle": spec["libelle"], "groupe": key[1], "cible": spec["cible"],
            "par_mois": per_month, "annee": intervalle(year),
            "probabilite_atteinte": float(np.mean(reached)) if reached else None,
        })
    waits = {}
    for g in GROUPES:
        values = [np.asarray(run["annee"]["attente_jours"][g], float) for run in runs]
        pooled = np.concatenate(values) if values else np.zeros(0)
        if len(pooled) > ECHANTILLON_ATTENTES:  # a deterministic, evenly spread sample
            pooled = np.sort(pooled)[np.linspace(0, len(pooled) - 1, ECHANTILLON_ATTENTES).astype(int)]
        waits[g] = {"moyenne": intervalle([v.mean() if len(v) else None for v in values]),
                    "mediane": intervalle([float(np.median(v)) if len(v) else None for v in values]),
                    "valeurs": [int(x) for x in pooled]}
    return {
        "libelle": first["libelle"],
        "objectifs": objectives,
        "indicateurs": {k: intervalle([run["annee"][k] for run in runs]) for k in INDICATEURS},
        "loges_par_groupe": {g: intervalle([run["annee"]["loges_par_groupe"][g] for run in runs]) for g in GROUPES},
        "attente_jours": waits,
        "mois": [{"mois": label, **{k: intervalle([run["mois"][i][k] for run in runs])
                                    for k in ("baux", "refus", "sans_trois_candidats", "en_attente")}}
                 for i, label in enumerate(months)],
    }


def _share(objectives: list[dict], key: tuple[str, str]) -> float | None:
    for o in objectives:
        if _key(o) == key:
            return o["part"]
    return None


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _comparaison(a: list[dict], b: list[dict]) -> dict[str, Any]:
    """B − A replica by replica (same territory, same draws), as mean and 90 % interval."""
    keys = {}
    for run in a + b:
        for o in run["annee"]["objectifs"]:
            keys.setdefault(_key(o), o)
    objectives = []
    for key, spec in sorted(keys.items()):
        diffs = []
        for ra, rb in zip(a, b, strict=True):
            sa, sb = _share(ra["annee"]["objectifs"], key), _share(rb["annee"]["objectifs"], key)
            diffs.append(None if sa is None or sb is None else sb - sa)
        objectives.append({"id": key[0], "groupe": key[1], "libelle": spec["libelle"], "difference": intervalle(diffs)})
    housed = {g: intervalle([rb["annee"]["loges_par_groupe"][g] - ra["annee"]["loges_par_groupe"][g]
                             for ra, rb in zip(a, b, strict=True)]) for g in GROUPES}
    waits = {}
    for g in GROUPES:
        diffs = []
        for ra, rb in zip(a, b, strict=True):
            wa, wb = _mean(ra["annee"]["attente_jours"][g]), _mean(rb["annee"]["attente_jours"][g])
            diffs.append(None if wa is None or wb is None else wb - wa)
        waits[g] = intervalle(diffs)
    return {"objectifs": objectives, "loges_par_groupe": housed, "attente_jours": waits}


def executer(sc: Scenario, repliques: int, graine: int = 0, processus: int | None = None,
             dask: str | None = None, progression: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run and summarise: (summary for the report, the replicas' raw figures)."""
    start = time.perf_counter()
    runs = lancer(sc, repliques, graine, processus, dask, progression)
    where = f"Dask ({dask})" if dask else f"local, {min(processus or os.cpu_count() or 1, repliques)} processus"
    summary = resumer(sc, runs, time.perf_counter() - start, where)
    rows = validation_premier_quartile(summary)
    if rows:
        summary["validation"] = rows
    return summary, runs


def validation_premier_quartile(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The national benchmark: Q1 share outside QPV, today's practice 15-20 %, the law 25 %."""
    rows = []
    for label, arm in summary["bras"].items():
        for o in arm["objectifs"]:
            if o["id"] != "q1_hors_qpv" or o["annee"]["moyenne"] is None:
                continue
            share = o["annee"]["moyenne"]
            if summary["scenario"]["bras"][label]["methode"] == "glouton":
                rows.append({"libelle": f"Part Q1 hors QPV, pratique actuelle ({label})", "valeur": share,
                             "attendu": "15 % à 20 % (Ancols 2019 : 15,5 % ; avant la loi : 19 %)",
                             "conforme": 0.15 <= share <= 0.20})
            else:
                rows.append({"libelle": f"Part Q1 hors QPV, {label}", "valeur": share, "attendu": "au moins 25 %",
                             "conforme": share >= o["cible"]})
    return rows

