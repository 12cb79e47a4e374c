"""The year's objectives counted on signed leases: groups, scopes, publics, shortfall, and the realise a batch reads."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from politiques import texte_par_bailleur

from cotation.moteur import evaluer
from matching.bilan import avec_realise, compter_baux, manque, parts
from matching.diagnostic import atteinte
from matching.propositions import proposer
from rules.chargement import charger_grille
from rules.politique import charger_politique
from simulation.territoire import generer_demandes, generer_logements

EPCI = "243100518"


@pytest.fixture(scope="module")
def politique():
    """The default policy (legal objectives) plus one counted per bailleur."""
    text = texte_par_bailleur().replace("plafond_inconnu: erreur", "plafond_inconnu: ecarter_logement")
    return charger_politique("test.yaml", texte=text)


def baux(*rows: tuple[bool, str, str]) -> pd.DataFrame:
    """Signed leases: (qpv, bailleur, reservataire) per lease."""
    return pd.DataFrame({"qpv": [r[0] for r in rows], "epci": [EPCI] * len(rows),
                         "bailleur": [r[1] for r in rows], "reservataire": [r[2] for r in rows]})


def test_leases_are_counted_per_objective_group_and_scope(politique):
    leases = baux((False, "B1", "prefet"), (False, "B1", "action_logement"), (True, "B2", "prefet"),
                  (False, "B2", "prefet"), (True, "B1", "bailleur"))
    q1 = np.array([True, False, True, False, False])
    prio = np.array([True, True, False, False, True])
    publics = {"q1_hors_qpv": q1, "q234_qpv": ~q1, "prioritaires_reservataire": prio, "q1_par_bailleur": q1}
    done = compter_baux(politique, leases, publics)
    assert done == {
        # outside QPV only: leases 0, 1, 3; the first quartile among them: lease 0
        "q1_hors_qpv": {EPCI: [3, 1]},
        # in QPV only: leases 2 and 4; outside the first quartile: lease 4
        "q234_qpv": {EPCI: [2, 1]},
        # every lease, in the group of its reservataire
        "prioritaires_reservataire": {"action_logement": [1, 1], "bailleur": [1, 1], "prefet": [3, 1]},
        "q1_par_bailleur": {"B1": [3, 1], "B2": [2, 1]},
    }
    # the counts accumulate, month after month
    compter_baux(politique, leases.iloc[:1], {k: v[:1] for k, v in publics.items()}, done)
    assert done["q1_hors_qpv"] == {EPCI: [4, 2]} and done["prioritaires_reservataire"]["prefet"] == [4, 2]


def test_no_lease_counts_nothing(politique):
    empty = compter_baux(politique, baux(), {})
    assert empty == {o.id: {} for o in politique.objectifs}
    assert parts(politique, empty) == []


@pytest.mark.parametrize(("cible", "attributions", "public", "attendu"), [
    (0.25, 0, 0, 0), (0.25, 4, 0, 1), (0.25, 4, 1, 0), (0.5, 3, 1, 1), (0.5, 3, 2, 0),
    (0.1, 30, 3, 0),  # 0.1 × 30 is 3.0000000000000004 in floating point: reached all the same
    (0.25, 10, 0, 3), (1.0, 5, 5, 0),
])
def test_shortfall(cible, attributions, public, attendu):
    assert manque(cible, attributions, public) == attendu


def test_shares_against_targets(politique):
    done = {"q1_hors_qpv": {EPCI: [8, 1]}, "q234_qpv": {}, "prioritaires_reservataire": {"prefet": [2, 2],
                                                                                         "autre": [0, 0]},
            "q1_par_bailleur": {}}
    lines = parts(politique, done)
    assert [(x["id"], x["groupe"], x["attributions"], x["public"], x["part"], x["cible"]) for x in lines] == [
        ("q1_hors_qpv", EPCI, 8, 1, 0.125, 0.25),
        ("prioritaires_reservataire", "autre", 0, 0, None, 0.25),
        ("prioritaires_reservataire", "prefet", 2, 2, 1.0, 0.25),
    ]
    assert lines[0]["libelle"] == politique.objectif("q1_hors_qpv").libelle


def test_a_batch_reads_the_year_to_date(politique):
    """The counts given back as `realise` reach the optimizer's objectives, group by group."""
    cal = date(2026, 3, 1)
    demandes = generer_demandes(300, 5, cal, epci=EPCI, departement="31")
    logements = generer_logements(12, 5, cal, epci=EPCI).assign(bailleur="B1")
    cot = evaluer(charger_grille("rules/grilles/exemple_complet.yaml"), demandes, cal)
    done = {"q1_hors_qpv": {EPCI: [40, 2]}, "q234_qpv": {}, "prioritaires_reservataire": {"prefet": [5, 1]},
            "q1_par_bailleur": {"B1": [10, 3], "B9": [7, 7]}}
    filled = avec_realise(politique, done)
    assert filled.realise_pour("q1_hors_qpv", EPCI).attributions == 40
    assert filled.realise_pour("q1_par_bailleur", "B9").dont_public == 7
    assert "q234_qpv" not in filled.realise and politique.realise == {}
    lot = proposer(logements, demandes, cot, filled, cal)
    for spec, o in zip(lot.politique.objectifs, lot.instance.objectifs, strict=True):
        for g, label in enumerate(lot.groupes[spec.id]):
            assert list(o.realise[g]) == done[spec.id].get(label, [0, 0]), (spec.id, label)
    # a late year catches up: the first quartile outside QPV is far behind (2 of 40)
    [line] = [x for x in atteinte(lot) if x.objectif == "q1_hors_qpv"]
    assert line.attributions_annee == 40 + line.attributions_lot and line.public_annee == 2 + line.public_lot


def test_the_simulation_counts_with_the_same_code():
    import simulation.annee as annee

    assert annee.compter_baux is compter_baux and annee.parts is parts and annee.avec_realise is avec_realise
