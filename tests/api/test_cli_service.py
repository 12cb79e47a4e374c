"""The service's command line: set-up commands, and the demo territory an empty base receives."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import creer_application
from api.cli import main
from api.db import fabrique_sessions, migrer, moteur
from api.models import Audit, Demande, Jeton, Logement
from api.service_demo import base_vide, charger_demo
from api.settings import Reglages


def test_setup_commands_create_a_working_token(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["territoire", "243100518", "--nom", "Toulouse Métropole", "--departement", "31", "--base", url]) == 0
    assert main(["organisation", "epci_tm", "--role", "epci", "--territoire", "243100518", "--base", url]) == 0
    capsys.readouterr()
    assert main(["jeton", "epci_tm", "--base", url]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cot_")
    app = creer_application(Reglages(database_url=url))
    with TestClient(app) as client:
        r = client.get("/v1/territoires/243100518", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    with fabrique_sessions(moteur(url))() as s:
        stored = s.scalars(select(Jeton.empreinte)).all()
        assert token not in stored and len(stored) == 1  # only the hash is kept
        assert {a.action for a in s.scalars(select(Audit))} >= {"creation_territoire", "creation_organisation",
                                                                 "creation_jeton"}


def test_setup_errors_are_french_and_change_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["territoire", "12", "--nom", "x", "--base", url]) == 1
    assert "9 chiffres" in capsys.readouterr().err
    assert main(["organisation", "e", "--role", "epci", "--base", url]) == 1
    assert "territoire" in capsys.readouterr().err
    assert main(["jeton", "inconnue", "--base", url]) == 1
    assert "inconnue" in capsys.readouterr().err
    with fabrique_sessions(moteur(url))() as s:
        assert s.scalar(select(func.count()).select_from(Jeton)) == 0


def test_demo_territory_is_usable_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = moteur(url)
    migrer(engine)
    sessions = fabrique_sessions(engine)
    assert base_vide(sessions)
    tokens = charger_demo(sessions, n_demandes=400, n_logements=10)
    assert not base_vide(sessions)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 400
        assert s.scalar(select(func.count()).select_from(Logement)) == 10
    app = creer_application(Reglages(database_url=url))
    with TestClient(app) as client:
        numero = client.get("/v1/territoires/200046977/demandes", params={"taille": 1},
                            headers={"Authorization": f"Bearer {tokens['epci_demo']}"}).json()["elements"][0]
        r = client.get(f"/v1/territoires/200046977/demandes/{numero['numero_unique']}/information",
                       params={"date": "2026-03-01"}, headers={"Authorization": f"Bearer {tokens['guichet_demo']}"})
        assert r.status_code == 200, r.text
        r = client.post("/v1/propositions", json={"territoire": "200046977", "date_cal": "2026-03-01"},
                        headers={"Authorization": f"Bearer {tokens['bailleur_demo']}"})
        assert r.status_code == 202, r.text
