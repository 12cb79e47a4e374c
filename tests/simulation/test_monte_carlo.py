"""Monte Carlo replicas of a simulated year: the 90 % interval, the same replicas in one process,
in several and on Dask, the summary's schema and its replica-by-replica A/B differences, and the
report written from the summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from chronos import canonique

from rules.chargement import charger_grille
from rules.politique import charger_politique
from simulation.annee import GROUPES_SUIVIS, Bras, Scenario
from simulation.monte_carlo import executer, intervalle, lancer, resumer
from simulation.rapport import ecrire_rapport

RACINE = Path(__file__).resolve().parents[2]
GRILLE = RACINE / "rules" / "grilles" / "exemple_complet.yaml"
GRAINE, REPLIQUES = 10, 3
GROUPES = ("tous", *GROUPES_SUIVIS)



@pytest.fixture(scope="module")
def scenario():
    grid = charger_grille(GRILLE)
    policy = charger_politique("defaut").avec_plafond_inconnu("ecarter_logement")
    return Scenario(bras=(Bras("A : glouton", grid, policy, "glouton"), Bras("B : optimiseur", grid, policy)),
                    demandes=1500, logements_par_an=200, mois=3)


@pytest.fixture(scope="module")
def repliques(scenario):
    return lancer(scenario, REPLIQUES, graine=GRAINE, processus=1, progression=False)


# intervalle ------------------------------------------------------------------------------------


def test_intervalle_a_la_main():
    # linear interpolation between order statistics: position p/100 × (n − 1)
    assert intervalle([5, 1, 4, 2, 3]) == pytest.approx({"moyenne": 3.0, "bas": 1.2, "haut": 4.8})
    assert intervalle([0.0, 10.0]) == pytest.approx({"moyenne": 5.0, "bas": 0.5, "haut": 9.5})
    assert intervalle([7]) == {"moyenne": 7.0, "bas": 7.0, "haut": 7.0}
    values = list(range(21))  # positions 1 and 19 exactly
    assert intervalle(values) == pytest.approx({"moyenne": 10.0, "bas": 1.0, "haut": 19.0})


def test_intervalle_ignore_les_manquants():
    assert intervalle([None, 5, float("nan"), 1, 4, np.float64("nan"), 2, 3, None]) == pytest.approx(
        {"moyenne": 3.0, "bas": 1.2, "haut": 4.8})
    out = intervalle(iter([1.0, None, 3.0]))  # any iterable
    assert out == pytest.approx({"moyenne": 2.0, "bas": 1.1, "haut": 2.9})
    assert all(type(v) is float for v in out.values())


@pytest.mark.parametrize("values", [[], [None], [float("nan")], [None, float("nan"), None]])
def test_intervalle_tout_manquant(values):
    assert intervalle(values) == {"moyenne": None, "bas": None, "haut": None}


# lancer ----------------------------------------------------------------------------------------


def test_lancer_dans_l_ordre_des_graines(repliques, scenario):
    assert [r["graine"] for r in repliques] == list(range(GRAINE, GRAINE + REPLIQUES))
    for r in repliques:
        assert set(r["bras"]) == {a.libelle for a in scenario.bras}
        assert all(arm["annee"]["menages_loges"] > 0 for arm in r["bras"].values())
    # different seeds, different years
    assert len({canonique(r["bras"]) for r in repliques}) == REPLIQUES


def test_lancer_en_processus_memes_repliques(repliques, scenario):
    parallel = lancer(scenario, REPLIQUES, graine=GRAINE, processus=2, progression=False)
    assert [r["graine"] for r in parallel] == list(range(GRAINE, GRAINE + REPLIQUES))
    assert canonique(parallel) == canonique(repliques)


def test_lancer_sur_dask_memes_repliques(repliques, scenario):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = lancer(scenario, 2, graine=GRAINE, dask=cluster, progression=False)
    assert [r["graine"] for r in on_dask] == [GRAINE, GRAINE + 1]
    assert canonique(on_dask) == canonique(repliques[:2])


# resumer ---------------------------------------------------------------------------------------


def _part(run, label, key):
    for o in run["bras"][label]["annee"]["objectifs"]:
        if (o["id"], o["groupe"]) == key:
            return o["part"]
    return None


def test_resumer_schema(repliques, scenario):
    resume = resumer(scenario, repliques, secondes=1.5, execution="essai")
    labels = [a.libelle for a in scenario.bras]
    assert {"titre", "scenario", "bras", "comparaison", "secondes"} <= set(resume)
    assert resume["secondes"] == 1.5
    sc = resume["scenario"]
    assert sc["mois"] == 3 and sc["repliques"] == REPLIQUES and sc["graine"] == GRAINE
    assert sc["execution"] == "essai" and sc["debut"] == "2026-01-01"
    assert sc["territoire"] == {"epci": scenario.epci, "demandes": 1500, "logements_par_an": 200}
    assert list(sc["bras"]) == labels and sc["bras"]["B : optimiseur"]["methode"] == "optimiseur"
    assert list(resume["bras"]) == labels
    assert set(resume["comparaison"]) == {"objectifs", "loges_par_groupe", "attente_jours"}
    for label, arm in resume["bras"].items():
        assert arm["libelle"] == label
        keys = {(o["id"], o["groupe"]) for r in repliques for o in r["bras"][label]["annee"]["objectifs"]}
        assert {(o["id"], o["groupe"]) for o in arm["objectifs"]} == keys
        for o in arm["objectifs"]:
            assert [m["mois"] for m in o["par_mois"]] == ["2026-01", "2026-02", "2026-03"]
            key = (o["id"], o["groupe"])
            shares = [_part(r, label, key) for r in repliques]
            present = [s for s in shares if s is not None]
            assert o["annee"]["moyenne"] == pytest.approx(np.mean(present))
            assert o["annee"]["bas"] <= o["annee"]["moyenne"] <= o["annee"]["haut"]
            assert 0.0 <= o["probabilite_atteinte"] <= 1.0
            assert o["probabilite_atteinte"] == pytest.approx(np.mean([s >= o["cible"] - 1e-12 for s in present]))
        assert set(arm["loges_par_groupe"]) == set(GROUPES) == set(arm["attente_jours"])
        assert arm["indicateurs"]["menages_loges"]["moyenne"] == pytest.approx(
            np.mean([r["bras"][label]["annee"]["menages_loges"] for r in repliques]))
        assert [m["mois"] for m in arm["mois"]] == ["2026-01", "2026-02", "2026-03"]


def test_resumer_differences_replique_par_replique(repliques, scenario):
    resume = resumer(scenario, repliques)
    a, b = (x.libelle for x in scenario.bras)
    comparison = resume["comparaison"]
    assert comparison["objectifs"]
    for o in comparison["objectifs"]:
        key = (o["id"], o["groupe"])
        diffs = [_part(r, b, key) - _part(r, a, key) for r in repliques
                 if _part(r, a, key) is not None and _part(r, b, key) is not None]
        expected = intervalle(diffs)
        assert o["difference"]["moyenne"] == pytest.approx(sum(diffs) / len(diffs))
        assert o["difference"] == pytest.approx(expected)
    for g in GROUPES:
        housed = [r["bras"][b]["annee"]["loges_par_groupe"][g] - r["bras"][a]["annee"]["loges_par_groupe"][g]
                  for r in repliques]
        assert comparison["loges_par_groupe"][g]["moyenne"] == pytest.approx(np.mean(housed))
    waits = [np.mean(r["bras"][b]["annee"]["attente_jours"]["tous"]) - np.mean(r["bras"][a]["annee"]["attente_jours"]
                                                                                ["tous"]) for r in repliques]
    assert comparison["attente_jours"]["tous"]["moyenne"] == pytest.approx(np.mean(waits))


def test_resumer_un_seul_bras(repliques, scenario):
    from dataclasses import replace

    single = replace(scenario, bras=scenario.bras[:1])
    resume = resumer(single, repliques)
    assert resume["comparaison"] is None and list(resume["bras"]) == ["A : glouton"]


def test_executer(scenario):
    resume, runs = executer(scenario, 2, graine=GRAINE, processus=1, progression=False)
    assert [r["graine"] for r in runs] == [GRAINE, GRAINE + 1]
    assert resume["scenario"]["execution"] == "local, 1 processus"
    assert resume["scenario"]["repliques"] == 2 and resume["secondes"] > 0
    # the summary is resumer's on the same replicas (plus, possibly, the national benchmark rows)
    resume.pop("validation", None)
    assert canonique(resume) == canonique(resumer(scenario, runs, execution="local, 1 processus"))


# The report ------------------------------------------------------------------------------------


def test_le_resume_alimente_le_rapport(repliques, scenario, tmp_path):
    resume = resumer(scenario, repliques, secondes=2.0, execution="local, 1 processus")
    html_path = ecrire_rapport(resume, tmp_path / "rapport")
    assert html_path == tmp_path / "rapport" / "rapport.html"
    html = html_path.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "glouton" in html and "optimiseur" in html
    data = json.loads((tmp_path / "rapport" / "resultats.json").read_text(encoding="utf-8"))
    assert list(data["bras"]) == list(resume["bras"])
    assert data["scenario"]["repliques"] == REPLIQUES
    first = data["bras"]["A : glouton"]["objectifs"][0]
    expected = resume["bras"]["A : glouton"]["objectifs"][0]
    assert first["id"] == expected["id"] and len(first["par_mois"]) == 3
    assert math.isclose(first["annee"]["moyenne"], expected["annee"]["moyenne"])
