"""Routes: the year's objectives of art. L.441-1 CCH, attained so far, per objective and group.

Counted on signed leases (as the law counts them), with the unit's facts and the household's
public membership stored when its run was solved, by the same code as the `realise` given to
each run (`matching.bilan`). Who sees what: the territory's EPCI and the administrator see every
group; a reservataire sees its own reservataire groups, a bailleur its own bailleur groups, and
both see the lines counted on the whole EPCI.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth import Appelant, SessionDep, exiger, territoire_autorise
from api.routes.propositions import RegleUtilisee
from api.runs import compter_annee, politique_en_vigueur
from matching.bilan import manque, parts

router = APIRouter(tags=["objectifs"])

Lecteur = Annotated[Appelant, Depends(exiger("epci", "reservataire", "bailleur"))]


class LigneObjectif(BaseModel):
    objectif: str = Field(description="identifiant de l'objectif dans la politique")
    libelle: str
    niveau: str = Field(description="epci (tout le territoire), bailleur ou reservataire")
    logements: str = Field(description="logements comptés : tous, qpv ou hors_qpv")
    groupe: str = Field(description="le groupe du niveau : code de l'EPCI, code du bailleur ou du réservataire")
    attributions: int = Field(description="baux signés dans l'année sur les logements de l'objectif")
    dont_public: int = Field(description="dont ménages du public de l'objectif")
    part: float | None = Field(description="dont_public / attributions ; absent sans attribution")
    cible: float = Field(description="part visée")
    atteint: bool
    manque: int = Field(description="attributions au public qu'il faudrait encore pour atteindre la cible")


class BilanObjectifs(BaseModel):
    territoire: str
    annee: int
    politique: RegleUtilisee
    objectifs: list[LigneObjectif]


def _jour(annee: int, today: date) -> date:
    """The day whose policy applies: today for this year, the last day of a past year, the first of a future one."""
    if annee == today.year:
        return today
    return date(annee, 12, 31) if annee < today.year else date(annee, 1, 1)


@router.get("/territoires/{code}/objectifs", response_model=BilanObjectifs, summary="Objectifs de l'année",
            description="Pour chaque objectif de la politique en vigueur (à défaut, les objectifs légaux de l'art. "
                        "L.441-1 CCH) et chaque groupe de son niveau : baux signés dans l'année, dont ménages du "
                        "public, part atteinte, cible et manque. L'EPCI du territoire et l'administrateur voient "
                        "tous les groupes ; un réservataire voit les siens, un bailleur les siens, et tous deux les "
                        "lignes comptées sur l'EPCI.")
def objectifs(code: str, who: Lecteur, s: SessionDep,
              annee: Annotated[int | None, Query(ge=2000, le=2100, description="année civile ; par défaut, "
                                                                             "l'année en cours")] = None,
              ) -> BilanObjectifs:
    t = territoire_autorise(s, code, who, roles_territoriaux=("epci",))
    annee = annee or date.today().year
    pol = politique_en_vigueur(s, t.id, _jour(annee, date.today()))
    politique = pol.politique
    realise = compter_annee(s, t, politique, annee)
    own = {"bailleur": who.code, "reservataire": who.reservataire}.get(who.role)
    for o in politique.objectifs:  # the lines every reader expects, even before the first lease
        if o.niveau == "epci":
            realise[o.id].setdefault(t.code, [0, 0])
        elif o.niveau == who.role and own:
            realise[o.id].setdefault(own, [0, 0])
    specs = {o.id: o for o in politique.objectifs}
    lines = []
    for x in parts(politique, realise):
        o = specs[x["id"]]
        if who.role in ("bailleur", "reservataire") and o.niveau != "epci" and (o.niveau != who.role
                                                                                or x["groupe"] != own):
            continue
        missing = manque(o.cible, x["attributions"], x["public"])
        lines.append(LigneObjectif(objectif=o.id, libelle=o.libelle, niveau=o.niveau, logements=o.logements,
                                   groupe=x["groupe"], attributions=x["attributions"], dont_public=x["public"],
                                   part=x["part"], cible=o.cible, atteint=missing == 0, manque=missing))
    version = RegleUtilisee(version=pol.version.version if pol.version else None,
                            libelle=pol.version.libelle if pol.version else
                            "politique par défaut (objectifs légaux, art. L.441-1 CCH)")
    return BilanObjectifs(territoire=t.code, annee=annee, politique=version, objectifs=lines)
