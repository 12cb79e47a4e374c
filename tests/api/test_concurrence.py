"""Two servers over one PostgreSQL database: runs started at the same moment never share a household.

Each server is its own app, with its own executor threads and connection pool; the only thing
they share is the database, whose advisory lock serializes the runs of one territory. B1 and B2
offer identical units, so without the lock both runs would pick exactly the same households.
"""

from __future__ import annotations

import threading

from conftest import Service, demarrer
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_service_propositions import (
    annuler,
    attendre,
    charger_logements,
    importer_demandes,
    lancer,
    menages,
    publier_grille,
)

from api.app import creer_application
from api.models import Verrou
from api.settings import Reglages


def _lancer(barrier: threading.Barrier, svc: Service, qui: str, started: dict[str, str]) -> None:
    barrier.wait()
    started[qui] = lancer(svc, qui)


def test_deux_calculs_simultanes_ne_proposent_jamais_le_meme_menage(base_postgres):
    first = demarrer(base_postgres)
    app = creer_application(Reglages(database_url=base_postgres))
    second = Service(TestClient(app), app, first.jetons)  # same database, same tokens: another server
    second.client.__enter__()
    try:
        publier_grille(first)
        importer_demandes(first)
        charger_logements(first, "B1")
        charger_logements(second, "B2", prefixe="B2-")
        servers = {"B1": first, "B2": second}
        for round_ in range(3):
            started: dict[str, str] = {}
            barrier = threading.Barrier(2)
            threads = [threading.Thread(target=_lancer, args=(barrier, servers[qui], qui, started)) for qui in servers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            runs = {qui: attendre(servers[qui], started[qui], qui) for qui in servers}
            assert all(r["statut"] == "termine" for r in runs.values()), [r["erreur"] for r in runs.values()]
            proposed = {qui: menages(r) for qui, r in runs.items()}
            assert proposed["B1"] and proposed["B2"]
            assert not proposed["B1"] & proposed["B2"], round_
            # the two runs were in flight together: each was asked for before the other was written
            assert runs["B1"]["cree_le"] < runs["B2"]["fin"] and runs["B2"]["cree_le"] < runs["B1"]["fin"]
            with first.app.state.sessions() as s:
                held = list(s.scalars(select(Verrou.numero_unique)))
            assert len(held) == len(set(held)) and set(held) == proposed["B1"] | proposed["B2"]
            for qui, r in runs.items():  # free everything for the next round
                assert annuler(servers[qui], r["id"], qui).status_code == 200
            servers = {"B1": servers["B2"], "B2": servers["B1"]}  # and swap the servers
    finally:
        second.client.__exit__(None, None, None)
        first.client.__exit__(None, None, None)
