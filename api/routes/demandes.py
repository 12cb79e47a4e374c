"""Routes: applications (bulk import, reading), the applicant information, scoring one application.

The applicant information follows art. L441-2-8 and R441-2-9 CCH (cotation publique et
information du demandeur): score and criteria, position among similar applications, average
waiting time of similar households housed in the last twelve months, and priority status.
Reads come from the in-memory scored pool (`api.scores`), so they cost a few lookups.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.audit import tracer
from api.auth import Appelant, SessionDep, appelant, exiger, territoire_autorise
from api.models import STATUTS_DEMANDE, Demande, Proposition, Territoire, VersionRegles
from api.pagination import Page, Pagination, pagination, paginer
from api.problems import Probleme
from api.routes.territoires import CodeTerritoire, Corps, Jour, exiger_type
from api.scores import Pool, cache_scores, coter
from api.stockage import brut_depuis_corps, importer_demandes, table_demandes
from api.versions import version_en_vigueur
from cotation.demande import Demande as FicheDemande
from cotation.derivees import ajouter_mois
from cotation.explication import Explication, expliquer_ligne, nombre
from cotation.table import (
    MAX_SHOWN,
    ErreurDonnees,
    ErreurLigne,
    colonnes_demande,
    demandes_depuis_table,
    table_une_demande,
)
from rules.vocabulaire import CATEGORIES_PRIORITAIRES

router = APIRouter(tags=["demandes"])

TYPES_IMPORT = ("application/json", "text/csv", "application/csv")
MONTANT_MAX = 1e15  # beyond, the stored text form (whole floats written as int64) would not read back
SEMBLABLES = ("demandes semblables : même première typologie souhaitée (dans l'ordre T1 à T6) et même première "
              "commune souhaitée (dans l'ordre donné par le demandeur) ; une demande sans typologie ou sans commune "
              "souhaitée est classée parmi celles qui n'en ont pas donné non plus")
AIDE_DECISION = ("La cotation est une aide à la décision (art. R441-2-10 CCH) : la commission d'attribution reste "
                 "souveraine et n'est pas tenue de retenir la demande la mieux cotée.")
STATUTS_FR = {"attribuee": "attribuée", "relogee": "relogée"}

NumeroDemande = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f]+$",
                                    description="numéro unique d'enregistrement de la demande")]
Epci = Annotated[Appelant, Depends(exiger("epci"))]
Guichet = Annotated[Appelant, Depends(exiger("epci", "guichet"))]


def _demande_schema() -> dict[str, Any]:
    """The record's JSON schema with its sub-models inlined (the import route documents its body with it)."""
    schema = FicheDemande.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(x: Any) -> Any:
        if isinstance(x, dict):
            ref = x.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(val) for k, val in x.items()}
        if isinstance(x, list):
            return [inline(i) for i in x]
        return x

    return inline(schema)


CORPS_IMPORT = {"requestBody": {"required": True, "description": "les demandes : liste JSON de fiches, ou CSV au "
                                "format de `cotation genere` (ligne d'en-tête, listes séparées par « ; »)",
                                "content": {
                                    "application/json": {"schema": {"type": "array", "items": _demande_schema()}},
                                    "text/csv": {"schema": {"type": "string"}}}}}


# Import and reading ------------------------------------------------------------------------------


class BilanImport(BaseModel):
    recues: int = Field(description="demandes reçues dans le lot")
    creees: int = Field(description="demandes nouvelles")
    mises_a_jour: int = Field(description="demandes déjà connues (même numéro unique), remplacées")


class DemandeResume(BaseModel):
    numero_unique: str
    statut: str = Field(description="active, attribuee ou relogee")
    modifiee_le: datetime


class DemandeEnregistree(FicheDemande):
    statut: str = Field(description="active, attribuee ou relogee")


@router.post("/territoires/{code}/demandes", response_model=BilanImport, openapi_extra=CORPS_IMPORT,
             summary="Charger des demandes (lot)",
             description="Charge un lot de demandes, en JSON (liste de fiches) ou en CSV. Les demandes sont "
                         "enregistrées par numéro unique : une demande déjà connue est remplacée. Le lot est validé "
                         "en entier : à la moindre erreur rien n'est importé et chaque erreur est listée (ligne, "
                         "champ, numéro unique). Réservé à l'EPCI du territoire et à l'administrateur.")
def importer(code: CodeTerritoire, who: Epci, s: SessionDep, request: Request, corps: Corps) -> BilanImport:
    t = territoire_autorise(s, code, who)
    exiger_type(request, TYPES_IMPORT)
    source = "demandes envoyées"
    raw, first = brut_depuis_corps(corps, request.headers.get("content-type", ""), "numero_unique", source)
    if raw.empty:  # an empty list has no columns to check: nothing to do, nothing written
        return BilanImport(recues=0, creees=0, mises_a_jour=0)
    _controles_base(raw, first, source, suspect_nul=b"\x00" in corps or b"\\u0000" in corps)
    bilan = importer_demandes(s, t, raw, first, source)
    tracer(s, who, "import_demandes", f"territoire {t.code}", **bilan)
    s.commit()
    return BilanImport(**bilan)


def _controles_base(raw: pd.DataFrame, first: int, source: str, suspect_nul: bool) -> None:
    """What the file checks let through but the database would refuse or garble: NUL characters,
    registration numbers over 40 characters, amounts too large for the stored text form.

    Cells are searched for NUL only when the body holds one (a byte scan), so clean lots pay nothing.
    """
    n = len(raw)
    numbers = raw["numero_unique"] if "numero_unique" in raw else pd.Series([""] * n)
    found: list[tuple[np.ndarray, str, str]] = []  # (rows, column, message)
    if suspect_nul:
        found += [(np.flatnonzero(raw[c].str.contains("\x00", regex=False).to_numpy(dtype=bool)), str(c),
                   "caractère nul interdit") for c in raw.columns]
    found.append((np.flatnonzero((numbers.str.len() > 40).to_numpy()), "numero_unique",
                  "numéro unique trop long (40 caractères au plus)"))
    for col in colonnes_demande():
        if col.genre == "decimal" and col.maximum is None and col.nom in raw:
            text = raw[col.nom].str.replace(",", ".", regex=False).str.replace(" ", "", regex=False)
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                found.append((np.flatnonzero(np.abs(values) > MONTANT_MAX), col.nom,
                              f"valeur trop grande pour être enregistrée (maximum {MONTANT_MAX:.0e})"))
    errors = sorted((ErreurLigne(int(r) + first, column, message, numbers.iat[r] or None)
                     for rows, column, message in found for r in rows), key=lambda e: (e.ligne, e.colonne))
    if errors:
        raise ErreurDonnees(source, errors[:MAX_SHOWN], len(errors))


@router.get("/territoires/{code}/demandes", response_model=Page[DemandeResume], summary="Lister les demandes",
            description="Les demandes du territoire par numéro unique. Réservé à l'EPCI du territoire et à "
                        "l'administrateur.")
def lister(code: CodeTerritoire, who: Epci, s: SessionDep, p: Annotated[Pagination, Depends(pagination)],
           statut: Annotated[str | None, Query(description="ne lister que ce statut (active, attribuee, relogee)",
                                               pattern="^(active|attribuee|relogee)$")] = None,
           ) -> Page[DemandeResume]:
    t = territoire_autorise(s, code, who)
    query = select(Demande.numero_unique, Demande.statut, Demande.modifiee_le).where(Demande.territoire_id == t.id)
    if statut is not None:
        query = query.where(Demande.statut == statut)
    rows, total = paginer(s, query.order_by(Demande.numero_unique), p)
    return Page(elements=[DemandeResume(numero_unique=n, statut=st, modifiee_le=m) for n, st, m in rows],
                page=p.page, taille=p.taille, total=total)


def _statut(s, t: Territoire, numero: str) -> str:
    statut = s.scalar(select(Demande.statut).where(Demande.territoire_id == t.id, Demande.numero_unique == numero))
    if statut is None:
        raise Probleme(404, f"demande {numero} inconnue sur le territoire {t.code}")
    return statut


@router.get("/territoires/{code}/demandes/{numero}", response_model=DemandeEnregistree, summary="Lire une demande",
            description="La fiche complète d'une demande et son statut. Réservé à l'EPCI du territoire et à "
                        "l'administrateur.")
def lire(code: CodeTerritoire, numero: NumeroDemande, who: Epci, s: SessionDep) -> dict[str, Any]:
    t = territoire_autorise(s, code, who)
    statut = _statut(s, t, numero)
    table = table_demandes(s, t.id, statuts=STATUTS_DEMANDE, numeros=[numero])
    return {**demandes_depuis_table(table)[0].model_dump(mode="json"), "statut": statut}


# Scores ------------------------------------------------------------------------------------------


class LigneCritere(BaseModel):
    critere: str = Field(description="identifiant du critère dans la grille")
    libelle: str
    points: float = Field(description="points qui comptent dans le score")
    points_bruts: float = Field(description="points avant la règle des rubriques exclusives")
    retenu: bool = Field(description="faux si le critère est écarté par un critère plus favorable de sa rubrique")
    groupe: str | None = Field(description="rubrique exclusive du critère")
    detail: str = Field(description="le calcul en clair")


class GrilleUtilisee(BaseModel):
    territoire: str = Field(description="code SIREN de l'EPCI")
    version: int
    libelle: str
    date_effet: date | None


class Semblables(BaseModel):
    definition: str
    typologie: str | None = Field(description="première typologie souhaitée (absente si aucune)")
    commune: str | None = Field(description="première commune souhaitée, code INSEE (absente si aucune)")
    position: int | None = Field(description="rang parmi les demandes semblables classées (1 = la mieux placée)")
    nombre: int = Field(description="demandes semblables classées, celle-ci comprise si elle l'est")
    message: str


class DelaiMoyen(BaseModel):
    jours: float | None = Field(description="délai moyen en jours entre dépôt de la demande et signature du bail")
    baux: int = Field(description="baux signés pris en compte")
    du: date
    au: date
    typologie: str | None
    commune: str | None
    message: str


class Priorite(BaseModel):
    prioritaire: bool
    motifs: list[str] = Field(description="les raisons, en clair")


class Information(BaseModel):
    numero_unique: str
    statut: str
    date_reference: date
    grille: GrilleUtilisee
    score: float
    classee: bool = Field(description="la demande est classée (active et dans le champ de la grille)")
    rang: int | None = Field(description="rang sur le territoire parmi les demandes classées")
    demandes_classees: int
    criteres: list[LigneCritere] = Field(description="les critères qui donnent des points")
    explication: str = Field(description="le détail du score en clair")
    demandes_semblables: Semblables
    delai_moyen: DelaiMoyen
    priorite: Priorite
    avertissement: str


class CotationDemande(BaseModel):
    numero_unique: str
    date_reference: date
    grille: GrilleUtilisee
    score: float
    classee: bool = Field(description="la demande serait classée (active et dans le champ de la grille)")
    motif_non_classee: str | None
    criteres: list[LigneCritere]
    explication: str
    avertissement: str


def _grille_en_vigueur(s, t: Territoire, jour: date) -> VersionRegles:
    row = version_en_vigueur(s, t.id, "grille", jour)
    if row is None:
        raise Probleme(409, f"aucune grille publiée en vigueur au {jour:%d/%m/%Y} sur le territoire {t.code} : "
                            "l'EPCI doit publier sa grille de cotation")
    return row


def _grille(t: Territoire, row: VersionRegles) -> GrilleUtilisee:
    return GrilleUtilisee(territoire=t.code, version=row.version, libelle=row.libelle, date_effet=row.date_effet)


def _lignes(e: Explication) -> list[LigneCritere]:
    return [LigneCritere(critere=x.critere, libelle=x.libelle, points=x.points, points_bruts=x.points_bruts,
                         retenu=x.retenu, groupe=x.groupe, detail=x.detail) for x in e.lignes]


@router.get("/territoires/{code}/demandes/{numero}/information", response_model=Information,
            summary="Information du demandeur",
            description="Ce que le demandeur doit savoir (art. L441-2-8 et R441-2-9 CCH) : son score et ses critères "
                        "selon la grille publiée en vigueur, sa position parmi les demandes semblables (même première "
                        "typologie et même première commune souhaitées), le délai moyen d'attribution des ménages "
                        "semblables logés dans les douze derniers mois, et le caractère prioritaire de sa demande. "
                        "Réservé au guichet et à l'EPCI du territoire, et à l'administrateur.")
def information(code: CodeTerritoire, numero: NumeroDemande, who: Guichet, s: SessionDep, request: Request,
                jour: Jour = None) -> Information:
    t = territoire_autorise(s, code, who)
    statut = _statut(s, t, numero)
    if statut != "active":
        raise Probleme(409, f"la demande {numero} est {STATUTS_FR.get(statut, statut)} : elle n'est plus en attente "
                            "d'un logement, elle n'a plus de cotation")
    jour = jour or date.today()
    row = _grille_en_vigueur(s, t, jour)
    pool = cache_scores(request.app).pool(s, t, row, jour)
    i = pool.lignes.get(numero)
    if i is None:  # changed between the status read and the pool build
        raise Probleme(409, f"la demande {numero} vient d'être modifiée : réessayez")
    e = expliquer_ligne(pool.cotation, i)
    return Information(
        numero_unique=numero, statut=statut, date_reference=jour, grille=_grille(t, row), score=e.score,
        classee=bool(e.rang), rang=e.rang or None, demandes_classees=e.classees, criteres=_lignes(e),
        explication=e.texte(), demandes_semblables=semblables(pool, i), delai_moyen=delai_moyen(s, t, pool, i, jour),
        priorite=priorite(pool, i), avertissement=AIDE_DECISION)


def semblables(pool: Pool, i: int) -> Semblables:
    typologie, commune = pool.typologie[i] or None, pool.commune[i] or None
    position, count = int(pool.position[i]), int(pool.semblables[i])
    group = (f"{f'typologie {typologie}' if typologie else 'sans typologie souhaitée'}, "
             f"{f'commune {commune}' if commune else 'sans commune souhaitée'}")
    if position:
        message = f"{'1re' if position == 1 else f'{position}e'} sur {count} demandes classées semblables ({group})"
    else:
        message = f"demande non classée, donc sans position ; {count} demandes classées semblables ({group})"
    missing = [what for what, given in (("de typologie", typologie), ("de commune", commune)) if not given]
    if missing:
        message += (f" ; le demandeur n'a pas indiqué {' ni '.join(missing)} souhaitée : la demande est comparée "
                    "à celles qui sont dans le même cas")
    return Semblables(definition=SEMBLABLES, typologie=typologie, commune=commune, position=position or None,
                      nombre=count, message=message)


def delai_moyen(s, t: Territoire, pool: Pool, i: int, jour: date) -> DelaiMoyen:
    """Mean days from registration to signed lease, over leases signed in the twelve months up to `jour`.

    Leases of units of the applicant's first desired typology and commune; a criterion the
    applicant did not give is not filtered on.
    """
    typologie, commune = pool.typologie[i] or None, pool.commune[i] or None
    start = ajouter_mois(jour, -12) + timedelta(days=1)
    query = select(Proposition.date_depot, Proposition.bail_date).where(
        Proposition.territoire_id == t.id, Proposition.bail == "signe",
        Proposition.bail_date >= start, Proposition.bail_date <= jour)
    if typologie:
        query = query.where(Proposition.typologie == typologie)
    if commune:
        query = query.where(Proposition.commune == commune)
    days = [(b - d).days for d, b in s.execute(query).all() if d is not None and b is not None]
    scope = " et ".join(x for x in (f"de typologie {typologie}" if typologie else "",
                                    f"dans la commune {commune}" if commune else "") if x) or "du territoire"
    period = f"du {start:%d/%m/%Y} au {jour:%d/%m/%Y}"
    if days:
        mean = float(np.mean(days))
        message = (f"{nombre(round(mean, 1))} jours en moyenne entre le dépôt de la demande et la signature du bail, "
                   f"sur {len(days)} bail(aux) signé(s) {period} pour des logements {scope}")
    else:
        mean = None
        message = (f"aucun bail signé {period} pour des logements {scope} : le délai moyen ne peut pas être "
                   "calculé")
    return DelaiMoyen(jours=mean, baux=len(days), du=start, au=jour, typologie=typologie, commune=commune,
                      message=message)


def priorite(pool: Pool, i: int) -> Priorite:
    """DALO decision in force, L441-1 priority categories, PDALHPD label: each with its reason in French."""
    ctx = pool.cotation.contexte
    reasons = []
    if ctx["dalo"][i]:
        decided = pool.table["date_decision_dalo"].iat[i]
        reasons.append(f"reconnue prioritaire et devant être logée d'urgence par la commission de médiation DALO "
                       f"(décision du {decided:%d/%m/%Y})")
    for letter, label in CATEGORIES_PRIORITAIRES.items():
        if ctx[f"prioritaire_{letter}"][i]:
            reasons.append(f"public prioritaire de l'art. L441-1 CCH, {letter.replace('_', ' ')}) : {label}")
    if ctx["pdalhpd"][i]:
        reasons.append("labellisée prioritaire au plan départemental d'action pour le logement et l'hébergement des "
                       "personnes défavorisées (PDALHPD)")
    return Priorite(prioritaire=bool(reasons), motifs=reasons)


@router.post("/territoires/{code}/cotation", response_model=CotationDemande, summary="Coter une demande",
             description="Calcule le score d'une demande envoyée en JSON avec la grille publiée en vigueur à la date, "
                         "sans rien enregistrer. Ouvert à tous les rôles (l'EPCI et le guichet sur leur territoire).")
def coter_demande(code: CodeTerritoire, demande: FicheDemande, who: Annotated[Appelant, Depends(appelant)],
                  s: SessionDep, request: Request, jour: Jour = None) -> CotationDemande:
    t = territoire_autorise(s, code, who)
    if demande.epci != t.code:
        raise Probleme(422, f"demande de l'EPCI {demande.epci}, pas du territoire {t.code} : envoyez-la au bon "
                            "territoire", [{"champ": "body.epci", "message": "code EPCI différent du territoire"}])
    jour = jour or date.today()
    row = _grille_en_vigueur(s, t, jour)
    compiled = cache_scores(request.app).grille(row)
    cot = coter(compiled, table_une_demande(demande), jour)
    e = expliquer_ligne(cot, 0)
    classee = bool(cot.classees[0])
    why = None
    if not classee:
        why = ("demande non active à cette date (déposée après, ou non renouvelée depuis plus d'un an)"
               if not cot.contexte["demande_active"][0] else "demande hors du champ de la grille "
               f"({compiled.grille.grille.demandes.replace('_', ' ')} seulement)")
    text = "\n".join([e.entete, *e.texte().splitlines()[1:len(e.lignes) + 1],
                      f"Total : {nombre(e.score)} point{'s' if abs(e.score) >= 2 else ''}."])
    return CotationDemande(numero_unique=demande.numero_unique, date_reference=jour, grille=_grille(t, row),
                           score=e.score, classee=classee, motif_non_classee=why, criteres=_lignes(e),
                           explication=text, avertissement=AIDE_DECISION)
