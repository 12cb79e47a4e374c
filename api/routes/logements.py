"""Routes: a bailleur's units (logements), loaded in bulk and read back.

A bailleur loads its units as a JSON list of records or a CSV file (the format of `cotation
genere`), all-or-nothing with every error listed, upserted by identifier. It only ever sees and
loads its own units: a unit naming another bailleur rejects the whole batch.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.audit import tracer
from api.auth import Appelant, SessionDep, exiger
from api.models import Logement, Organisation, Territoire
from api.pagination import Page, Pagination, pagination, paginer
from api.problems import Probleme
from api.stockage import brut_depuis_corps, importer_logements
from matching.logement import Logement as FicheLogement

router = APIRouter(tags=["logements"])

Bailleur = Annotated[Appelant, Depends(exiger("bailleur"))]
TYPES = ("application/json", "text/csv", "application/csv")
STATUTS_LOGEMENT = ("vacant", "propose", "attribue", "loue")
EXEMPLE_CSV = (
    "identifiant,commune,epci,qpv,typologie,pieces,surface,loyer,charges,financement,reservataire\n"
    "LGT0000001,31555,243100518,false,T3,3,68,520.5,95,PLUS,action_logement\n"
)


async def corps_brut(request: Request) -> bytes:
    """The raw body: JSON and CSV are parsed by the same all-or-nothing importer."""
    return await request.body()


class ImportLogements(BaseModel):
    recus: int = Field(description="logements reçus dans le lot")
    crees: int = Field(description="logements nouveaux")
    mis_a_jour: int = Field(description="logements déjà connus (même identifiant), mis à jour")
    remis_vacants: int = Field(0, description="logements loués renvoyés : une nouvelle vacance, ils redeviennent "
                                              "vacants (un logement proposé ou attribué garde son statut)")


class LogementLu(BaseModel):
    identifiant: str = Field(description="identifiant du logement chez le bailleur (ou RPLS)")
    bailleur: str = Field(description="code de l'organisation du bailleur")
    territoire: str = Field(description="code SIREN de l'EPCI")
    statut: Literal[STATUTS_LOGEMENT] = Field(  # type: ignore[valid-type]
        description="vacant ; propose (candidats proposés, en attente de la CAL) ; attribue (décision "
                    "d'attribution, bail en attente) ; loue (bail signé)")
    modifie_le: datetime
    logement: FicheLogement = Field(description="la fiche du logement telle que chargée")


CORPS_LOGEMENTS = {"requestBody": {
    "required": True,
    "description": "les logements du bailleur : une liste JSON de fiches ou un fichier CSV (ligne d'en-tête). Le "
                   "champ « bailleur » vaut le code de votre organisation ; absent, il est rempli.",
    "content": {
        "application/json": {"schema": {"type": "array", "items": FicheLogement.model_json_schema()}},
        "text/csv": {"schema": {"type": "string"}, "example": EXEMPLE_CSV},
    },
}}


@router.post("/logements", response_model=ImportLogements, summary="Charger des logements",
             openapi_extra=CORPS_LOGEMENTS,
             description="Charge les logements vacants du bailleur appelant (JSON ou CSV), mis à jour par "
                         "identifiant ; un logement loué renvoyé est une nouvelle vacance et redevient vacant. "
                         "Tout ou rien : à la moindre erreur, rien n'est importé et chaque erreur est "
                         "listée avec sa ligne, son champ et l'identifiant du logement. Un logement d'un autre "
                         "bailleur ou d'un territoire inconnu du service refuse le lot. Réservé aux bailleurs.")
def charger(who: Bailleur, s: SessionDep, request: Request,
            corps: Annotated[bytes, Depends(corps_brut)]) -> ImportLogements:
    if who.role != "bailleur":
        raise Probleme(403, "seul un bailleur charge ses logements (ils sont rattachés à son organisation)")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in TYPES:
        raise Probleme(415, f"type de contenu « {media or 'absent'} » non pris en charge : envoyez application/json "
                            "ou text/csv")
    raw, first = brut_depuis_corps(corps, media, "identifiant", "logements envoyés")
    if raw.empty:  # an empty list: nothing to check, nothing written
        return ImportLogements(recus=0, crees=0, mis_a_jour=0, remis_vacants=0)
    territoires = {code: tid for code, tid in s.execute(select(Territoire.code, Territoire.id))}
    counts = importer_logements(s, who.organisation_id, who.code, territoires, raw, first, "logements envoyés")
    tracer(s, who, "import_logements", f"organisation {who.code}", **counts)
    s.commit()
    return ImportLogements(**counts)


def _lu(row: Logement, bailleur: str, territoire: str) -> LogementLu:
    record = {k: v for k, v in json.loads(row.donnees).items() if v != ""}
    return LogementLu(identifiant=row.identifiant, bailleur=bailleur, territoire=territoire, statut=row.statut,
                      modifie_le=row.modifie_le, logement=FicheLogement.model_validate(record))


def _requete(who: Appelant):
    query = (select(Logement, Organisation.code, Territoire.code)
             .join(Organisation, Organisation.id == Logement.organisation_id)
             .join(Territoire, Territoire.id == Logement.territoire_id))
    if who.role != "admin":
        query = query.where(Logement.organisation_id == who.organisation_id)
    return query


@router.get("/logements", response_model=Page[LogementLu], summary="Lister ses logements",
            description="Les logements du bailleur appelant (l'administrateur les voit tous), par identifiant, "
                        "filtrés au besoin par statut ou par territoire.")
def lister(who: Bailleur, s: SessionDep, p: Annotated[Pagination, Depends(pagination)],
           statut: Annotated[Literal[STATUTS_LOGEMENT] | None,  # type: ignore[valid-type]
                             Query(description="ne garder que les logements de ce statut")] = None,
           territoire: Annotated[str | None, Query(description="code SIREN de l'EPCI")] = None,
           ) -> Page[LogementLu]:
    query = _requete(who)
    if statut is not None:
        query = query.where(Logement.statut == statut)
    if territoire is not None:
        query = query.where(Territoire.code == territoire)
    rows, total = paginer(s, query.order_by(Logement.identifiant, Logement.id), p)
    return Page(elements=[_lu(*r) for r in rows], page=p.page, taille=p.taille, total=total)


@router.get("/logements/{identifiant}", response_model=LogementLu, summary="Lire un logement",
            description="Un logement du bailleur appelant. Le logement d'un autre bailleur répond 404, comme un "
                        "logement inconnu. L'administrateur précise le bailleur quand l'identifiant est ambigu.")
def lire(identifiant: str, who: Bailleur, s: SessionDep,
         bailleur: Annotated[str | None, Query(description="code du bailleur (administrateur seulement)")] = None,
         ) -> LogementLu:
    query = _requete(who).where(Logement.identifiant == identifiant)
    if bailleur is not None:
        query = query.where(Organisation.code == bailleur)
    rows = s.execute(query.order_by(Logement.id).limit(2)).all()
    if not rows:
        raise Probleme(404, f"logement {identifiant} introuvable parmi vos logements")
    if len(rows) > 1:
        raise Probleme(422, f"plusieurs bailleurs ont un logement {identifiant} : précisez le paramètre bailleur")
    return _lu(*rows[0])
