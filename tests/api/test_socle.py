"""The service's foundation: migrations match the models, errors are problem+json, tokens."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.models import Base


def test_migrations_match_models(service):
    with service.app.state.engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []


def test_unknown_route_is_a_french_problem(service_sqlite):
    r = service_sqlite.client.get("/v1/inconnu")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404 and "aucune ressource" in r.json()["detail"]


def test_openapi_is_versioned(service_sqlite):
    r = service_sqlite.client.get("/v1/openapi.json")
    assert r.status_code == 200 and r.json()["info"]["title"].startswith("cotation")
