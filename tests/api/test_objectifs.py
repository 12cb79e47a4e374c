"""The objectives report: counted on the year's signed leases, per group, seen by each role as it may."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import AUTRE_TERRITOIRE, TERRITOIRE
from politiques import texte_par_bailleur
from sqlalchemy import select

from api.models import Logement, Organisation, Proposition, Run, Territoire

# (territory, bailleur, qpv, reservataire, publics, lease outcome, lease date)
T, F = True, False
BAUX = [
    (TERRITOIRE, "B1", F, "prefet", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": T,
                                     "q1_par_bailleur": T}, "signe", date(2026, 2, 1)),
    (TERRITOIRE, "B1", F, "action_logement", {"q1_hors_qpv": F, "q234_qpv": T, "prioritaires_reservataire": F,
                                              "q1_par_bailleur": F}, "signe", date(2026, 3, 1)),
    (TERRITOIRE, "B1", T, "prefet", {"q1_hors_qpv": F, "q234_qpv": T, "prioritaires_reservataire": T,
                                     "q1_par_bailleur": F}, "signe", date(2026, 4, 1)),
    # solved under a policy without the bailleur objective: outside its public
    (TERRITOIRE, "B2", F, "bailleur", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": F},
     "signe", date(2026, 5, 1)),
    (TERRITOIRE, "B2", T, "collectivite", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": F,
                                           "q1_par_bailleur": T}, "signe", date(2026, 6, 1)),
    # not counted in 2026: last year's lease, a refusal, another territory's lease
    (TERRITOIRE, "B1", F, "prefet", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": F},
     "signe", date(2025, 12, 31)),
    (TERRITOIRE, "B1", F, "prefet", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": T},
     "refuse", date(2026, 7, 1)),
    (AUTRE_TERRITOIRE, "B1", F, "prefet", {"q1_hors_qpv": T, "q234_qpv": F, "prioritaires_reservataire": T},
     "signe", date(2026, 7, 1)),
]
# objective, group -> attributions, public, part, manque (targets 25 %, 50 %, 25 %, 50 %)
ATTENDU_2026 = {
    ("q1_hors_qpv", TERRITOIRE): (3, 2, 2 / 3, 0),
    ("q234_qpv", TERRITOIRE): (2, 1, 0.5, 0),
    ("prioritaires_reservataire", "prefet"): (2, 2, 1.0, 0),
    ("prioritaires_reservataire", "action_logement"): (1, 0, 0.0, 1),
    ("prioritaires_reservataire", "bailleur"): (1, 0, 0.0, 1),
    ("prioritaires_reservataire", "collectivite"): (1, 0, 0.0, 1),
    ("q1_par_bailleur", "B1"): (3, 1, 1 / 3, 1),
    ("q1_par_bailleur", "B2"): (2, 1, 0.5, 0),
}


@pytest.fixture
def svc(service_sqlite):
    """A policy with a bailleur-level objective published from 2026, and the leases of BAUX."""
    s_ = service_sqlite
    text = texte_par_bailleur()
    r = s_.client.post(f"/v1/territoires/{TERRITOIRE}/politiques", content=text.encode(),
                       headers={**s_.entetes("epci_toulouse"), "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    r = s_.client.post(f"/v1/territoires/{TERRITOIRE}/politiques/1/publication", json={"date_effet": "2026-01-01"},
                       headers=s_.entetes("epci_toulouse"))
    assert r.status_code == 200, r.text
    with s_.app.state.sessions.begin() as s:
        territories = {t.code: t.id for t in s.scalars(select(Territoire))}
        orgs = {o.code: o.id for o in s.scalars(select(Organisation))}
        for i, (code, bailleur, qpv, reservataire, publics, issue, day) in enumerate(BAUX):
            run = Run(id=f"run-{i}", territoire_id=territories[code], organisation_id=orgs[bailleur],
                      statut="termine", date_cal=day - timedelta(days=10), logements=[f"L{i}"],
                      expire_le=datetime.now(UTC) + timedelta(days=30))
            unit = Logement(organisation_id=orgs[bailleur], territoire_id=territories[code], identifiant=f"L{i}",
                            statut="loue" if issue == "signe" else "vacant", donnees="{}")
            s.add_all([run, unit])
            s.flush()
            s.add(Proposition(run_id=run.id, territoire_id=territories[code], logement_id=unit.id,
                              identifiant_logement=unit.identifiant, numero_unique=f"031{i:010d}", rang=1,
                              score=10.0, publics=publics, qpv=qpv, bailleur=bailleur, reservataire=reservataire,
                              commune="31555", typologie="T3", date_depot=date(2020, 1, 1),
                              decision="attribution", decision_le=datetime.now(UTC), bail=issue, bail_date=day,
                              refus_legitime=False if issue == "refuse" else None))
    return s_


def rapport(svc, qui: str, territoire: str = TERRITOIRE, **params):
    r = svc.client.get(f"/v1/territoires/{territoire}/objectifs", params=params, headers=svc.entetes(qui))
    assert r.status_code == 200, r.text
    return r.json()


def lignes(body: dict) -> dict:
    return {(x["objectif"], x["groupe"]): (x["attributions"], x["dont_public"], x["part"], x["manque"])
            for x in body["objectifs"]}


def test_the_epci_sees_every_group(svc):
    body = rapport(svc, "epci_toulouse", annee=2026)
    assert body["territoire"] == TERRITOIRE and body["annee"] == 2026
    assert body["politique"]["version"] == 1
    assert lignes(body) == ATTENDU_2026
    for x in body["objectifs"]:
        assert x["atteint"] == (x["manque"] == 0)
        assert x["niveau"] == {"q1_hors_qpv": "epci", "q234_qpv": "epci", "prioritaires_reservataire":
                               "reservataire", "q1_par_bailleur": "bailleur"}[x["objectif"]]
    assert lignes(rapport(svc, "admin", annee=2026)) == lignes(body)


def test_each_reader_sees_its_own_groups_and_the_epci_lines(svc):
    epci = {k: v for k, v in ATTENDU_2026.items() if k[0] in ("q1_hors_qpv", "q234_qpv")}
    assert lignes(rapport(svc, "B1", annee=2026)) == \
        {**epci, ("q1_par_bailleur", "B1"): ATTENDU_2026[("q1_par_bailleur", "B1")]}
    assert lignes(rapport(svc, "B2", annee=2026)) == \
        {**epci, ("q1_par_bailleur", "B2"): ATTENDU_2026[("q1_par_bailleur", "B2")]}
    assert lignes(rapport(svc, "prefecture", annee=2026)) == \
        {**epci, ("prioritaires_reservataire", "prefet"): ATTENDU_2026[("prioritaires_reservataire", "prefet")]}


def test_another_year_counts_its_own_leases_under_the_policy_then_in_force(svc):
    body = rapport(svc, "epci_toulouse", annee=2025)
    assert body["politique"]["version"] is None  # the published policy applies from 2026
    assert lignes(body) == {("q1_hors_qpv", TERRITOIRE): (1, 1, 1.0, 0), ("q234_qpv", TERRITOIRE): (0, 0, None, 0),
                            ("prioritaires_reservataire", "prefet"): (1, 0, 0.0, 1)}
    # no lease yet: the EPCI lines at zero; a reader's own group too
    empty = rapport(svc, "B1", annee=2030)
    assert lignes(empty) == {("q1_hors_qpv", TERRITOIRE): (0, 0, None, 0), ("q234_qpv", TERRITOIRE): (0, 0, None, 0),
                             ("q1_par_bailleur", "B1"): (0, 0, None, 0)}
    assert all(x["atteint"] for x in empty["objectifs"])
    # the current year by default
    assert rapport(svc, "epci_toulouse")["annee"] == date.today().year
    # another territory, without a published policy: the legal objectives
    lyon = rapport(svc, "admin", territoire=AUTRE_TERRITOIRE, annee=2026)
    assert lyon["politique"]["version"] is None
    assert lignes(lyon)[("prioritaires_reservataire", "prefet")] == (1, 1, 1.0, 0)


def test_who_may_read_it(svc):
    url = f"/v1/territoires/{TERRITOIRE}/objectifs"
    assert svc.client.get(url).status_code == 401
    for qui, status in (("epci_lyon", 403), ("guichet_toulouse", 403)):
        r = svc.client.get(url, headers=svc.entetes(qui))
        assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    r = svc.client.get("/v1/territoires/999999999/objectifs", headers=svc.entetes("B1"))
    assert r.status_code == 404 and r.json()["detail"] == "territoire 999999999 inconnu"
    r = svc.client.get(url, params={"annee": 1999}, headers=svc.entetes("B1"))
    assert r.status_code == 422 and r.json()["erreurs"][0]["champ"] == "query.annee"
