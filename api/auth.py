"""Bearer tokens (stored as SHA-256 only) and roles, as FastAPI dependencies.

Roles: `admin` (everything), `epci` (its territory: grids, policies, applications, objectives),
`bailleur` (its own units, runs and decisions), `reservataire` (the objectives report),
`guichet` (the applicant information of its territory, read only).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Jeton, Organisation, Territoire
from api.problems import Probleme

PREFIXE = "cot_"
_bearer = HTTPBearer(auto_error=False, description="jeton d'accès remis par l'administrateur (`cotation jeton`)")


def empreinte(jeton: str) -> str:
    return hashlib.sha256(jeton.encode()).hexdigest()


def nouveau_jeton() -> str:
    return PREFIXE + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Appelant:
    organisation_id: int
    code: str
    role: str
    territoire_id: int | None
    reservataire: str | None
    jeton_id: int


def session(request: Request):
    """One database session per request, closed at the end."""
    with request.app.state.sessions() as s:
        yield s


SessionDep = Annotated[Session, Depends(session)]


def appelant(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
             s: SessionDep) -> Appelant:
    challenge = {"WWW-Authenticate": "Bearer"}
    if cred is None:
        raise Probleme(401, "jeton manquant : ajoutez l'en-tête « Authorization: Bearer <jeton> »", headers=challenge)
    row = s.execute(
        select(Jeton.id, Organisation.id, Organisation.code, Organisation.role, Organisation.territoire_id,
               Organisation.reservataire)
        .join(Organisation, Organisation.id == Jeton.organisation_id)
        .where(Jeton.empreinte == empreinte(cred.credentials), Jeton.revoque_le.is_(None))
    ).first()
    if row is None:
        raise Probleme(401, "jeton inconnu ou révoqué", headers=challenge)
    jeton_id, org_id, code, role, territoire_id, reservataire = row
    found = Appelant(org_id, code, role, territoire_id, reservataire, jeton_id)
    request.state.appelant = found
    return found


def exiger(*roles: str):
    """A dependency admitting only these roles (admin always)."""

    def check(who: Annotated[Appelant, Depends(appelant)]) -> Appelant:
        if who.role != "admin" and who.role not in roles:
            raise Probleme(403, f"le rôle « {who.role} » ne permet pas cette action (rôles admis : "
                                f"{', '.join(('admin',) + roles)})")
        return who

    return check


def territoire_autorise(s: Session, code: str, who: Appelant, roles_territoriaux: tuple[str, ...] = ("epci", "guichet"),
                        ) -> Territoire:
    """The territory `code`, if the caller may act on it: 404 if unknown, 403 if another's."""
    t = s.scalar(select(Territoire).where(Territoire.code == code))
    if t is None:
        raise Probleme(404, f"territoire {code} inconnu")
    if who.role in roles_territoriaux and who.territoire_id != t.id:
        raise Probleme(403, f"votre organisation n'est pas rattachée au territoire {code}")
    return t
