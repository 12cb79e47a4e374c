"""Fuzzing the OpenAPI schema (schemathesis): whatever the body, parameters or token, never a 500.

Each operation gets a bounded number of generated requests, sent with a valid admin token (so
they reach the handlers, not only the authentication). The responses must not be server errors
and must be valid against the schema's declared status codes and content types.
"""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.admin import creer_jeton, creer_organisation, creer_territoire
from api.app import creer_application
from api.settings import Reglages


def _app():
    """The app under fuzz, built at import (schemathesis reads its schema at collection)."""
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='cotation_fuzz_')) / 'fuzz.db'}"
    app = creer_application(Reglages(database_url=url))
    client = TestClient(app)
    client.__enter__()  # lifespan: migrations and the run executor
    atexit.register(client.__exit__, None, None, None)
    with app.state.sessions.begin() as s:
        creer_territoire(s, "243100518", "Toulouse Métropole", "31")
        creer_organisation(s, "admin", "admin", "admin")
        app.state.jeton_fuzz = creer_jeton(s, "admin")
    return app


APP = _app()
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_never_a_server_error(case):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {APP.state.jeton_fuzz}"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    if response.status_code >= 400:
        content_type = response.headers["content-type"]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (case.method, case.path, response.text[:300])
