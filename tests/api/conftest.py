"""Service fixtures: a fresh database per test on SQLite and on PostgreSQL, a client, tokens.

PostgreSQL is the one on 127.0.0.1:5432 (COTATION_TEST_POSTGRES to use another server); each
test gets a throwaway database, dropped afterwards. Without a reachable server the PostgreSQL
cases are skipped locally, and fail under CI (CI=true), where the server must be up.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.admin import creer_jeton, creer_organisation, creer_territoire
from api.app import creer_application
from api.settings import Reglages

SERVEUR_PG = os.environ.get("COTATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TERRITOIRE = "243100518"  # Toulouse Métropole
AUTRE_TERRITOIRE = "200046977"  # Métropole de Lyon


def _pg_disponible() -> bool:
    try:
        with psycopg.connect(f"{SERVEUR_PG}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_disponible() -> bool:
    return _pg_disponible()


@pytest.fixture
def base_postgres(pg_disponible):
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    if not pg_disponible:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL injoignable sur {SERVEUR_PG} : .ci/run doit le démarrer")
        pytest.skip(f"PostgreSQL injoignable sur {SERVEUR_PG}")
    name = f"cotation_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVEUR_PG}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVEUR_PG}/{name}"
    with psycopg.connect(f"{SERVEUR_PG}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def url_base(request, tmp_path):
    """The database URL of one test, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cotation.db'}"
    return request.getfixturevalue("base_postgres")


@pytest.fixture
def sqlite_seul(tmp_path):
    """For tests that do not depend on the backend: SQLite only, to keep the suite short."""
    return f"sqlite:///{tmp_path / 'cotation.db'}"


@dataclass
class Service:
    client: TestClient
    app: object
    jetons: dict[str, str]  # organisation code -> token

    def entetes(self, organisation: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.jetons[organisation]}"}


def demarrer(url: str, **reglages) -> Service:
    """A running app on `url`, with two territories and one organisation of each role."""
    app = creer_application(Reglages(database_url=url, **reglages))
    client = TestClient(app)
    client.__enter__()  # runs the lifespan: migrations, executor
    tokens = {}
    with app.state.sessions.begin() as s:
        creer_territoire(s, TERRITOIRE, "Toulouse Métropole", "31")
        creer_territoire(s, AUTRE_TERRITOIRE, "Métropole de Lyon", "69")
        for code, role, territoire, reservataire in [
            ("admin", "admin", None, None),
            ("epci_toulouse", "epci", TERRITOIRE, None),
            ("epci_lyon", "epci", AUTRE_TERRITOIRE, None),
            ("guichet_toulouse", "guichet", TERRITOIRE, None),
            ("B1", "bailleur", None, None),
            ("B2", "bailleur", None, None),
            ("prefecture", "reservataire", None, "prefet"),
        ]:
            creer_organisation(s, code, code, role, territoire, reservataire)
            tokens[code] = creer_jeton(s, code, "tests")
    return Service(client, app, tokens)


@pytest.fixture
def service(url_base):
    svc = demarrer(url_base)
    yield svc
    svc.client.__exit__(None, None, None)


@pytest.fixture
def service_sqlite(sqlite_seul):
    svc = demarrer(sqlite_seul)
    yield svc
    svc.client.__exit__(None, None, None)
