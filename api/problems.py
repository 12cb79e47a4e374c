"""Errors as RFC 9457 problem details (application/problem+json), in French, never a bare 500.

`Probleme` is raised by the routes; validation errors of bodies, parameters and data files are
turned into the same shape, with one entry per error in `erreurs` (where, which field, why).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cotation.table import ErreurDonnees
from rules.chargement import ErreurRegles, message_validation

MEDIA = "application/problem+json"
log = logging.getLogger("cotation.api")

TITRES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non permise",
    409: "Conflit avec l'état de la ressource",
    413: "Corps de requête trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    500: "Erreur interne du service",
}


class Probleme(Exception):
    """An error answered as problem+json: status, French detail, and optional per-item errors."""

    def __init__(self, status: int, detail: str, erreurs: list[dict[str, Any]] | None = None,
                 titre: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.erreurs = status, detail, erreurs or []
        self.titre = titre or TITRES.get(status, "Erreur")
        self.headers = headers or {}


def reponse(request: Request, p: Probleme) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank", "title": p.titre, "status": p.status, "detail": p.detail,
        "instance": request.url.path,
    }
    if p.erreurs:
        body["erreurs"] = p.erreurs
    return JSONResponse(body, status_code=p.status, media_type=MEDIA, headers=p.headers)


def erreurs_validation(errors: list[dict[str, Any]], prefixe: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors as French entries: the field's path and the message."""
    out = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if x not in prefixe]
        out.append({"champ": ".".join(loc) or None, "message": message_validation(err, list(err.get("loc", ())), {})})
    return out


def depuis_donnees(err: ErreurDonnees) -> Probleme:
    """A rejected import: every error with its line (or item), field and key; nothing was imported."""
    items = [{"ligne": e.ligne, "champ": e.colonne, "identifiant": e.numero_unique, "message": e.message}
             for e in err.erreurs]
    return Probleme(422, f"{err.total} erreur(s) : rien n'a été importé. Corrigez-les et renvoyez le lot entier.",
                    items)


def depuis_regles(err: ErreurRegles) -> Probleme:
    items = [{"ligne": p.ligne, "champ": p.champ, "message": p.message, "critere": p.critere} for p in err.problemes]
    return Probleme(422, f"{len(items)} problème(s) dans le document : il n'a pas été enregistré.", items)


def installer(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(Probleme)
    async def _probleme(request: Request, exc: Probleme):
        return reponse(request, exc)

    @app.exception_handler(ErreurDonnees)
    async def _donnees(request: Request, exc: ErreurDonnees):
        return reponse(request, depuis_donnees(exc))

    @app.exception_handler(ErreurRegles)
    async def _regles(request: Request, exc: ErreurRegles):
        return reponse(request, depuis_regles(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            where = errors[0].get("ctx", {}).get("error", "")
            return reponse(request, Probleme(400, f"corps JSON mal formé ({where}) : vérifiez la syntaxe"))
        problem = Probleme(422, "la requête ne respecte pas le schéma attendu", erreurs_validation(errors))
        return reponse(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        default = {404: f"aucune ressource à l'adresse {request.url.path}",
                   405: f"la méthode {request.method} n'est pas permise sur {request.url.path}"}
        return reponse(request, Probleme(exc.status_code, detail or default.get(exc.status_code, "erreur"),
                                         headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def _interne(request: Request, exc: Exception):
        # the exception's type only: its message may quote personal data
        log.error("erreur interne sur %s %s : %s", request.method, request.url.path, type(exc).__name__)
        return reponse(request, Probleme(500, "erreur interne : l'incident est journalisé, réessayez plus tard"))
