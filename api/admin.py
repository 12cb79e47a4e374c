"""Setting up who may call the service: territories, organisations and their tokens.

Used by the command line (`cotation territoire`, `cotation organisation`, `cotation jeton`),
the demo loader and the tests; every call writes an audit line.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import tracer
from api.auth import empreinte, nouveau_jeton
from api.models import ROLES, Jeton, Organisation, Territoire
from rules.politique import RESERVATAIRES


class ErreurAdmin(ValueError):
    """A refused set-up action, with a French message saying how to fix it."""


def creer_territoire(s: Session, code: str, nom: str, departement: str | None = None) -> Territoire:
    if not re.fullmatch(r"\d{9}", code):
        raise ErreurAdmin(f"code EPCI « {code} » invalide : le numéro SIREN a 9 chiffres")
    if departement is not None and not re.fullmatch(r"\d{2,3}|2A|2B", departement):
        raise ErreurAdmin(f"département « {departement} » invalide (exemples : 31, 974, 2A)")
    if s.scalar(select(Territoire).where(Territoire.code == code)) is not None:
        raise ErreurAdmin(f"le territoire {code} existe déjà")
    t = Territoire(code=code, nom=nom, departement=departement)
    s.add(t)
    s.flush()
    tracer(s, None, "creation_territoire", f"territoire {code}")
    return t


def creer_organisation(s: Session, code: str, nom: str, role: str, territoire: str | None = None,
                       reservataire: str | None = None) -> Organisation:
    if role not in ROLES:
        raise ErreurAdmin(f"rôle « {role} » inconnu ; rôles possibles : {', '.join(ROLES)}")
    if not code.strip():
        raise ErreurAdmin("le code de l'organisation est vide")
    if s.scalar(select(Organisation).where(Organisation.code == code)) is not None:
        raise ErreurAdmin(f"l'organisation {code} existe déjà")
    territoire_id = None
    if role in ("epci", "guichet"):
        if territoire is None:
            raise ErreurAdmin(f"une organisation de rôle « {role} » est rattachée à un territoire : "
                              "donnez son code EPCI")
        t = s.scalar(select(Territoire).where(Territoire.code == territoire))
        if t is None:
            raise ErreurAdmin(f"territoire {territoire} inconnu : créez-le d'abord")
        territoire_id = t.id
    if role == "reservataire":
        if reservataire not in RESERVATAIRES:
            raise ErreurAdmin(f"réservataire « {reservataire} » inconnu ; codes possibles : {', '.join(RESERVATAIRES)}")
    elif reservataire is not None:
        raise ErreurAdmin("seule une organisation de rôle « reservataire » a un code de réservataire")
    org = Organisation(code=code, nom=nom, role=role, territoire_id=territoire_id, reservataire=reservataire)
    s.add(org)
    s.flush()
    tracer(s, None, "creation_organisation", f"organisation {code}", role=role)
    return org


def creer_jeton(s: Session, organisation: str, libelle: str = "") -> str:
    """A new token for the organisation; returned once, only its SHA-256 is kept."""
    org = s.scalar(select(Organisation).where(Organisation.code == organisation))
    if org is None:
        raise ErreurAdmin(f"organisation {organisation} inconnue")
    token = nouveau_jeton()
    s.add(Jeton(organisation_id=org.id, empreinte=empreinte(token), libelle=libelle))
    s.flush()
    tracer(s, None, "creation_jeton", f"organisation {organisation}")
    return token
