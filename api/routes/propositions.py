"""Routes: proposal runs for a bailleur's CAL, then the commission's decisions and the leases.

A run is queued (202) and solved in the background (`api.runs.Executeur`); the client polls it.
Its candidates are locked for the territory until the CAL decides, the run is cancelled or it
expires, so no other run (another bailleur's included) proposes the same household meanwhile.
A bailleur only ever sees its own runs: another bailleur's run answers 404, like an unknown one.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select, update

from api.audit import tracer
from api.auth import Appelant, SessionDep, exiger, territoire_autorise
from api.models import (
    DECISIONS,
    DECISIONS_ATTRIBUTION,
    ISSUES_BAIL,
    STATUTS_RUN,
    Demande,
    Logement,
    Organisation,
    Proposition,
    Run,
    Territoire,
    Verrou,
    VersionRegles,
    maintenant,
)
from api.pagination import Page, Pagination, pagination, paginer
from api.problems import Probleme
from api.runs import (
    STATUTS_ACTIFS,
    ajouter_refus,
    etablir,
    expirer,
    politique_en_vigueur,
    reviser,
    utc,
    version_en_vigueur,
)
from api.stockage import table_logements
from matching.feuille_cal import en_markdown
from matching.propositions import logements_sans_plafond
from rules.chargement import charger_grille
from rules.parametres import Parametres

router = APIRouter(tags=["propositions"])

Bailleur = Annotated[Appelant, Depends(exiger("bailleur"))]
ATTENTE_MAX_S = 60  # longest a status read may wait for the end of a run
Identifiant = Annotated[str, Field(min_length=1, max_length=40)]
INTROUVABLE = ("Une demande de propositions d'un autre bailleur répond 404, comme une demande inconnue : le service "
               "ne révèle pas son existence.")


def _jj(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


# Models ---------------------------------------------------------------------------------------------


class DemandePropositions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    territoire: str = Field(description="code SIREN de l'EPCI", examples=["243100518"])
    date_cal: dt.date = Field(description="date de la commission d'attribution (CAL), AAAA-MM-JJ",
                              examples=["2026-12-03"])
    logements: list[Identifiant] | None = Field(
        None, min_length=1, max_length=5000,
        description="identifiants des logements à proposer ; par défaut, tous vos logements vacants du territoire")


class RunCree(BaseModel):
    id: str = Field(description="identifiant de la demande de propositions")
    statut: str = Field(description="en_attente : le calcul est en file")
    lien: str = Field(description="adresse à interroger pour suivre le calcul")


class RegleUtilisee(BaseModel):
    version: int | None = Field(description="numéro de la version publiée ; absent pour la politique par défaut")
    libelle: str


class RunResume(BaseModel):
    id: str
    territoire: str = Field(description="code SIREN de l'EPCI")
    bailleur: str = Field(description="code de l'organisation du bailleur")
    statut: Literal[STATUTS_RUN] = Field(  # type: ignore[valid-type]
        description="en_attente, en_cours, termine, echec ou annule")
    date_cal: dt.date
    nombre_logements: int
    cree_le: dt.datetime
    debut: dt.datetime | None
    fin: dt.datetime | None
    expire_le: dt.datetime = Field(description="au-delà, les candidats non décidés sont libérés")
    expiree: bool
    lien: str


class RunDetail(RunResume):
    logements: list[str] = Field(description="identifiants des logements demandés")
    grille: RegleUtilisee
    politique: RegleUtilisee
    empreinte: str | None = Field(description="SHA-256 des données résolues (demandes, logements, grille, "
                                              "politique, réalisé de l'année, date) : mêmes données, mêmes "
                                              "propositions")
    erreur: str | None = Field(description="en cas d'échec, pourquoi")
    solveur: dict[str, Any] | None = Field(description="statut, objectif, borne, écart et secondes du solveur")
    durees: dict[str, float] | None = Field(description="secondes par étape : chargement, cotation, "
                                                        "eligibilite_optimisation, enregistrement")
    resultat: dict[str, Any] | None = Field(
        description="la feuille de CAL en données : par logement, les candidats classés avec leur score, leurs "
                    "principaux critères, leurs marges d'éligibilité et les objectifs pour lesquels ils comptent, "
                    "complétés de la décision de la CAL et de l'issue du bail ; l'atteinte des objectifs ; les "
                    "logements écartés ou incomplets")


class DecisionCal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    logement: Identifiant = Field(description="identifiant du logement")
    numero_unique: Identifiant = Field(description="numéro unique de la demande candidate")
    decision: Literal[DECISIONS] = Field(  # type: ignore[valid-type]
        description="attribution, attribution_par_rang, attribution_sous_condition (condition suspensive), "
                    "non_attribution ou irrecevabilite (art. R.441-3 CCH)")
    motif: str | None = Field(None, max_length=2000, description="motif de la décision")


class Bail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    logement: Identifiant = Field(description="identifiant du logement")
    numero_unique: Identifiant = Field(description="numéro unique de la demande attributaire")
    issue: Literal[ISSUES_BAIL] = Field(description="signe (bail signé) ou refuse (refus du demandeur)")  # type: ignore[valid-type]
    date: dt.date = Field(description="date de signature ou du refus")
    motif: str | None = Field(None, max_length=2000, description="motif, notamment du refus")
    refus_legitime: bool | None = Field(
        None, description="pour un refus : jugé légitime ou non (la grille peut pénaliser un refus non légitime)")

    @model_validator(mode="after")
    def _refus(self):
        if self.issue == "refuse" and self.refus_legitime is None:
            raise ValueError("précisez refus_legitime (true ou false) pour un refus")
        if self.issue == "signe" and self.refus_legitime is not None:
            raise ValueError("refus_legitime ne s'applique qu'à un refus")
        return self


class EtatLogement(BaseModel):
    identifiant: str
    statut: str


class DecisionsEnregistrees(BaseModel):
    enregistrees: int
    par_decision: dict[str, int]
    verrous_liberes: int = Field(description="ménages de nouveau proposables par d'autres calculs")
    logements: list[EtatLogement]


class BauxEnregistres(BaseModel):
    enregistres: int
    signes: int
    refuses: int
    verrous_liberes: int
    logements: list[EtatLogement]


class Annulation(BaseModel):
    id: str
    statut: str
    verrous_liberes: int
    logements_liberes: int


# Helpers --------------------------------------------------------------------------------------------


def _run_visible(s, who: Appelant, run_id: str) -> Run:
    run = s.get(Run, run_id)
    if run is None or (who.role != "admin" and run.organisation_id != who.organisation_id):
        raise Probleme(404, f"demande de propositions {run_id} introuvable")
    return run


def _run_a_ecrire(s, who: Appelant, run_id: str) -> Run:
    """The run, locked for this transaction: its row on PostgreSQL, the database on SQLite."""
    run = _run_visible(s, who, run_id)
    s.execute(update(Run).where(Run.id == run_id).values(statut=Run.statut))
    s.refresh(run)
    return run


def _expiree(run: Run, now: dt.datetime | None = None) -> bool:
    return run.statut == "termine" and utc(run.expire_le) <= (now or maintenant())


def _resume(run: Run, territoire: str, bailleur: str) -> dict[str, Any]:
    return dict(id=run.id, territoire=territoire, bailleur=bailleur, statut=run.statut, date_cal=run.date_cal,
                nombre_logements=len(run.logements or []), cree_le=run.cree_le, debut=run.debut, fin=run.fin,
                expire_le=run.expire_le, expiree=_expiree(run), lien=f"/v1/propositions/{run.id}")


def _probleme(problems: list[dict[str, Any]], invalid: bool, what: str) -> Probleme:
    return Probleme(422 if invalid else 409, f"{len(problems)} problème(s) : {what}", problems)


def _etats_logements(s, ids: set[int]) -> list[EtatLogement]:
    rows = s.execute(select(Logement.identifiant, Logement.statut).where(Logement.id.in_(ids))).all()
    return [EtatLogement(identifiant=i, statut=st) for i, st in sorted(rows)]


# Runs -----------------------------------------------------------------------------------------------


@router.post("/propositions", status_code=202, response_model=RunCree, summary="Demander des propositions",
             description="Met en file le calcul des propositions pour la prochaine CAL du bailleur appelant : "
                         "jusqu'à trois candidats classés et éligibles par logement, sous la grille publiée en "
                         "vigueur à la date de la CAL et la politique publiée (à défaut, les objectifs légaux de "
                         "l'art. L.441-1 CCH), avec le réalisé de l'année (baux signés). Tout est vérifié avant : "
                         "logements du bailleur, du territoire et vacants, grille en vigueur ; chaque problème est "
                         "listé (422 ou 409). Réponse 202 : suivez le calcul à l'adresse « lien ».")
def demander(corps: DemandePropositions, who: Bailleur, s: SessionDep, request: Request,
             response: Response) -> RunCree:
    if who.role != "bailleur":
        raise Probleme(403, "seul un bailleur demande des propositions pour ses logements")
    t = territoire_autorise(s, corps.territoire, who)
    now = maintenant()
    expirer(s, t.id, now)
    held: dict[str, str] = {}
    for run_id, ids in s.execute(select(Run.id, Run.logements).where(
            Run.organisation_id == who.organisation_id, Run.statut.in_(STATUTS_ACTIFS))):
        held.update({i: run_id for i in ids})
    mine = select(Logement).where(Logement.organisation_id == who.organisation_id)
    invalid: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    if corps.logements is None:
        units = [u for u in s.scalars(mine.where(Logement.territoire_id == t.id, Logement.statut == "vacant"))
                 if u.identifiant not in held]
        if not units:
            conflicts.append({"champ": "logements", "message": f"aucun logement vacant à proposer dans le territoire "
                                                                f"{t.code} (chargez vos logements vacants)"})
    else:
        wanted = list(corps.logements)
        found = {u.identifiant: u for u in s.scalars(mine.where(Logement.identifiant.in_(set(wanted))))}
        seen: set[str] = set()
        units = []
        for i, ident in enumerate(wanted, start=1):
            where = {"champ": f"logements.{i - 1}", "logement": ident}
            u = found.get(ident)
            if ident in seen:
                invalid.append({**where, "message": "logement en double dans la liste"})
            elif u is None:
                invalid.append({**where, "message": f"logement {ident} inconnu parmi vos logements : chargez-le "
                                                    "d'abord (POST /v1/logements)"})
            elif u.territoire_id != t.id:
                invalid.append({**where, "message": f"le logement {ident} n'est pas dans le territoire {t.code}"})
            elif u.statut != "vacant":
                conflicts.append({**where, "message": f"le logement {ident} n'est pas vacant (statut : {u.statut})"})
            elif ident in held:
                conflicts.append({**where, "message": f"le logement {ident} est déjà dans la demande de propositions "
                                                      f"{held[ident]}, en attente de calcul"})
            else:
                units.append(u)
            seen.add(ident)
    grid = version_en_vigueur(s, t.id, "grille", corps.date_cal)
    if grid is None:
        conflicts.append({"champ": "date_cal", "message": f"aucune grille publiée en vigueur au "
                                                          f"{_jj(corps.date_cal)} dans le territoire {t.code}"})
    else:
        document = charger_grille(f"grille version {grid.version}", texte=grid.texte)
        if not document.applicable_a(corps.date_cal):
            conflicts.append({"champ": "date_cal", "message": f"la grille version {grid.version} en vigueur n'est "
                                                              f"pas valide le {_jj(corps.date_cal)} d'après ses "
                                                              "propres dates"})
    pol = politique_en_vigueur(s, t.id, corps.date_cal)
    if not pol.politique.applicable_a(corps.date_cal):
        conflicts.append({"champ": "date_cal", "message": f"la politique {pol.politique.politique.version} n'est "
                                                          f"pas valide le {_jj(corps.date_cal)} d'après ses propres "
                                                          "dates"})
    units.sort(key=lambda u: u.identifiant)
    if units and pol.politique.eligibilite.plafond_inconnu == "erreur":
        unknown = logements_sans_plafond(table_logements(units), corps.date_cal, Parametres.charger())
        for u in (u for u, x in zip(units, unknown, strict=True) if x):
            conflicts.append({"champ": "logements", "logement": u.identifiant,
                              "message": f"plafond de ressources inconnu au {_jj(corps.date_cal)} pour ce logement : "
                                         "la politique en vigueur arrête le lot (plafond_inconnu: erreur) ; "
                                         "retirez-le de la demande"})
    if invalid or conflicts:
        raise _probleme(invalid + conflicts, bool(invalid), "aucune demande de propositions n'a été enregistrée")
    reglages = request.app.state.reglages
    run = Run(id=str(uuid.uuid4()), territoire_id=t.id, organisation_id=who.organisation_id, statut="en_attente",
              date_cal=corps.date_cal, logements=sorted(u.identifiant for u in units), grille_id=grid.id,
              politique_id=pol.version.id if pol.version else None, cree_le=now,
              expire_le=now + dt.timedelta(days=reglages.expiration_jours))
    s.add(run)
    tracer(s, who, "demande_propositions", f"propositions {run.id}", territoire=t.code, logements=len(units),
           date_cal=corps.date_cal.isoformat())
    s.commit()
    request.app.state.executeur.soumettre(run.id)
    lien = f"/v1/propositions/{run.id}"
    response.headers["Location"] = lien
    return RunCree(id=run.id, statut=run.statut, lien=lien)


@router.get("/propositions", response_model=Page[RunResume], summary="Lister ses demandes de propositions",
            description="Les demandes de propositions du bailleur appelant (l'administrateur les voit toutes), "
                        "les plus récentes d'abord.")
def lister(who: Bailleur, s: SessionDep, p: Annotated[Pagination, Depends(pagination)],
           statut: Annotated[Literal[STATUTS_RUN] | None,  # type: ignore[valid-type]
                             Query(description="ne garder que les demandes de ce statut")] = None,
           ) -> Page[RunResume]:
    query = (select(Run, Territoire.code, Organisation.code)
             .join(Territoire, Territoire.id == Run.territoire_id)
             .join(Organisation, Organisation.id == Run.organisation_id))
    if who.role != "admin":
        query = query.where(Run.organisation_id == who.organisation_id)
    if statut is not None:
        query = query.where(Run.statut == statut)
    rows, total = paginer(s, query.order_by(Run.cree_le.desc(), Run.id), p)
    return Page(elements=[RunResume(**_resume(*r)) for r in rows], page=p.page, taille=p.taille, total=total)


@router.get("/propositions/{run_id}", response_model=RunDetail, summary="Lire une demande de propositions",
            description="Statut, durées, rapport du solveur et, une fois le calcul terminé, les propositions par "
                        "logement avec l'état de chaque candidat (décision de la CAL, issue du bail). Avec "
                        "`attendre`, la réponse attend la fin du calcul (au plus ce nombre de secondes) au lieu "
                        "d'interroger le statut en boucle. " + INTROUVABLE)
def lire(run_id: str, who: Bailleur, s: SessionDep, request: Request,
         attendre: Annotated[float, Query(ge=0, le=ATTENTE_MAX_S,
                                          description="secondes d'attente au plus si le calcul n'est pas fini "
                                                      f"(0 à {ATTENTE_MAX_S}) ; 0 : réponse immédiate")] = 0
         ) -> RunDetail:
    run = _run_visible(s, who, run_id)
    if attendre and run.statut in STATUTS_ACTIFS:
        s.rollback()  # no transaction (nor pooled connection) held while waiting
        request.app.state.executeur.attendre(run.id, attendre)
        s.refresh(run)
    territoire = s.scalar(select(Territoire.code).where(Territoire.id == run.territoire_id))
    bailleur = s.scalar(select(Organisation.code).where(Organisation.id == run.organisation_id))
    grid = s.get(VersionRegles, run.grille_id)
    if run.politique_id is None:
        policy = RegleUtilisee(version=None, libelle="politique par défaut (objectifs légaux, art. L.441-1 CCH)")
    else:
        version = s.get(VersionRegles, run.politique_id)
        policy = RegleUtilisee(version=version.version, libelle=version.libelle)
    return RunDetail(
        **_resume(run, territoire, bailleur), logements=list(run.logements or []),
        grille=RegleUtilisee(version=grid.version, libelle=grid.libelle), politique=policy,
        empreinte=run.empreinte, erreur=run.erreur, solveur=run.solveur, durees=run.durees,
        resultat=_resultat_etats(s, run) if run.resultat is not None else None,
    )


def _resultat_etats(s, run: Run) -> dict[str, Any]:
    """The stored sheet data, each candidate with its decision and lease outcome, each unit with its status."""
    props = {(p.identifiant_logement, p.numero_unique): p
             for p in s.scalars(select(Proposition).where(Proposition.run_id == run.id))}
    statuses = dict(s.execute(select(Logement.identifiant, Logement.statut).where(
        Logement.organisation_id == run.organisation_id, Logement.identifiant.in_(run.logements or []))).all())
    data = dict(run.resultat)
    units = []
    for unit in data.get("logements", []):
        candidates = []
        for c in unit.get("candidats", []):
            p = props.get((unit["identifiant"], c["numero_unique"]))
            decision = bail = None
            if p is not None and p.decision is not None:
                decision = {"decision": p.decision, "motif": p.decision_motif,
                            "le": p.decision_le.isoformat() if p.decision_le else None}
            if p is not None and p.bail is not None:
                bail = {"issue": p.bail, "date": p.bail_date.isoformat() if p.bail_date else None,
                        "motif": p.bail_motif, "refus_legitime": p.refus_legitime}
            candidates.append({**c, "decision": decision, "bail": bail})
        units.append({**unit, "statut": statuses.get(unit["identifiant"]), "candidats": candidates})
    data["logements"] = units
    return data


@router.get("/propositions/{run_id}/feuille", summary="Feuille de CAL (Markdown)",
            response_class=Response,
            responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
                             "description": "la feuille de préparation de la CAL"}},
            description="La feuille que lit la commission : par logement, les candidats classés et leurs raisons, "
                        "l'atteinte des objectifs, les logements écartés ou incomplets. " + INTROUVABLE)
def feuille(run_id: str, who: Bailleur, s: SessionDep) -> Response:
    run = _run_visible(s, who, run_id)
    if run.statut != "termine" or run.resultat is None:
        raise Probleme(409, f"la feuille de CAL n'existe qu'une fois le calcul terminé (statut : {run.statut})")
    return Response(en_markdown(None, _pour_markdown(run.resultat)), media_type="text/markdown; charset=utf-8")


def _pour_markdown(data: dict[str, Any]) -> dict[str, Any]:
    """Stored data back to what the sheet renders: the numbers stored as null (NaN, infinite) are NaN again."""
    nan = math.nan

    def numbers(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: (nan if k in keys and v is None else v) for k, v in d.items()}

    out = dict(data)
    out["resolution"] = numbers(data["resolution"], ("objectif", "borne", "ecart_relatif", "secondes"))
    out["logements"] = [
        {**u, "candidats": [
            {**numbers(c, ("score", "taux_effort", "reste_a_vivre_par_uc")),
             "eligibilite": numbers(c["eligibilite"], tuple(c["eligibilite"]))}
            for c in u["candidats"]]}
        for u in data["logements"]
    ]
    return out


@router.post("/propositions/{run_id}/annulation", response_model=Annulation, summary="Annuler une demande",
             description="Annule une demande de propositions en file, ou terminée tant qu'aucune décision de CAL "
                         "n'est enregistrée : ses candidats sont libérés et ses logements redeviennent vacants. "
                         + INTROUVABLE)
def annuler(run_id: str, who: Bailleur, s: SessionDep) -> Annulation:
    run = _run_a_ecrire(s, who, run_id)
    now = maintenant()
    freed = units_freed = 0
    if run.statut == "en_cours":
        raise Probleme(409, "le calcul est en cours : annulez la demande quand il sera terminé")
    if run.statut in ("echec", "annule"):
        raise Probleme(409, f"la demande de propositions est déjà terminée (statut : {run.statut})")
    if run.statut == "termine":
        decided = s.scalar(select(Proposition.id).where(Proposition.run_id == run.id,
                                                        Proposition.decision.is_not(None)).limit(1))
        if decided is not None:
            raise Probleme(409, "une décision de CAL est déjà enregistrée : la demande de propositions ne peut plus "
                                "être annulée")
        if _expiree(run, now):
            expirer(s, run.territoire_id, now)  # what it held is released by expiry, units included
        else:
            ids = set(s.scalars(select(Proposition.logement_id).where(Proposition.run_id == run.id)))
            units_freed = s.execute(update(Logement).where(Logement.id.in_(ids), Logement.statut == "propose")
                                    .values(statut="vacant", modifie_le=now)).rowcount
        freed = s.execute(delete(Verrou).where(Verrou.run_id == run.id)).rowcount
    run.statut, run.fin = "annule", run.fin or now
    tracer(s, who, "annulation_propositions", f"propositions {run.id}", verrous_liberes=freed,
           logements_liberes=units_freed)
    s.commit()
    return Annulation(id=run.id, statut=run.statut, verrous_liberes=freed, logements_liberes=units_freed)


# Decisions and leases -------------------------------------------------------------------------------


def _candidatures(s, run: Run) -> list[Proposition]:
    return list(s.scalars(select(Proposition).where(Proposition.run_id == run.id).order_by(Proposition.id)))


def _index_candidatures(s, run: Run) -> tuple[list[Proposition], dict, set[int]]:
    """A run's candidatures, by (unit, registration number), and the units already let."""
    props = _candidatures(s, run)
    by_key = {(p.identifiant_logement, p.numero_unique): p for p in props}
    return props, by_key, {p.logement_id for p in props if p.bail == "signe"}


@router.post("/propositions/{run_id}/decisions", response_model=DecisionsEnregistrees,
             summary="Enregistrer les décisions de la CAL",
             description="Les décisions de la commission, candidat par candidat : attribution, attribution par "
                         "rang, attribution sous condition suspensive, non-attribution ou irrecevabilité. Tout ou "
                         "rien : chaque élément doit être un candidat de cette demande pour ce logement, sans "
                         "décision déjà enregistrée ; chaque problème est listé. Une non-attribution ou une "
                         "irrecevabilité libère le ménage ; une attribution le retire des propositions jusqu'à "
                         "l'issue du bail. " + INTROUVABLE)
def decider(run_id: str, who: Bailleur, s: SessionDep,
            decisions: Annotated[list[DecisionCal], Body(min_length=1, max_length=10_000)]) -> DecisionsEnregistrees:
    run = _run_a_ecrire(s, who, run_id)
    now = maintenant()
    if run.statut != "termine":
        raise Probleme(409, f"les décisions s'enregistrent sur une demande de propositions terminée (statut : "
                            f"{run.statut})")
    if _expiree(run, now):
        raise Probleme(409, f"la demande de propositions a expiré le {_jj(utc(run.expire_le).date())} : ses "
                            "candidats ont été libérés ; demandez de nouvelles propositions")
    props, by_key, let = _index_candidatures(s, run)
    problems, seen, duplicate = [], set(), False
    for i, d in enumerate(decisions):
        key = (d.logement, d.numero_unique)
        where = {"champ": str(i), "logement": d.logement, "numero_unique": d.numero_unique}
        p = by_key.get(key)
        if key in seen:
            duplicate = True
            problems.append({**where, "message": "candidat en double dans la requête"})
        elif p is None:
            problems.append({**where, "message": f"la demande {d.numero_unique} n'est pas candidate sur le logement "
                                                 f"{d.logement} dans cette demande de propositions"})
        elif p.decision is not None:
            problems.append({**where, "message": f"décision déjà enregistrée ({p.decision}) : une décision "
                                                 "enregistrée ne se modifie pas"})
        elif p.logement_id in let:
            problems.append({**where, "message": f"le logement {d.logement} est déjà loué"})
        seen.add(key)
    if problems:
        raise _probleme(problems, duplicate, "aucune décision n'a été enregistrée")
    counts: dict[str, int] = {}
    for d in decisions:
        p = by_key[(d.logement, d.numero_unique)]
        p.decision, p.decision_motif, p.decision_le = d.decision, d.motif, now
        counts[d.decision] = counts.get(d.decision, 0) + 1
    s.flush()
    touched = {by_key[(d.logement, d.numero_unique)] for d in decisions}
    units = {p.logement_id for p in touched}
    result = etablir(s, run, props, {p.numero_unique for p in touched}, units)
    tracer(s, who, "decisions_cal", f"propositions {run.id}", decisions=len(decisions), **counts,
           verrous_liberes=result["verrous_liberes"])
    s.commit()
    return DecisionsEnregistrees(enregistrees=len(decisions), par_decision=counts,
                                 verrous_liberes=result["verrous_liberes"], logements=_etats_logements(s, units))


@router.post("/propositions/{run_id}/baux", response_model=BauxEnregistres, summary="Enregistrer les baux",
             description="L'issue de chaque attribution : bail signé, ou refus du demandeur (légitime ou non). "
                         "Seulement pour un candidat qui a une décision d'attribution. Un bail signé loge le ménage "
                         "et libère les autres candidats du logement ; un refus rend la demande active, l'inscrit "
                         "dans son historique (la grille peut pénaliser un refus non légitime) et, si aucun autre "
                         "candidat attributaire n'attend, rend le logement vacant. Tout ou rien. " + INTROUVABLE)
def baux(run_id: str, who: Bailleur, s: SessionDep,
         issues: Annotated[list[Bail], Body(min_length=1, max_length=10_000)]) -> BauxEnregistres:
    run = _run_a_ecrire(s, who, run_id)
    if run.statut != "termine":
        raise Probleme(409, f"les baux s'enregistrent sur une demande de propositions terminée (statut : "
                            f"{run.statut})")
    props, by_key, let = _index_candidatures(s, run)
    problems, seen, invalid = [], set(), False
    signing: set[int] = set()
    for i, b in enumerate(issues):
        key = (b.logement, b.numero_unique)
        where = {"champ": str(i), "logement": b.logement, "numero_unique": b.numero_unique}
        p = by_key.get(key)
        if key in seen:
            invalid = True
            problems.append({**where, "message": "candidat en double dans la requête"})
        elif b.date < run.date_cal:
            invalid = True
            problems.append({**where, "message": f"la date ({_jj(b.date)}) précède la CAL du {_jj(run.date_cal)}"})
        elif p is None:
            problems.append({**where, "message": f"la demande {b.numero_unique} n'est pas candidate sur le logement "
                                                 f"{b.logement} dans cette demande de propositions"})
        elif p.decision not in DECISIONS_ATTRIBUTION:
            problems.append({**where, "message": f"aucune décision d'attribution pour ce candidat (décision : "
                                                 f"{p.decision or 'aucune'}) : un bail suit une attribution de la "
                                                 "CAL"})
        elif p.bail is not None:
            problems.append({**where, "message": f"issue déjà enregistrée ({p.bail} le {_jj(p.bail_date)})"})
        elif p.logement_id in let:
            problems.append({**where, "message": f"le logement {b.logement} est déjà loué"})
        elif b.issue == "signe" and p.logement_id in signing:
            problems.append({**where, "message": f"deux baux signés pour le logement {b.logement}"})
        seen.add(key)
        if p is not None and b.issue == "signe":
            signing.add(p.logement_id)
    if problems:
        raise _probleme(problems, invalid, "aucune issue de bail n'a été enregistrée")
    refused = [b for b in issues if b.issue == "refuse"]
    for b in issues:
        p = by_key[(b.logement, b.numero_unique)]
        p.bail, p.bail_date, p.bail_motif = b.issue, b.date, b.motif
        p.refus_legitime = b.refus_legitime
    for b in refused:  # the refusal joins the applicant's history, where the grid's penalty reads it
        row = s.scalar(select(Demande).where(Demande.territoire_id == run.territoire_id,
                                             Demande.numero_unique == b.numero_unique))
        if row is not None:
            row.donnees = ajouter_refus(row.donnees, b.date, bool(b.refus_legitime))
            row.modifiee_le = maintenant()
    s.flush()
    touched = [by_key[(b.logement, b.numero_unique)] for b in issues]
    units = {p.logement_id for p in touched}
    households = {p.numero_unique for p in props if p.logement_id in units}  # a signed lease frees the others
    result = etablir(s, run, props, households, units)
    if refused and not result["demandes_modifiees"]:
        reviser(s, run.territoire_id)
    signed = len(issues) - len(refused)
    tracer(s, who, "baux", f"propositions {run.id}", signes=signed, refuses=len(refused),
           verrous_liberes=result["verrous_liberes"])
    s.commit()
    return BauxEnregistres(enregistres=len(issues), signes=signed, refuses=len(refused),
                           verrous_liberes=result["verrous_liberes"], logements=_etats_logements(s, units))
