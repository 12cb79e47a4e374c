"""Routes: territories (EPCI) and their versioned rule documents (cotation grids, allocation policies).

Grids and policies share one life cycle (`api.versions`): upload a YAML draft, preview it,
publish it with an effective date, after which it is immutable and stays readable.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from api import versions as v
from api.admin import ErreurAdmin, creer_territoire
from api.auth import Appelant, SessionDep, appelant, exiger, territoire_autorise
from api.models import Audit, Territoire, VersionRegles
from api.pagination import Page, Pagination, pagination, paginer
from api.problems import Probleme
from api.scores import Pool, cache_scores
from rules.publication import publier_markdown

router = APIRouter(tags=["territoires"])

TYPES_YAML = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")
TOP = 100  # size of the head of the ranking compared by a preview

Lecteur = Annotated[Appelant, Depends(appelant)]
Epci = Annotated[Appelant, Depends(exiger("epci"))]
CodeTerritoire = Annotated[str, Path(pattern=r"^\d{9}$", description="code SIREN de l'EPCI (9 chiffres)")]
NumeroVersion = Annotated[int, Path(ge=1, le=1_000_000, description="numéro de version")]


def _jour_plausible(jour: date | None) -> date | None:
    if jour is not None and not date(2000, 1, 1) <= jour <= date(2199, 12, 31):
        raise ValueError("date de référence hors de la période gérée (2000 à 2199)")
    return jour


Jour = Annotated[date | None, Query(alias="date", description="date de référence (AAAA-MM-JJ) ; par défaut, "
                                                              "aujourd'hui"), AfterValidator(_jour_plausible)]


async def corps_brut(request: Request) -> bytes:
    """The raw request body (routes that parse YAML, CSV or JSON lists themselves)."""
    return await request.body()


Corps = Annotated[bytes, Depends(corps_brut)]


def type_contenu(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def exiger_type(request: Request, admis: tuple[str, ...]) -> str:
    """The request's media type if admitted, else 415 naming the admitted ones."""
    media = type_contenu(request)
    if media not in admis:
        raise Probleme(415, f"type de contenu « {media or 'absent'} » non pris en charge : envoyez "
                            f"{', '.join(admis)}")
    return media


# Territories -------------------------------------------------------------------------------------


class NouveauTerritoire(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="numéro SIREN de l'EPCI (9 chiffres)", examples=["243100518"])
    nom: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$", description="nom de l'EPCI",
                     examples=["Toulouse Métropole"])
    departement: str | None = Field(None, description="département (31, 974, 2A...)", examples=["31"])


class TerritoireSortie(BaseModel):
    code: str = Field(description="numéro SIREN de l'EPCI")
    nom: str
    departement: str | None
    cree_le: datetime = Field(description="date de création dans le service")


def _territoire(t: Territoire) -> TerritoireSortie:
    return TerritoireSortie(code=t.code, nom=t.nom, departement=t.departement, cree_le=t.cree_le)


@router.post("/territoires", status_code=201, response_model=TerritoireSortie, summary="Créer un territoire",
             description="Crée un territoire (EPCI). Réservé à l'administrateur.")
def creer(corps: NouveauTerritoire, who: Annotated[Appelant, Depends(exiger())], s: SessionDep,
          response: Response) -> TerritoireSortie:
    try:
        t = creer_territoire(s, corps.code, corps.nom, corps.departement)
    except ErreurAdmin as exc:
        raise Probleme(409 if "existe déjà" in str(exc) else 422, str(exc)) from None
    for obj in s.new:  # the set-up helper traces without a caller: this line is the caller's
        if isinstance(obj, Audit) and obj.action == "creation_territoire" and obj.organisation_id is None:
            obj.organisation_id, obj.jeton_id = who.organisation_id, who.jeton_id
    s.commit()
    response.headers["Location"] = f"/v1/territoires/{t.code}"
    return _territoire(t)


@router.get("/territoires", response_model=Page[TerritoireSortie], summary="Lister les territoires",
            description="Les territoires (EPCI) connus du service, par ordre de code.")
def lister(_who: Lecteur, s: SessionDep, p: Annotated[Pagination, Depends(pagination)]) -> Page[TerritoireSortie]:
    rows, total = paginer(s, select(Territoire).order_by(Territoire.code), p)
    return Page(elements=[_territoire(r[0]) for r in rows], page=p.page, taille=p.taille, total=total)


@router.get("/territoires/{code}", response_model=TerritoireSortie, summary="Lire un territoire")
def lire(code: CodeTerritoire, _who: Lecteur, s: SessionDep) -> TerritoireSortie:
    t = s.scalar(select(Territoire).where(Territoire.code == code))
    if t is None:
        raise Probleme(404, f"territoire {code} inconnu")
    return _territoire(t)


# Rule documents ----------------------------------------------------------------------------------


class VersionResume(BaseModel):
    version: int = Field(description="numéro de version dans le territoire (1, 2, ...)")
    statut: str = Field(description="« brouillon » (modifiable par suppression) ou « publiee » (immuable)")
    libelle: str = Field(description="territoire et version tels que le document les nomme")
    date_effet: date | None = Field(description="date à partir de laquelle la version publiée s'applique")
    en_vigueur: bool = Field(description="version publiée qui s'applique aujourd'hui")
    cree_le: datetime
    publiee_le: datetime | None


class VersionDetail(VersionResume):
    territoire: str = Field(description="code SIREN de l'EPCI")
    genre: str = Field(description="« grille » (cotation) ou « politique » (attribution)")
    texte: str = Field(description="le document YAML tel qu'il a été déposé")


class Publication(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date_effet: date = Field(description="date d'entrée en vigueur (AAAA-MM-JJ)", examples=["2026-07-01"])


def _resume(row: VersionRegles, vigueur: VersionRegles | None) -> dict[str, Any]:
    return dict(version=row.version, statut=row.statut, libelle=row.libelle, date_effet=row.date_effet,
                en_vigueur=vigueur is not None and vigueur.id == row.id, cree_le=row.cree_le,
                publiee_le=row.publiee_le)


def _detail(s, t: Territoire, row: VersionRegles) -> VersionDetail:
    vigueur = v.version_en_vigueur(s, t.id, row.genre, date.today())
    return VersionDetail(**_resume(row, vigueur), territoire=t.code, genre=row.genre, texte=row.texte)


CORPS_YAML = {"requestBody": {"required": True, "description": "le document YAML (clés françaises)", "content": {
    media: {"schema": {"type": "string"}} for media in TYPES_YAML}}}


def _routes_regles(genre: str, segment: str, nom: str) -> None:
    """The same routes for grids and policies, under /territoires/{code}/<segment>."""
    base = f"/territoires/{{code}}/{segment}"

    @router.post(base, status_code=201, response_model=VersionDetail, name=f"deposer_{genre}",
                 summary=f"Déposer une {nom} (brouillon)", openapi_extra=CORPS_YAML,
                 description=f"Dépose une nouvelle version de {nom} au format YAML (corps de la requête, type "
                             "application/yaml ou text/plain). Elle est validée comme par la ligne de commande : "
                             "chaque problème est rendu avec sa ligne. Elle est enregistrée en brouillon, numérotée "
                             "après la dernière version. Réservé à l'EPCI du territoire et à l'administrateur.")
    def deposer(code: CodeTerritoire, who: Epci, s: SessionDep, request: Request, corps: Corps,
                response: Response) -> VersionDetail:
        t = territoire_autorise(s, code, who)
        exiger_type(request, TYPES_YAML)
        try:
            texte = corps.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Probleme(422, "le document doit être encodé en UTF-8") from None
        row = v.creer_brouillon(s, t, genre, texte, who)
        s.commit()
        response.headers["Location"] = f"/v1{base.format(code=t.code)}/{row.version}"
        return _detail(s, t, row)

    @router.get(base, response_model=Page[VersionResume], name=f"lister_{genre}s",
                summary=f"Lister les versions de {nom}", description=f"Les versions de {nom} du territoire, "
                "brouillons et publiées, par numéro de version.")
    def lister_versions(code: CodeTerritoire, who: Lecteur, s: SessionDep,
                        p: Annotated[Pagination, Depends(pagination)]) -> Page[VersionResume]:
        t = territoire_autorise(s, code, who)
        query = (select(VersionRegles).where(VersionRegles.territoire_id == t.id, VersionRegles.genre == genre)
                 .order_by(VersionRegles.version))
        rows, total = paginer(s, query, p)
        vigueur = v.version_en_vigueur(s, t.id, genre, date.today())
        return Page(elements=[VersionResume(**_resume(r[0], vigueur)) for r in rows], page=p.page,
                    taille=p.taille, total=total)

    @router.get(base + "/{version}", response_model=VersionDetail, name=f"lire_{genre}",
                summary=f"Lire une version de {nom}", description="Métadonnées et texte YAML de la version.")
    def lire_version(code: CodeTerritoire, version: NumeroVersion, who: Lecteur, s: SessionDep) -> VersionDetail:
        t = territoire_autorise(s, code, who)
        return _detail(s, t, v.version(s, t, genre, version))

    @router.delete(base + "/{version}", status_code=204, name=f"supprimer_{genre}",
                   summary=f"Supprimer un brouillon de {nom}",
                   description="Supprime une version en brouillon. Une version publiée est immuable (409).")
    def supprimer(code: CodeTerritoire, version: NumeroVersion, who: Epci, s: SessionDep) -> Response:
        t = territoire_autorise(s, code, who)
        v.supprimer_brouillon(s, t, v.version(s, t, genre, version), who)
        s.commit()
        return Response(status_code=204)

    @router.post(base + "/{version}/publication", response_model=VersionDetail, name=f"publier_{genre}",
                 summary=f"Publier une version de {nom}",
                 description=f"Publie un brouillon à partir de sa date d'effet. La {nom} publiée devient immuable ; "
                             "la version publiée précédente reste lisible et s'applique aux dates antérieures. "
                             "La date d'effet doit être dans la période de validité que le document déclare, et "
                             "pas antérieure à celle d'une version déjà publiée.")
    def publier(code: CodeTerritoire, version: NumeroVersion, corps: Publication, who: Epci,
                s: SessionDep) -> VersionDetail:
        t = territoire_autorise(s, code, who)
        row = v.version(s, t, genre, version)
        v.publier(s, t, row, corps.date_effet, who)
        s.commit()
        return _detail(s, t, row)


_routes_regles("grille", "grilles", "grille de cotation")
_routes_regles("politique", "politiques", "politique d'attribution")


# Preview of a grid ------------------------------------------------------------------------------


class Distribution(BaseModel):
    demandes_cotees: int = Field(description="demandes actives du territoire cotées à la date")
    demandes_classees: int = Field(description="demandes classées (actives et dans le champ de la grille)")
    score_min: float | None
    score_median: float | None
    score_p90: float | None = Field(description="90e centile des scores des demandes classées")
    score_max: float | None


class Comparaison(BaseModel):
    version_en_vigueur: int = Field(description="grille publiée en vigueur à la date, comparée à celle-ci")
    date_effet: date
    taille_tete: int = Field(description="demandes de tête comparées (les 100 premières, ou moins)")
    tete_conservee: int = Field(description="demandes des 100 premières de la grille en vigueur qui restent dans "
                                            "les 100 premières avec cette grille")
    demandes_comparees: int = Field(description="demandes classées par les deux grilles")
    variation_rang_mediane: float | None = Field(description="médiane de l'écart absolu de rang entre les deux "
                                                             "grilles, sur les demandes classées par les deux")


class Apercu(BaseModel):
    version: int
    statut: str
    libelle: str
    date_reference: date
    texte_public: str = Field(description="la grille rédigée pour les demandeurs (Markdown), telle que publiée")
    distribution: Distribution
    comparaison: Comparaison | None = Field(description="absente s'il n'y a pas d'autre grille publiée en vigueur")
    message_comparaison: str


@router.get("/territoires/{code}/grilles/{version}/apercu", response_model=Apercu, summary="Aperçu d'une grille",
            description="Le texte public de la grille et son effet sur les demandes actives du territoire à la date : "
                        "distribution des scores et, si une autre grille publiée est en vigueur, combien des 100 "
                        "premières demandes le restent et de combien les rangs changent.")
def apercu(code: CodeTerritoire, version: NumeroVersion, who: Lecteur, s: SessionDep, request: Request,
           jour: Jour = None) -> Apercu:
    t = territoire_autorise(s, code, who)
    jour = jour or date.today()
    row = v.version(s, t, "grille", version)
    cache = cache_scores(request.app)
    pool = cache.pool(s, t, row, jour, statut_erreur=422)
    scores = pool.cotation.score[pool.cotation.classees]
    q = (lambda x: float(np.quantile(scores, x))) if len(scores) else (lambda _x: None)
    distribution = Distribution(demandes_cotees=len(pool.cotation.score), demandes_classees=len(scores),
                                score_min=q(0), score_median=q(0.5), score_p90=q(0.9), score_max=q(1))
    comparaison, message = None, "aucune autre grille publiée n'est en vigueur à cette date"
    vigueur = v.version_en_vigueur(s, t.id, "grille", jour)
    if vigueur is not None and vigueur.id == row.id:
        message = "cette version est la grille en vigueur à cette date : rien à comparer"
    elif vigueur is not None:
        try:
            other = cache.pool(s, t, vigueur, jour)
        except Probleme as exc:
            message = f"comparaison impossible avec la version {vigueur.version} en vigueur : {exc.detail}"
        else:
            comparaison = comparer(pool, other, vigueur)
            message = f"comparée à la version {vigueur.version}, en vigueur depuis le {vigueur.date_effet:%d/%m/%Y}"
    return Apercu(version=row.version, statut=row.statut, libelle=row.libelle, date_reference=jour,
                  texte_public=publier_markdown(pool.grille.grille), distribution=distribution,
                  comparaison=comparaison, message_comparaison=message)


def comparer(nouveau: Pool, ancien: Pool, vigueur: VersionRegles) -> Comparaison:
    """Head overlap and median rank change between two scorings of the same pool (aligned by number)."""
    a, b = nouveau.cotation, ancien.cotation
    where = pd.Index(a.numero_unique).get_indexer(b.numero_unique)  # new row of each old row, -1 if absent
    found = where >= 0
    new_rank = np.zeros(len(where), dtype=np.int64)
    new_rank[found] = a.rang[where[found]]
    old_rank = b.rang
    head = (old_rank >= 1) & (old_rank <= TOP)
    kept = head & (new_rank >= 1) & (new_rank <= TOP)
    both = (old_rank > 0) & (new_rank > 0)
    change = np.abs(new_rank[both] - old_rank[both])
    return Comparaison(version_en_vigueur=vigueur.version, date_effet=vigueur.date_effet,
                       taille_tete=int(head.sum()), tete_conservee=int(kept.sum()), demandes_comparees=int(both.sum()),
                       variation_rang_mediane=float(np.median(change)) if len(change) else None)
