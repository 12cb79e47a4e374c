"""Applications: bulk import, reading, the applicant information (checked by hand) and scoring one application."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from conftest import TERRITOIRE
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from strategies import demandes
from test_territoires import deposer, importer, publier, texte_grille

from api.models import Audit, Demande, Logement, Organisation, Proposition, Run, Territoire
from api.scores import cache_scores, construire_pool, figer
from cotation.moteur import compiler, evaluer_grilles
from cotation.table import demandes_en_texte, table_depuis_demandes, table_une_demande
from rules.chargement import charger_grille
from simulation.territoire import generer_demandes

JOUR = date(2026, 3, 1)
URL = f"/v1/territoires/{TERRITOIRE}"

GRILLE_SIMPLE = f"""
grille:
  territoire: Toulouse Métropole (grille d'essai)
  code_epci: "{TERRITOIRE}"
  departement: "31"
  version: essai 1
  valide_du: 2020-01-01
  statut: exemple
criteres:
  - id: dalo
    libelle: Reconnu prioritaire DALO
    type: drapeau
    condition: dalo
    points: 50
  - id: pdalhpd
    libelle: Labellisé PDALHPD
    type: drapeau
    condition: pdalhpd
    points: 40
  - id: anciennete
    libelle: Ancienneté de la demande
    type: duree
    mesure: anciennete_mois
    points_par_mois: 1
"""


def demande(numero: str, depot: str, **champs) -> dict:
    base = {"numero_unique": numero, "date_depot": depot, "epci": TERRITOIRE, "departement": "31", "nb_adultes": 1,
            "revenus_mensuels": 1200, "situation_logement": "hebergement_tiers"}
    return {**base, **champs}


# Five applications written by hand; scores at 2026-03-01 under GRILLE_SIMPLE in the comments.
CINQ = [
    # 24 months + DALO 50 = 74 -> rank 1; similar (T3, 31555): 1st of 3
    demande("031000000001", "2024-03-01", date_renouvellement="2026-01-15", date_decision_dalo="2025-06-01",
            typologies_souhaitees=["T3"], communes_souhaitees=["31555"]),
    # 12 months + PDALHPD 40 = 52 -> rank 2; similar (T3, 31555): 2nd of 3
    demande("031000000002", "2025-03-01", date_renouvellement="2026-02-01", pdalhpd=True,
            categories_prioritaires=["b"], typologies_souhaitees=["T3"], communes_souhaitees=["31555", "31069"]),
    # 6 months -> rank 4; first typology in T1..T6 order is T3: similar (T3, 31555), 3rd of 3
    demande("031000000003", "2025-09-01", typologies_souhaitees=["T4", "T3"], communes_souhaitees=["31555"]),
    # 36 months -> rank 3; alone in (T2, 31555)
    demande("031000000004", "2023-03-01", date_renouvellement="2026-02-15", typologies_souhaitees=["T2"],
            communes_souhaitees=["31555"]),
    # 3 months -> rank 5; gave neither typology nor commune: ranked among those who gave none
    demande("031000000005", "2025-12-01"),
]


def importer_json(svc, items, qui="epci_toulouse"):
    return svc.client.post(f"{URL}/demandes", json=items, headers=svc.entetes(qui))


def nombre_demandes(svc) -> int:
    with svc.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Demande))


def publier_grille(svc, texte: str = GRILLE_SIMPLE, date_effet: str = "2026-01-01") -> None:
    r = deposer(svc, texte)
    assert r.status_code == 201, r.text
    assert publier(svc, r.json()["version"], date_effet).status_code == 200


def baux(svc, rows: list[tuple[str, str, str, str, str | None]]) -> None:
    """Lease outcomes inserted directly: (typologie, commune, date_depot, bail_date, bail)."""
    with svc.app.state.sessions.begin() as s:
        tid = s.scalar(select(Territoire.id).where(Territoire.code == TERRITOIRE))
        org = s.scalar(select(Organisation.id).where(Organisation.code == "B1"))
        run = Run(id="00000000-0000-0000-0000-000000000001", territoire_id=tid, organisation_id=org, statut="termine",
                  date_cal=date(2025, 6, 1), logements=["L1"], expire_le=datetime(2026, 1, 1, tzinfo=UTC))
        unit = Logement(organisation_id=org, territoire_id=tid, identifiant="L1", statut="loue", donnees="{}")
        s.add_all([run, unit])
        s.flush()
        for k, (typologie, commune, depot, bail_date, bail) in enumerate(rows):
            s.add(Proposition(run_id=run.id, territoire_id=tid, logement_id=unit.id, identifiant_logement="L1",
                              numero_unique=f"09{k:010d}", rang=1, score=0.0, publics={}, qpv=False, bailleur="B1",
                              reservataire="prefet", commune=commune, typologie=typologie,
                              date_depot=date.fromisoformat(depot), decision="attribution", bail=bail,
                              bail_date=date.fromisoformat(bail_date)))


# End to end --------------------------------------------------------------------------------------------


def test_import_lecture_et_information(service):
    """CSV then JSON import (upsert), reading back, and the applicant information on both backends."""
    svc = service
    table = generer_demandes(300, 3, JOUR, epci=TERRITOIRE, departement="31")
    r = importer(svc, table)
    assert r.status_code == 200, r.text
    assert r.json() == {"recues": 300, "creees": 300, "mises_a_jour": 0}

    text = demandes_en_texte(table).head(10)
    items = []
    for rec in text.to_dict("records"):
        rec = {k: v for k, v in rec.items() if v != ""}
        for name in ("motifs", "categories_prioritaires", "typologies_souhaitees", "communes_souhaitees"):
            rec[name] = rec[name].split(";") if name in rec else []
        rec["propositions"] = [dict(zip(("date", "issue"), p.split(":"), strict=True))
                               for p in rec.pop("propositions", "").split(";") if p]
        rec["revenus_mensuels"] = 1234.5
        items.append(rec)
    items.append(demande("031999999999", "2025-06-01"))
    r = importer_json(svc, items)
    assert r.status_code == 200, r.text
    assert r.json() == {"recues": 11, "creees": 1, "mises_a_jour": 10}
    assert nombre_demandes(svc) == 301

    numero = items[0]["numero_unique"]
    r = svc.client.get(f"{URL}/demandes/{numero}", headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 200
    assert r.json()["revenus_mensuels"] == 1234.5 and r.json()["statut"] == "active"
    assert r.json()["typologies_souhaitees"] == items[0]["typologies_souhaitees"]
    r = svc.client.get(f"{URL}/demandes", params={"taille": 5, "page": 2}, headers=svc.entetes("admin"))
    assert r.json()["total"] == 301 and len(r.json()["elements"]) == 5
    assert [e["numero_unique"] for e in r.json()["elements"]] == sorted(
        [*table["numero_unique"], "031999999999"])[5:10]

    publier_grille(svc, texte_grille("toulouse_metropole"))
    r = svc.client.get(f"{URL}/demandes/{numero}/information", params={"date": JOUR.isoformat()},
                       headers=svc.entetes("guichet_toulouse"))
    assert r.status_code == 200, r.text
    info = r.json()
    cot = evaluer_grilles([charger_grille(texte=texte_grille("toulouse_metropole"), source="g")],
                          table, JOUR)[0][1]
    i = cot.ligne(numero)
    assert info["score"] == cot.score[i] and info["grille"]["version"] == 1
    assert info["demandes_classees"] == int(cot.classees.sum()) + 1  # and the one added by JSON
    with svc.app.state.sessions() as s:
        actions = list(s.scalars(select(Audit).where(Audit.action == "import_demandes").order_by(Audit.id)))
    assert [a.details for a in actions] == [{"recues": 300, "creees": 300, "mises_a_jour": 0},
                                           {"recues": 11, "creees": 1, "mises_a_jour": 10}]


# Import -----------------------------------------------------------------------------------------------


def test_lot_invalide_rien_n_est_importe(service_sqlite):
    svc = service_sqlite
    table = generer_demandes(2000, 5, JOUR, epci=TERRITOIRE, departement="31")
    text = demandes_en_texte(table)
    text.loc[1233, "nb_adultes"] = "deux"
    text.loc[1500, "date_depot"] = "2025-02-30"
    r = svc.client.post(f"{URL}/demandes", content=text.to_csv(index=False).encode(),
                        headers={**svc.entetes("epci_toulouse"), "Content-Type": "text/csv; charset=utf-8"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["detail"].startswith("2 erreur(s) : rien n'a été importé")
    assert [(e["ligne"], e["champ"], e["identifiant"]) for e in body["erreurs"]] == [
        (1235, "nb_adultes", text.loc[1233, "numero_unique"]), (1502, "date_depot", text.loc[1500, "numero_unique"])]
    assert "nombre attendu" in body["erreurs"][0]["message"]
    assert nombre_demandes(svc) == 0

    # the same in JSON: items are numbered from 1
    items = [demande(f"03100000{k:04d}", "2025-01-01") for k in range(2000)]
    items[41]["situation_logement"] = "chateau"
    items[42]["epci"] = "200046977"
    r = importer_json(svc, items)
    assert r.status_code == 422
    assert [(e["ligne"], e["champ"]) for e in r.json()["erreurs"]] == [(42, "situation_logement")]
    items[41]["situation_logement"] = "sans_abri"
    r = importer_json(svc, items)
    assert r.status_code == 422 and [(e["ligne"], e["champ"]) for e in r.json()["erreurs"]] == [(43, "epci")]
    assert nombre_demandes(svc) == 0
    with svc.app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Audit).where(Audit.action == "import_demandes")) == 0


def test_corps_mal_formes(service_sqlite):
    svc = service_sqlite
    h = svc.entetes("epci_toulouse")
    r = svc.client.post(f"{URL}/demandes", content=b"[{", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON mal formé" in r.json()["erreurs"][0]["message"]
    r = svc.client.post(f"{URL}/demandes", content=b"{}", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422
    r = svc.client.post(f"{URL}/demandes", content=b"a;b", headers={**h, "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = importer_json(svc, [1, 2])
    assert r.status_code == 422 and len(r.json()["erreurs"]) == 2
    assert importer_json(svc, []).json() == {"recues": 0, "creees": 0, "mises_a_jour": 0}
    # what a database column would refuse is refused before, with its line
    r = importer_json(svc, [demande("0310\x0001", "2025-06-01"), demande("9" * 41, "2025-06-01"),
                            demande("031000000003", "2025-06-01", revenus_mensuels=1e300)])
    assert r.status_code == 422
    assert [(e["ligne"], e["champ"]) for e in r.json()["erreurs"]] == [
        (1, "numero_unique"), (2, "numero_unique"), (3, "revenus_mensuels")]
    assert nombre_demandes(svc) == 0
    # malformed path and query parameters are French 422s
    for url in ("/v1/territoires/abc/demandes", f"{URL}/grilles/{10**20}",
                f"{URL}/demandes/x/information?date=1000-01-01"):
        r = svc.client.get(url, headers=svc.entetes("admin"))
        assert r.status_code == 422 and r.json()["erreurs"], url
    assert svc.client.get(f"{URL}/demandes/inconnue", headers=h).status_code == 404


# The applicant information, by hand -------------------------------------------------------------------


def test_information_calculee_a_la_main(service_sqlite):
    svc = service_sqlite
    assert importer_json(svc, CINQ).status_code == 200
    publier_grille(svc)
    baux(svc, [
        ("T3", "31555", "2024-01-01", "2025-07-01", "signe"),  # 547 days
        ("T3", "31555", "2025-01-10", "2026-02-20", "signe"),  # 406 days
        ("T3", "31555", "2023-01-01", "2025-03-01", "signe"),  # signed more than twelve months ago
        ("T3", "31555", "2025-01-01", "2025-09-01", "refuse"),  # refused
        ("T2", "31555", "2025-01-01", "2025-11-01", "signe"),  # 304 days
        ("T3", "31069", "2025-06-01", "2026-01-01", "signe"),  # 214 days
    ])

    def info(numero: str, **params) -> dict:
        r = svc.client.get(f"{URL}/demandes/{numero}/information", params={"date": "2026-03-01", **params},
                           headers=svc.entetes("guichet_toulouse"))
        assert r.status_code == 200, r.text
        return r.json()

    a = info("031000000001")
    assert (a["score"], a["rang"], a["demandes_classees"], a["classee"]) == (74, 1, 5, True)
    assert [(c["critere"], c["points"]) for c in a["criteres"]] == [("dalo", 50), ("anciennete", 24)]
    assert a["criteres"][1]["detail"] == "Ancienneté de la demande : 24 mois × 1 point"
    assert "Total : 74 points — rang 1 sur 5 demandes classées." in a["explication"]
    assert a["grille"] == {"territoire": TERRITOIRE, "version": 1, "date_effet": "2026-01-01",
                           "libelle": "Toulouse Métropole (grille d'essai) — essai 1"}
    s = a["demandes_semblables"]
    assert (s["typologie"], s["commune"], s["position"], s["nombre"]) == ("T3", "31555", 1, 3)
    assert "même première typologie" in s["definition"]
    d = a["delai_moyen"]
    assert (d["jours"], d["baux"], d["du"], d["au"]) == ((547 + 406) / 2, 2, "2025-03-02", "2026-03-01")
    assert a["priorite"]["prioritaire"] is True
    assert a["priorite"]["motifs"] == ["reconnue prioritaire et devant être logée d'urgence par la commission de "
                                       "médiation DALO (décision du 01/06/2025)"]

    b = info("031000000002")
    assert (b["score"], b["rang"]) == (52, 2)
    assert (b["demandes_semblables"]["position"], b["demandes_semblables"]["nombre"]) == (2, 3)
    assert len(b["priorite"]["motifs"]) == 2
    assert b["priorite"]["motifs"][0].startswith("public prioritaire de l'art. L441-1 CCH, b) : personne mal logée")
    assert "PDALHPD" in b["priorite"]["motifs"][1]

    c = info("031000000003")
    assert (c["score"], c["rang"], c["demandes_semblables"]["typologie"]) == (6, 4, "T3")
    assert (c["demandes_semblables"]["position"], c["demandes_semblables"]["nombre"]) == (3, 3)
    assert c["priorite"] == {"prioritaire": False, "motifs": []}

    dd = info("031000000004")
    assert (dd["score"], dd["rang"], dd["demandes_semblables"]["position"], dd["demandes_semblables"]["nombre"]) == (
        36, 3, 1, 1)
    assert (dd["delai_moyen"]["jours"], dd["delai_moyen"]["baux"]) == (304, 1)

    e = info("031000000005")
    assert (e["score"], e["rang"]) == (3, 5)
    s = e["demandes_semblables"]
    assert (s["typologie"], s["commune"], s["position"], s["nombre"]) == (None, None, 1, 1)
    assert "n'a pas indiqué de typologie ni de commune" in s["message"]
    # neither typology nor commune: every lease of the territory in the window
    assert (e["delai_moyen"]["jours"], e["delai_moyen"]["baux"]) == ((547 + 406 + 304 + 214) / 4, 4)

    # no lease in the window: no average, and a sentence that says so
    late = info("031000000004", date="2026-12-01")
    assert late["delai_moyen"]["jours"] is None and late["delai_moyen"]["baux"] == 0
    assert "aucun bail signé" in late["delai_moyen"]["message"]
    # the score moves with the date: the same cache never serves two dates
    assert late["score"] == 36 + 9


def test_information_erreurs_et_cache(service_sqlite):
    svc = service_sqlite
    h = svc.entetes("guichet_toulouse")
    assert importer_json(svc, CINQ).status_code == 200
    url = f"{URL}/demandes/031000000001/information"
    r = svc.client.get(url, params={"date": "2026-03-01"}, headers=h)
    assert r.status_code == 409 and "aucune grille publiée en vigueur au 01/03/2026" in r.json()["detail"]
    publier_grille(svc)
    r = svc.client.get(url, params={"date": "2025-12-31"}, headers=h)
    assert r.status_code == 409 and "aucune grille publiée en vigueur au 31/12/2025" in r.json()["detail"]
    assert svc.client.get(f"{URL}/demandes/031000000404/information", headers=h).status_code == 404
    assert svc.client.get(url, params={"date": "2026-02-30"}, headers=h).status_code == 422
    assert svc.client.get(url, params={"date": "2026-03-01"}, headers=h).json()["score"] == 74

    # a read after an import sees the new data (the import bumps the revision the cache is keyed on)
    changed = {**CINQ[0], "date_decision_dalo": None}
    assert importer_json(svc, [changed]).status_code == 200
    assert svc.client.get(url, params={"date": "2026-03-01"}, headers=h).json()["score"] == 24
    pools = cache_scores(svc.app)._pools.valeurs()
    assert len(pools) == 2 and len({p.revision for p in pools}) == 2
    svc.client.get(url, params={"date": "2026-03-01"}, headers=h)
    assert len(cache_scores(svc.app)._pools.valeurs()) == 2  # a warm read builds nothing

    # an application already housed has no score any more
    with svc.app.state.sessions.begin() as s:
        s.execute(update(Demande).where(Demande.numero_unique == "031000000004").values(statut="attribuee"))
    r = svc.client.get(f"{URL}/demandes/031000000004/information", headers=h)
    assert r.status_code == 409 and "attribuée" in r.json()["detail"]
    r = svc.client.get(f"{URL}/demandes", params={"statut": "attribuee"}, headers=svc.entetes("epci_toulouse"))
    assert [e["numero_unique"] for e in r.json()["elements"]] == ["031000000004"]


# Scoring one application -------------------------------------------------------------------------------


def test_coter_une_demande(service_sqlite):
    svc = service_sqlite
    url = f"{URL}/cotation"
    a = CINQ[0]
    r = svc.client.post(url, json=a, params={"date": "2026-03-01"}, headers=svc.entetes("B1"))
    assert r.status_code == 409 and "aucune grille publiée" in r.json()["detail"]
    publier_grille(svc)
    for qui in ("B1", "prefecture", "guichet_toulouse", "epci_toulouse", "admin"):
        r = svc.client.post(url, json=a, params={"date": "2026-03-01"}, headers=svc.entetes(qui))
        assert r.status_code == 200, r.text
    body = r.json()
    assert (body["score"], body["classee"], body["motif_non_classee"]) == (74, True, None)
    assert [c["critere"] for c in body["criteres"]] == ["dalo", "anciennete"]
    assert body["explication"].splitlines()[-1] == "Total : 74 points."
    assert "rang" not in body["explication"]
    # not renewed for more than a year: scored, not ranked
    r = svc.client.post(url, json={**a, "date_renouvellement": None}, params={"date": "2026-03-01"},
                        headers=svc.entetes("B1"))
    assert r.json()["classee"] is False and "non renouvelée" in r.json()["motif_non_classee"]
    # validation by the record: French problems, never a 500
    r = svc.client.post(url, json={**a, "situation_logement": "chateau", "nb_adultes": "x"},
                        headers=svc.entetes("B1"))
    assert r.status_code == 422
    assert {e["champ"] for e in r.json()["erreurs"]} == {"body.situation_logement", "body.nb_adultes"}
    assert "valeurs possibles" in " ".join(e["message"] for e in r.json()["erreurs"])
    r = svc.client.post(url, json={**a, "couple": True}, headers=svc.entetes("B1"))
    assert r.status_code == 422 and "couple" in r.json()["erreurs"][0]["message"]
    r = svc.client.post(url, content=b"{", headers={**svc.entetes("B1"), "Content-Type": "application/json"})
    assert r.status_code == 400
    r = svc.client.post(url, json={**a, "epci": "200046977"}, headers=svc.entetes("B1"))
    assert r.status_code == 422 and r.json()["erreurs"][0]["champ"] == "body.epci"
    assert svc.client.post(url, json=a, headers=svc.entetes("epci_lyon")).status_code == 403
    assert svc.client.post(url, json=a).status_code == 401
    with svc.app.state.sessions() as s:  # nothing stored, nothing traced
        assert s.scalar(select(func.count()).select_from(Demande)) == 0
        assert s.scalar(select(func.count()).select_from(Audit).where(Audit.action.like("%cotation%"))) == 0


# Access ------------------------------------------------------------------------------------------------


def test_securite_des_demandes(service_sqlite):
    svc = service_sqlite
    url = f"{URL}/demandes"
    assert svc.client.post(url, json=CINQ).status_code == 401
    assert svc.client.post(url, json=CINQ, headers={"Authorization": "Bearer cot_inconnu"}).status_code == 401
    for qui in ("B1", "guichet_toulouse", "prefecture", "epci_lyon"):
        r = importer_json(svc, CINQ, qui=qui)
        assert r.status_code == 403, qui
        assert r.headers["content-type"] == "application/problem+json"
    assert nombre_demandes(svc) == 0
    with svc.app.state.sessions() as s:
        assert s.scalar(select(Territoire.revision_demandes).where(Territoire.code == TERRITOIRE)) == 0
    assert importer_json(svc, CINQ, qui="admin").status_code == 200
    publier_grille(svc)
    one = f"{url}/031000000001"
    for qui in ("guichet_toulouse", "B1", "epci_lyon"):  # the full record is for the EPCI
        assert svc.client.get(one, headers=svc.entetes(qui)).status_code == 403
        assert svc.client.get(url, headers=svc.entetes(qui)).status_code == 403
    assert svc.client.get(one, headers=svc.entetes("epci_toulouse")).status_code == 200
    info = f"{one}/information"
    for qui, status in (("guichet_toulouse", 200), ("epci_toulouse", 200), ("admin", 200), ("epci_lyon", 403),
                        ("B1", 403), ("prefecture", 403)):
        assert svc.client.get(info, params={"date": "2026-03-01"}, headers=svc.entetes(qui)).status_code == status
    assert svc.client.get(info).status_code == 401
    assert svc.client.get("/v1/territoires/999999999/demandes", headers=svc.entetes("admin")).status_code == 404


def test_openapi_documente_les_corps(service_sqlite):
    spec = service_sqlite.client.get("/v1/openapi.json").json()
    body = spec["paths"]["/v1/territoires/{code}/demandes"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    assert "numero_unique" in body["application/json"]["schema"]["items"]["properties"]
    assert "$ref" not in json.dumps(body)
    grid = spec["paths"]["/v1/territoires/{code}/grilles"]["post"]["requestBody"]["content"]
    assert "application/yaml" in grid
    score = spec["paths"]["/v1/territoires/{code}/cotation"]["post"]["requestBody"]["content"]["application/json"]
    assert score["schema"]["$ref"].endswith("/Demande")


# Similar applications as a property --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), graine=st.integers(0, 10_000), jour=st.dates(date(2025, 1, 1), date(2027, 1, 1)))
def test_position_parmi_les_semblables(n, graine, jour):
    """The precomputed position equals a direct count: similar applications ranked before, plus one."""
    table = generer_demandes(n, graine, date(2026, 3, 1), epci=TERRITOIRE, departement="31")
    compiled = compiler(charger_grille(texte=texte_grille("toulouse_metropole"), source="g"))
    cot = figer(evaluer_grilles([compiled], table, jour)[0][1])
    pool = construire_pool(1, 0, compiled, table, cot)
    flags = table[[f"typologie_T{k}" for k in range(1, 7)]].to_numpy()
    for i in range(n):
        typologie = next((f"T{k + 1}" for k in range(6) if flags[i, k]), "")
        commune = (table["communes_souhaitees"].iloc[i] or "").split(";")[0]
        assert (pool.typologie[i], pool.commune[i]) == (typologie, commune)
        same = (pool.typologie == typologie) & (pool.commune == commune) & cot.classees
        assert pool.semblables[i] == same.sum()
        expected = int((same & (cot.rang < cot.rang[i])).sum()) + 1 if cot.classees[i] else 0
        assert pool.position[i] == expected
    assert pool.lignes == {x: k for k, x in enumerate(table["numero_unique"])}
    assert isinstance(pool.table, pd.DataFrame) and np.array_equal(pool.cotation.score, cot.score)


@settings(max_examples=60, deadline=None)
@given(d=demandes())
def test_table_une_demande_comme_le_fichier(d):
    """The fast one-row table of the scoring route is exactly the table the file path builds."""
    pd.testing.assert_frame_equal(table_une_demande(d), table_depuis_demandes([d]), check_exact=True)
