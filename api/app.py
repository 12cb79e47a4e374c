"""The FastAPI application: `creer_application()` wires settings, database, errors and routes."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import problems
from api.db import fabrique_sessions, migrer, moteur
from api.settings import Reglages

DESCRIPTION = """
Service de **cotation de la demande de logement social** et d'**aide aux propositions en CAL**.

- Les **bailleurs** chargent leurs logements vacants, demandent des propositions pour leur
  prochaine commission d'attribution (trois candidats classés et éligibles par logement),
  enregistrent les décisions de la CAL puis les baux signés ou refusés.
- Les **EPCI** publient leurs grilles de cotation et leurs politiques d'attribution (versions
  immuables une fois publiées) et suivent les objectifs légaux de l'année (art. L441-1 CCH).
- Les **guichets** d'information des demandeurs lisent, pour un numéro unique, ce que la loi
  impose de dire : score et critères, position parmi les demandes semblables, délai moyen
  d'attribution, caractère prioritaire.

Authentification : en-tête `Authorization: Bearer <jeton>` (jetons créés par `cotation jeton`).
Les erreurs suivent la RFC 9457 (`application/problem+json`), en français.
"""


def creer_application(reglages: Reglages | None = None) -> FastAPI:
    reglages = reglages or Reglages.depuis_environnement()
    engine = moteur(reglages.database_url)

    @asynccontextmanager
    async def cycle(app: FastAPI):
        from api.runs import Executeur

        migrer(engine)
        app.state.executeur = Executeur(app.state.sessions, reglages)
        app.state.executeur.reprendre()
        try:
            yield
        finally:
            app.state.executeur.arreter()
            engine.dispose()

    app = FastAPI(
        title="cotation — service", version="1", description=DESCRIPTION, lifespan=cycle,
        openapi_url="/v1/openapi.json", docs_url="/docs", redoc_url=None,
    )
    app.state.reglages = reglages
    app.state.engine = engine
    app.state.sessions = fabrique_sessions(engine)
    problems.installer(app)
    app.add_middleware(LimiteCorps, maximum=reglages.taille_max_corps)
    from api.routes import demandes, logements, objectifs, propositions, territoires

    for module in (territoires, demandes, logements, propositions, objectifs):
        app.include_router(module.router, prefix="/v1")
    return app


class LimiteCorps:
    """Refuse request bodies over `maximum` bytes (413), declared or streamed, before parsing them."""

    def __init__(self, app, maximum: int):
        self.app, self.maximum = app, maximum

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.maximum:
            return await self._trop_gros(scope, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.maximum:
                    raise _TropGros
            return message

        try:
            await self.app(scope, counted, send)
        except _TropGros:
            await self._trop_gros(scope, send)

    async def _trop_gros(self, scope, send):
        import json

        body = json.dumps({
            "type": "about:blank", "title": problems.TITRES[413], "status": 413,
            "detail": f"le corps de la requête dépasse {self.maximum} octets : découpez l'envoi en plusieurs lots",
            "instance": scope.get("path", ""),
        }).encode()
        headers = [(b"content-type", problems.MEDIA.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TropGros(Exception):
    pass
