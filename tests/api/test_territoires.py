"""Territories and their versioned grids and policies: upload, preview, publication, immutability, access."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
from conftest import AUTRE_TERRITOIRE, TERRITOIRE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from api.models import Audit, Base, Territoire, VersionRegles
from api.versions import version_en_vigueur
from cotation.moteur import evaluer_grilles
from cotation.table import demandes_en_texte
from rules.chargement import charger_grille
from simulation.territoire import generer_demandes

RACINE = Path(__file__).resolve().parents[2]
GRILLES = RACINE / "rules" / "grilles"
POLITIQUES = RACINE / "rules" / "politiques"
JOUR = date(2026, 3, 1)
YAML = {"Content-Type": "application/yaml"}


def texte_grille(nom: str, code_epci: str = TERRITOIRE) -> str:
    """A shipped grid's YAML, its metadata naming `code_epci`."""
    text = (GRILLES / f"{nom}.yaml").read_text(encoding="utf-8")
    return re.sub(r'code_epci: "\d{9}"', f'code_epci: "{code_epci}"', text)


def deposer(svc, texte: str, qui: str = "epci_toulouse", territoire: str = TERRITOIRE, genre: str = "grilles",
            media: str = "application/yaml"):
    return svc.client.post(f"/v1/territoires/{territoire}/{genre}", content=texte.encode(),
                           headers={**svc.entetes(qui), "Content-Type": media})


def publier(svc, version: int, date_effet: str, qui: str = "epci_toulouse", territoire: str = TERRITOIRE,
            genre: str = "grilles"):
    return svc.client.post(f"/v1/territoires/{territoire}/{genre}/{version}/publication",
                           json={"date_effet": date_effet}, headers=svc.entetes(qui))


def importer(svc, table, qui: str = "epci_toulouse"):
    csv = demandes_en_texte(table).to_csv(index=False)
    return svc.client.post(f"/v1/territoires/{TERRITOIRE}/demandes", content=csv.encode(),
                           headers={**svc.entetes(qui), "Content-Type": "text/csv"})


def versions_en_base(svc) -> list[tuple[int, str, date | None]]:
    with svc.app.state.sessions() as s:
        query = select(VersionRegles.version, VersionRegles.statut, VersionRegles.date_effet)
        return [tuple(r) for r in s.execute(query.order_by(VersionRegles.genre, VersionRegles.version))]


# End to end ---------------------------------------------------------------------------------------


def test_cycle_de_vie_d_une_grille(service):
    """Upload, preview, publish, immutability; the previous version stays readable and in force before."""
    svc = service
    table = generer_demandes(400, 7, JOUR, epci=TERRITOIRE, departement="31")
    assert importer(svc, table).status_code == 200

    r = deposer(svc, texte_grille("toulouse_metropole"))
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["version"], v1["statut"], v1["date_effet"]) == (1, "brouillon", None)
    assert v1["libelle"].startswith("Toulouse Métropole — ")
    assert r.headers["Location"] == f"/v1/territoires/{TERRITOIRE}/grilles/1"
    r = publier(svc, 1, "2026-01-01")
    assert r.status_code == 200, r.text
    assert r.json()["statut"] == "publiee" and r.json()["date_effet"] == "2026-01-01"

    r = deposer(svc, texte_grille("exemple_complet"))
    assert r.status_code == 201 and r.json()["version"] == 2

    # preview of the draft against the grid in force, checked against a direct computation
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/grilles/2/apercu", params={"date": JOUR.isoformat()},
                       headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 200, r.text
    apercu = r.json()
    new = evaluer_grilles([charger_grille(GRILLES / "exemple_complet.yaml")], table, JOUR)[0][1]
    old = evaluer_grilles([charger_grille(GRILLES / "toulouse_metropole.yaml")], table, JOUR)[0][1]
    ranked = new.score[new.classees]
    d = apercu["distribution"]
    assert d["demandes_cotees"] == 400 and d["demandes_classees"] == int(new.classees.sum())
    assert d["score_median"] == float(np.median(ranked)) and d["score_max"] == float(ranked.max())
    assert d["score_p90"] == float(np.quantile(ranked, 0.9)) and d["score_min"] == float(ranked.min())
    head_old = set(old.numero_unique[(old.rang >= 1) & (old.rang <= 100)])
    head_new = set(new.numero_unique[(new.rang >= 1) & (new.rang <= 100)])
    c = apercu["comparaison"]
    assert c["version_en_vigueur"] == 1 and c["taille_tete"] == 100
    assert c["tete_conservee"] == len(head_old & head_new)
    both = (old.rang > 0) & (new.rang > 0)  # same row order: the pool and the generated table
    assert c["variation_rang_mediane"] == float(np.median(np.abs(new.rang[both] - old.rang[both])))
    assert "## " in apercu["texte_public"] and "Territoire d'exemple" in apercu["texte_public"]

    r = publier(svc, 2, "2026-06-01")
    assert r.status_code == 200
    # a published version is immutable
    assert publier(svc, 2, "2026-07-01").status_code == 409
    r = svc.client.delete(f"/v1/territoires/{TERRITOIRE}/grilles/2", headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "immuable" in publier(svc, 1, "2026-07-01").json()["detail"]
    # the previous version is still readable, and in force before the new effective date
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/grilles/1", headers=svc.entetes("guichet_toulouse"))
    assert r.status_code == 200 and r.json()["statut"] == "publiee"
    assert r.json()["texte"] == texte_grille("toulouse_metropole")
    with svc.app.state.sessions() as s:
        tid = s.scalar(select(Territoire.id).where(Territoire.code == TERRITOIRE))
        assert version_en_vigueur(s, tid, "grille", date(2026, 5, 31)).version == 1
        assert version_en_vigueur(s, tid, "grille", date(2026, 6, 1)).version == 2
        assert version_en_vigueur(s, tid, "grille", date(2025, 12, 31)) is None
    demande = {"numero_unique": "X1", "date_depot": "2025-01-01", "epci": TERRITOIRE, "nb_adultes": 1,
               "revenus_mensuels": 900, "situation_logement": "sans_abri"}
    for jour, version in (("2026-05-31", 1), ("2026-06-01", 2)):
        r = svc.client.post(f"/v1/territoires/{TERRITOIRE}/cotation", params={"date": jour}, json=demande,
                            headers=svc.entetes("B1"))
        assert r.status_code == 200 and r.json()["grille"]["version"] == version
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/grilles", headers=svc.entetes("prefecture"))
    assert [(e["version"], e["statut"], e["en_vigueur"]) for e in r.json()["elements"]] == [
        (1, "publiee", False), (2, "publiee", True)]
    with svc.app.state.sessions() as s:
        actions = list(s.scalars(select(Audit.action).where(Audit.action.like("%grille"))))
    assert actions == ["depot_grille", "publication_grille", "depot_grille", "publication_grille"]


# Validation -------------------------------------------------------------------------------------------


def test_yaml_invalide_422_avec_lignes(service_sqlite):
    svc = service_sqlite
    broken = texte_grille("toulouse_metropole").replace("    type: duree\n", "    type: duree_x\n", 1)
    line = broken.splitlines().index("  - id: anciennete_mois") + 1  # the criterion's first line
    r = deposer(svc, broken)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert "n'a pas été enregistré" in body["detail"]
    assert any(e["ligne"] == line and e["critere"] == "anciennete_mois" and "type de critère inconnu" in e["message"]
               for e in body["erreurs"])

    r = deposer(svc, "grille:\n  territoire: x\n   version: 2\n")
    assert r.status_code == 422 and r.json()["erreurs"][0]["ligne"] == 3
    assert "YAML mal formé" in r.json()["erreurs"][0]["message"]
    assert deposer(svc, "").status_code == 422
    r = svc.client.post(f"/v1/territoires/{TERRITOIRE}/grilles", content=b"grille: \xff\n",
                        headers={**svc.entetes("epci_toulouse"), **YAML})
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]

    # a grid naming another EPCI
    r = deposer(svc, texte_grille("exemple_complet", AUTRE_TERRITOIRE))
    assert r.status_code == 422
    err = r.json()["erreurs"][0]
    assert err["champ"] == "grille.code_epci" and err["ligne"] == 6 and AUTRE_TERRITOIRE in err["message"]

    # a policy is validated as a policy
    r = deposer(svc, texte_grille("toulouse_metropole"), genre="politiques")
    assert r.status_code == 422 and r.json()["erreurs"]
    assert versions_en_base(svc) == []


def test_type_de_contenu(service_sqlite):
    svc = service_sqlite
    r = deposer(svc, texte_grille("toulouse_metropole"), media="application/json")
    assert r.status_code == 415 and "application/yaml" in r.json()["detail"]
    for media in ("text/plain; charset=utf-8", "text/yaml", "application/x-yaml"):
        assert deposer(svc, texte_grille("toulouse_metropole"), media=media).status_code == 201
    assert [v for v, _s, _d in versions_en_base(svc)] == [1, 2, 3]


def test_politique_et_brouillons(service_sqlite):
    svc = service_sqlite
    text = (POLITIQUES / "defaut.yaml").read_text(encoding="utf-8")
    r = deposer(svc, text, genre="politiques")
    assert r.status_code == 201 and r.json()["genre"] == "politique" and r.json()["version"] == 1
    # the policy's own validity starts in 2017
    r = publier(svc, 1, "2016-12-31", genre="politiques")
    assert r.status_code == 422 and "28/01/2017" in r.json()["detail"]
    assert publier(svc, 1, "2026-01-01", genre="politiques").status_code == 200
    # a second version cannot take effect before the first one published
    assert deposer(svc, text, genre="politiques").json()["version"] == 2
    r = publier(svc, 2, "2025-01-01", genre="politiques")
    assert r.status_code == 422 and "antérieure" in r.json()["detail"]
    # drafts can be deleted; the next number follows the highest remaining one
    url = f"/v1/territoires/{TERRITOIRE}/politiques/2"
    assert svc.client.delete(url, headers=svc.entetes("epci_toulouse")).status_code == 204
    assert svc.client.get(url, headers=svc.entetes("epci_toulouse")).status_code == 404
    assert deposer(svc, text, genre="politiques").json()["version"] == 2
    assert publier(svc, 9, "2026-01-01", genre="politiques").status_code == 404
    r = svc.client.post(f"/v1/territoires/{TERRITOIRE}/politiques/2/publication", json={"date_effet": "demain"},
                        headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 422 and r.json()["erreurs"][0]["champ"] == "body.date_effet"
    # grids and policies are numbered separately
    assert deposer(svc, texte_grille("toulouse_metropole")).json()["version"] == 1
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/politiques", params={"taille": 1, "page": 2},
                       headers=svc.entetes("epci_toulouse"))
    assert r.json()["total"] == 2 and [e["version"] for e in r.json()["elements"]] == [2]


def test_apercu_sans_demande_ni_comparaison(service_sqlite):
    svc = service_sqlite
    deposer(svc, texte_grille("toulouse_metropole"))
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/grilles/1/apercu", headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 200, r.text
    assert r.json()["distribution"] == {"demandes_cotees": 0, "demandes_classees": 0, "score_min": None,
                                        "score_median": None, "score_p90": None, "score_max": None}
    assert r.json()["comparaison"] is None
    # before the grid's own validity
    r = svc.client.get(f"/v1/territoires/{TERRITOIRE}/grilles/1/apercu", params={"date": "2020-01-01"},
                       headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 422 and "n'est pas en vigueur" in r.json()["detail"]


# Territories and access ---------------------------------------------------------------------------


def test_territoires(service_sqlite):
    svc = service_sqlite
    admin = svc.entetes("admin")
    r = svc.client.post("/v1/territoires", json={"code": "200054781", "nom": "Métropole du Grand Paris",
                                                 "departement": "75"}, headers=admin)
    assert r.status_code == 201 and r.json()["code"] == "200054781"
    assert svc.client.post("/v1/territoires", json={"code": "200054781", "nom": "x"}, headers=admin).status_code == 409
    r = svc.client.post("/v1/territoires", json={"code": "12", "nom": "x"}, headers=admin)
    assert r.status_code == 422 and "SIREN" in r.json()["detail"]
    r = svc.client.post("/v1/territoires", json={"code": "200054782", "nom": "x"}, headers=svc.entetes("epci_toulouse"))
    assert r.status_code == 403
    r = svc.client.get("/v1/territoires", params={"taille": 2}, headers=svc.entetes("B1"))
    assert r.json()["total"] == 3 and [t["code"] for t in r.json()["elements"]] == sorted(
        [TERRITOIRE, AUTRE_TERRITOIRE, "200054781"])[:2]
    assert svc.client.get("/v1/territoires/200054781", headers=svc.entetes("guichet_toulouse")).status_code == 200
    assert svc.client.get("/v1/territoires/999999999", headers=admin).status_code == 404
    with svc.app.state.sessions() as s:
        line = s.scalars(select(Audit).where(Audit.ressource == "territoire 200054781")).one()
        assert line.organisation_id is not None and line.action == "creation_territoire"


def test_securite_des_grilles(service_sqlite):
    svc = service_sqlite
    url = f"/v1/territoires/{TERRITOIRE}/grilles"
    text = texte_grille("toulouse_metropole")
    assert svc.client.post(url, content=text, headers=YAML).status_code == 401
    r = svc.client.post(url, content=text, headers={**YAML, "Authorization": "Bearer cot_faux"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert svc.client.get(url).status_code == 401
    assert deposer(svc, text).status_code == 201
    with svc.app.state.sessions() as s:
        audit_before = s.scalar(select(func.count()).select_from(Audit))
    before = versions_en_base(svc)
    # an EPCI cannot write another territory's grid; guichet and bailleur cannot write at all
    for qui, status in (("epci_lyon", 403), ("guichet_toulouse", 403), ("B1", 403), ("prefecture", 403)):
        assert deposer(svc, text, qui=qui).status_code == status
        assert publier(svc, 1, "2026-01-01", qui=qui).status_code == status
        assert svc.client.delete(f"{url}/1", headers=svc.entetes(qui)).status_code == status
    assert "rattachée" in deposer(svc, text, qui="epci_lyon").json()["detail"]
    # nor read it (another territory's EPCI or guichet); bailleurs and reservataires may
    assert svc.client.get(url, headers=svc.entetes("epci_lyon")).status_code == 403
    assert svc.client.get(f"{url}/1/apercu", headers=svc.entetes("epci_lyon")).status_code == 403
    assert svc.client.get(f"{url}/1", headers=svc.entetes("B2")).status_code == 200
    assert versions_en_base(svc) == before == [(1, "brouillon", None)]
    with svc.app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Audit)) == audit_before
    # the admin may act on any territory
    assert publier(svc, 1, "2026-01-01", qui="admin").status_code == 200


# version_en_vigueur as a property -------------------------------------------------------------------


VERSIONS = st.lists(st.tuples(st.booleans(), st.dates(date(2024, 1, 1), date(2024, 12, 31))), max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=VERSIONS, jour=st.dates(date(2023, 12, 1), date(2025, 1, 31)), genre=st.sampled_from(["grille",
                                                                                                      "politique"]))
def test_version_en_vigueur_propriete(versions, jour, genre):
    """The latest effective date on or before the day, then the highest number; drafts never count."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        t = Territoire(code=TERRITOIRE, nom="t")
        s.add(t)
        s.flush()
        for k, (published, effect) in enumerate(versions, start=1):
            for g in ("grille", "politique"):  # the other genre must never interfere
                s.add(VersionRegles(territoire_id=t.id, genre=g, version=k, texte="", libelle="",
                                    statut="publiee" if published else "brouillon",
                                    date_effet=effect if published else None))
        s.flush()
        candidates = [(effect, k) for k, (published, effect) in enumerate(versions, start=1)
                      if published and effect <= jour]
        found = version_en_vigueur(s, t.id, genre, jour)
        assert (found.version if found else None) == (max(candidates)[1] if candidates else None)
        assert found is None or found.genre == genre
    engine.dispose()
