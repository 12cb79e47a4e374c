"""Bad input across the service: every case a clear French problem+json, never a 500, nothing written."""

from __future__ import annotations

import pytest
from conftest import TERRITOIRE, demarrer
from sqlalchemy import func, select

from api.models import Audit, Demande, Logement


@pytest.fixture
def petit_service(sqlite_seul):
    svc = demarrer(sqlite_seul, taille_max_corps=4096)
    yield svc
    svc.client.__exit__(None, None, None)


def _compte(svc, model) -> int:
    with svc.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _probleme(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


def test_oversized_body_is_refused_before_parsing(petit_service):
    svc = petit_service
    audits = _compte(svc, Audit)
    big = b"[" + b",".join([b'{"numero_unique": "069000000001"}'] * 400) + b"]"
    r = svc.client.post(f"/v1/territoires/{TERRITOIRE}/demandes", content=big,
                        headers={**svc.entetes("epci_toulouse"), "Content-Type": "application/json"})
    body = _probleme(r, 413)
    assert "4096 octets" in body["detail"]
    assert _compte(svc, Demande) == 0 and _compte(svc, Audit) == audits


def test_streamed_oversized_body_is_refused(petit_service):
    svc = petit_service

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    r = svc.client.post("/v1/logements", content=chunks(),
                        headers={**svc.entetes("B1"), "Content-Type": "text/csv"})
    _probleme(r, 413)
    assert _compte(svc, Logement) == 0


def test_malformed_json_wrong_types_unknown_enums(service_sqlite):
    svc = service_sqlite
    h = {**svc.entetes("B1"), "Content-Type": "application/json"}
    body = _probleme(svc.client.post("/v1/propositions", content=b'{"territoire": ', headers=h), 400)
    assert "JSON mal formé" in body["detail"]
    body = _probleme(svc.client.post("/v1/propositions", json={"territoire": TERRITOIRE, "date_cal": "pas une date"},
                                     headers=svc.entetes("B1")), 422)
    assert any(e["champ"] and "date_cal" in e["champ"] for e in body["erreurs"])
    assert all("date" in e["message"] or "champ" in e["message"] for e in body["erreurs"])
    body = _probleme(svc.client.post("/v1/propositions/inconnu/decisions",
                                     json=[{"logement": "L1", "numero_unique": "1", "decision": "peut-etre"}],
                                     headers=svc.entetes("B1")), 422)
    assert "valeurs possibles" in body["erreurs"][0]["message"]


def test_one_bad_row_in_a_csv_of_thousands_imports_nothing(service_sqlite):
    from cotation.table import demandes_en_texte
    from simulation.territoire import generer_demandes

    svc = service_sqlite
    text = demandes_en_texte(generer_demandes(3000, 4, __import__("datetime").date(2026, 3, 1), epci=TERRITOIRE,
                                              departement="31"))
    text.loc[1234, "revenus_mensuels"] = "beaucoup"
    r = svc.client.post(f"/v1/territoires/{TERRITOIRE}/demandes", content=text.to_csv(index=False).encode(),
                        headers={**svc.entetes("epci_toulouse"), "Content-Type": "text/csv"})
    body = _probleme(r, 422)
    [err] = body["erreurs"]
    assert err["ligne"] == 1236 and err["champ"] == "revenus_mensuels"  # header is line 1
    assert err["identifiant"] == text.loc[1234, "numero_unique"]
    assert _compte(svc, Demande) == 0


def test_historique_fusionne_a_la_reimportation():
    from api.stockage import fusionner_historique

    assert fusionner_historique("", "") == ""
    assert fusionner_historique("2025-01-02:refus_legitime", "") == "2025-01-02:refus_legitime"
    # the stored refusal survives; events in date order; a day's two refusals stay two
    assert fusionner_historique("2025-01-02:refus_legitime;2025-01-02:refus_legitime",
                                "2024-06-01:refus_non_legitime;2025-01-02:refus_legitime") == \
        "2024-06-01:refus_non_legitime;2025-01-02:refus_legitime;2025-01-02:refus_legitime"
