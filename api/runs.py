"""Proposal runs solved in background threads, so a large batch never blocks the server.

A run goes en_attente -> en_cours -> termine | echec. Runs of one territory are serialized by a
per-territory lock held from the moment the candidates locks are read until the proposals and
their locks are written: on PostgreSQL a transaction-level advisory lock (so two servers over one
database serialize too, and the transaction stays open through the solve); on SQLite, a
process-wide threading lock per territory plus the database's own write lock. The unique
(territoire_id, numero_unique) constraint of `verrous` is the safety net under both.

After decisions and leases, `etablir` derives the touched households' locks and statuses and
the units' statuses from the run's proposals, so both routes follow one rule.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.audit import tracer
from api.memoire import figer_caches
from api.models import (
    DECISIONS_ATTRIBUTION,
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
from api.settings import Reglages
from api.stockage import frame_json, table_logements
from api.versions import version_en_vigueur
from cotation.demande import Demande as FicheDemande
from cotation.moteur import ErreurCotation, evaluer_grilles
from cotation.table import ErreurDonnees, typer_demandes
from matching.bilan import Realises, avec_realise, compter_baux
from matching.feuille_cal import candidats_du_logement, donnees
from matching.propositions import proposer
from rules.chargement import ErreurRegles, charger_grille
from rules.parametres import ParametreInvalide, ParametreManquant
from rules.politique import Politique, charger_politique, chemin_politique

log = logging.getLogger("cotation.api")

EN_COURS_INTERROMPU = "interrompu par l'arrêt du service"
STATUTS_ACTIFS = ("en_attente", "en_cours")  # a run that still holds its units
POLITIQUE_DEFAUT = "defaut"
VERROU_CONSULTATIF = 0x636F74  # "cot": namespace of the service's PostgreSQL advisory locks


class ErreurCalcul(Exception):
    """A run that cannot be solved, with a French message safe to store and show (no personal data)."""


def utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: every stored moment is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# Rules in force ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolitiqueRun:
    politique: Politique
    texte: str
    version: VersionRegles | None  # None: the shipped default


def politique_en_vigueur(s: Session, territoire_id: int, jour: date) -> PolitiqueRun:
    """The published policy in force at `jour`, else the shipped default (the legal objectives)."""
    version = version_en_vigueur(s, territoire_id, "politique", jour)
    if version is not None:
        return PolitiqueRun(charger_politique(f"politique {version.version}", texte=version.texte), version.texte,
                            version)
    return politique_defaut()


@functools.cache
def politique_defaut() -> PolitiqueRun:
    """The shipped default; units whose income ceiling is unknown are set aside, as in the demo (read once)."""
    path = chemin_politique(POLITIQUE_DEFAUT)
    texte = path.read_text(encoding="utf-8")
    politique = charger_politique(path.name, texte=texte).avec_plafond_inconnu("ecarter_logement")
    return PolitiqueRun(politique, texte, None)


def politique_du_run(s: Session, run: Run) -> PolitiqueRun:
    if run.politique_id is None:
        return politique_defaut()
    version = s.get(VersionRegles, run.politique_id)
    return PolitiqueRun(charger_politique(f"politique {version.version}", texte=version.texte), version.texte, version)


# The year's signed leases -------------------------------------------------------------------------


def baux_signes(s: Session, territoire: Territoire, annee: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The year's signed leases of a territory: the unit snapshot per lease, and the stored publics."""
    rows = s.execute(
        select(Proposition.qpv, Proposition.bailleur, Proposition.reservataire, Proposition.publics)
        .where(Proposition.territoire_id == territoire.id, Proposition.bail == "signe",
               Proposition.bail_date >= date(annee, 1, 1), Proposition.bail_date <= date(annee, 12, 31))
        .order_by(Proposition.id)
    ).all()
    frame = pd.DataFrame({
        "qpv": np.array([bool(r.qpv) for r in rows], dtype=bool),
        "epci": [territoire.code] * len(rows),
        "bailleur": [r.bailleur for r in rows],
        "reservataire": [r.reservataire for r in rows],
    })
    return frame, [dict(r.publics or {}) for r in rows]


def compter_annee(s: Session, territoire: Territoire, politique: Politique, annee: int) -> Realises:
    """The year's counts per objective and group, from signed leases (as the law counts them).

    A lease's public membership is the one stored when its run was solved; an objective the run's
    policy did not have counts the lease as outside its public.
    """
    frame, publics = baux_signes(s, territoire, annee)
    flags = {o.id: np.array([bool(p.get(o.id, False)) for p in publics], dtype=bool) for o in politique.objectifs}
    return compter_baux(politique, frame, flags)


# Candidates' state --------------------------------------------------------------------------------


def _vivante(p: Proposition, loues: set[int]) -> bool:
    """Still holding its household: undecided, or attributed with no lease outcome, on a unit not let."""
    if p.bail is not None or p.logement_id in loues:
        return False
    return p.decision is None or p.decision in DECISIONS_ATTRIBUTION


def etablir(s: Session, run: Run, props: list[Proposition], numeros: set[str], logements: set[int]) -> dict[str, int]:
    """After decisions or leases, bring the touched households' locks and statuses and units' statuses in line.

    From this run's proposals: a household with a signed lease is `relogee`; one with an attribution
    awaiting its lease is `attribuee`; one whose attributions all ended (refused, or the unit let to
    another) is `active` again; the others keep their status. A household keeps its lock while it
    has a live candidacy (undecided, or attributed without a lease outcome). A unit is `loue`,
    `attribue`, `propose` while a candidacy is live, and back to `vacant` otherwise.
    """
    loues = {p.logement_id for p in props if p.bail == "signe"}
    mine: dict[str, list[Proposition]] = {}
    for p in props:
        if p.numero_unique in numeros:
            mine.setdefault(p.numero_unique, []).append(p)
    free, status = [], {"relogee": [], "attribuee": [], "active": []}
    for numero, candidacies in mine.items():
        live = [p for p in candidacies if _vivante(p, loues)]
        if any(p.bail == "signe" for p in candidacies):
            status["relogee"].append(numero)
            free.append(numero)
            continue
        if any(p.decision in DECISIONS_ATTRIBUTION for p in live):
            status["attribuee"].append(numero)
        elif any(p.decision in DECISIONS_ATTRIBUTION for p in candidacies):
            status["active"].append(numero)  # its attributions ended: back in the pools
        if not live:
            free.append(numero)
    freed = 0
    for chunk in _chunks(free):
        freed += s.execute(delete(Verrou).where(Verrou.run_id == run.id, Verrou.numero_unique.in_(chunk))).rowcount
    changed = 0
    for new, chunk_of in status.items():
        for chunk in _chunks(chunk_of):
            changed += s.execute(
                update(Demande).where(Demande.territoire_id == run.territoire_id, Demande.numero_unique.in_(chunk),
                                      Demande.statut != new)
                .values(statut=new, modifiee_le=maintenant())
            ).rowcount
    unit_status: dict[str, list[int]] = {"loue": [], "attribue": [], "propose": [], "vacant": []}
    for logement_id in logements:
        candidacies = [p for p in props if p.logement_id == logement_id]
        live = [p for p in candidacies if _vivante(p, loues)]
        if logement_id in loues:
            unit_status["loue"].append(logement_id)
        elif any(p.decision in DECISIONS_ATTRIBUTION for p in live):
            unit_status["attribue"].append(logement_id)
        elif live:
            unit_status["propose"].append(logement_id)
        else:
            unit_status["vacant"].append(logement_id)
    for new, ids in unit_status.items():
        for chunk in _chunks(ids):
            s.execute(update(Logement).where(Logement.id.in_(chunk), Logement.statut != new)
                      .values(statut=new, modifie_le=maintenant()))
    if changed:
        reviser(s, run.territoire_id)
    return {"verrous_liberes": freed, "demandes_modifiees": changed}


def reviser(s: Session, territoire_id: int) -> None:
    """Bump the territory's application revision: cached pools and scores are stale."""
    s.execute(update(Territoire).where(Territoire.id == territoire_id)
              .values(revision_demandes=Territoire.revision_demandes + 1))


def expirer(s: Session, territoire_id: int, now: datetime) -> int:
    """Release what expired runs of a territory hold: their locks, and their units nobody was attributed.

    A unit belongs to the run of its latest proposal; an expired run gives it back to `vacant`
    unless the CAL attributed it (the lease outcome can still be recorded). Statuses of
    households do not change: an undecided one is active, an attributed one awaits its lease.
    """
    latest = (select(Proposition.logement_id, func.max(Proposition.id).label("dernier"))
              .join(Logement, Logement.id == Proposition.logement_id)
              .where(Proposition.territoire_id == territoire_id, Logement.statut == "propose")
              .group_by(Proposition.logement_id).subquery())
    rows = s.execute(
        select(Proposition.logement_id, Proposition.run_id)
        .join(latest, Proposition.id == latest.c.dernier)
        .join(Run, Run.id == Proposition.run_id)
        .where(Run.statut == "termine", Run.expire_le <= now)
    ).all()
    if rows:
        attributed = set(s.scalars(select(Proposition.logement_id).where(
            Proposition.run_id.in_({r.run_id for r in rows}), Proposition.decision.in_(DECISIONS_ATTRIBUTION))))
        back = [r.logement_id for r in rows if r.logement_id not in attributed]
        for chunk in _chunks(back):
            s.execute(update(Logement).where(Logement.id.in_(chunk), Logement.statut == "propose")
                      .values(statut="vacant", modifie_le=now))
    return s.execute(delete(Verrou).where(Verrou.territoire_id == territoire_id, Verrou.expire_le <= now)).rowcount


def ajouter_refus(donnees_json: str, jour: date, legitime: bool) -> str:
    """Append a refusal to an application's stored history ('AAAA-MM-JJ:refus_...', ';'-separated)."""
    record = json.loads(donnees_json)
    event = f"{jour.isoformat()}:{'refus_legitime' if legitime else 'refus_non_legitime'}"
    before = (record.get("propositions") or "").strip()
    record["propositions"] = f"{before};{event}" if before else event
    return json.dumps(record, ensure_ascii=False)


def _chunks(items: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Locks --------------------------------------------------------------------------------------------

_verrous_territoires: dict[int, threading.Lock] = {}
_garde = threading.Lock()


def verrou_territoire(territoire_id: int) -> threading.Lock:
    """The process-wide lock serializing the runs of one territory (SQLite)."""
    with _garde:
        return _verrous_territoires.setdefault(territoire_id, threading.Lock())


@contextlib.contextmanager
def exclusion_territoire(s: Session, territoire_id: int):
    """Hold the territory's run lock until the session's transaction ends (PostgreSQL) or the block exits."""
    if s.get_bind().dialect.name == "postgresql":
        # two-key form: the first key is this project's namespace, so no other advisory lock clashes
        s.execute(text("SELECT pg_advisory_xact_lock(:ns, :t)"), {"ns": VERROU_CONSULTATIF, "t": territoire_id})
        yield
    else:
        with verrou_territoire(territoire_id):
            yield


# The pool, cached per revision --------------------------------------------------------------------


@dataclass(frozen=True)
class Vivier:
    """The active applications of a territory at one revision: stored rows and typed table, same order."""

    revision: int
    numeros: np.ndarray
    lignes: list[str]
    table: pd.DataFrame


def charger_vivier(s: Session, territoire_id: int, revision: int) -> Vivier:
    rows = s.execute(select(Demande.numero_unique, Demande.donnees)
                     .where(Demande.territoire_id == territoire_id, Demande.statut == "active")).all()
    rows.sort(key=lambda r: r[0])  # in Python: the same order on every backend's collation
    lines = [r[1] for r in rows]
    table = typer_demandes(frame_json(lines, list(FicheDemande.model_fields)), "base de données", premiere_ligne=1)
    return Vivier(revision, np.array([r[0] for r in rows], dtype=object), lines, table)


def empreinte(pool: list[str], units: list[str], grille: str, politique: str, realise: Realises, jour: date) -> str:
    """SHA-256 of everything the solve read: same fingerprint, same proposals."""
    h = hashlib.sha256()
    for title, lines in (("demandes", pool), ("logements", units)):
        h.update(f"{title}:{len(lines)}\n".encode())
        h.update("".join(f"{line}\n" for line in lines).encode())  # the same bytes as line by line
    for title, body in (("grille", grille), ("politique", politique),
                        ("realise", json.dumps(realise, sort_keys=True)), ("date_cal", jour.isoformat())):
        h.update(f"{title}:{len(body)}\n".encode())
        h.update(body.encode())
    return h.hexdigest()


def json_sur(value: Any) -> Any:
    """Plain JSON (no NaN or infinity, which PostgreSQL's JSONB refuses; no numpy scalars)."""
    if isinstance(value, dict):
        return {str(k): json_sur(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_sur(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# The executor -------------------------------------------------------------------------------------


class Executeur:
    """Background threads solving queued runs; one per app, several may share a database."""

    def __init__(self, sessions: sessionmaker[Session], reglages: Reglages):
        self.sessions, self.reglages = sessions, reglages
        self.pool = ThreadPoolExecutor(max_workers=reglages.travailleurs, thread_name_prefix="run")
        self._viviers: dict[int, Vivier] = {}
        self._futurs: dict[str, Future] = {}
        self._garde = threading.Lock()

    def soumettre(self, run_id: str) -> Future | None:
        """Queue a run; while the service stops, it stays en_attente and the next start re-queues it."""
        try:
            future = self.pool.submit(self.executer, run_id)
        except RuntimeError:  # the pool is shut down
            log.warning("propositions %s laissées en attente : service en cours d'arrêt", run_id)
            return None
        with self._garde:
            self._futurs[run_id] = future
        future.add_done_callback(lambda _: self._oublier(run_id))
        return future

    def _oublier(self, run_id: str) -> None:
        with self._garde:
            self._futurs.pop(run_id, None)

    def attendre(self, run_id: str, secondes: float) -> None:
        """Block until the run leaves en_attente / en_cours, or `secondes` pass (long polling).

        A run queued in this process is awaited on its future; one solved by another server
        sharing the database is watched in the database every quarter of a second.
        """
        with self._garde:
            future = self._futurs.get(run_id)
        if future is not None:
            wait([future], timeout=secondes)
            return
        deadline = time.monotonic() + secondes
        while (left := deadline - time.monotonic()) > 0:
            with self.sessions() as s:
                if s.scalar(select(Run.statut).where(Run.id == run_id)) not in STATUTS_ACTIFS:
                    return
            time.sleep(min(0.25, left))

    def reprendre(self) -> None:
        """Re-queue the runs left waiting; fail those a dead process left in progress."""
        with self.sessions.begin() as s:
            postgres = s.get_bind().dialect.name == "postgresql"
            for run in s.scalars(select(Run).where(Run.statut == "en_cours").order_by(Run.cree_le)):
                # on PostgreSQL a run still being solved by another server holds its territory's lock
                if postgres and not s.scalar(text("SELECT pg_try_advisory_xact_lock(:t)"), {"t": run.territoire_id}):
                    continue
                run.statut, run.erreur, run.fin = "echec", EN_COURS_INTERROMPU, maintenant()
                tracer(s, None, "echec_propositions", f"propositions {run.id}", motif="interruption")
            waiting = list(s.scalars(select(Run.id).where(Run.statut == "en_attente").order_by(Run.cree_le)))
        for run_id in waiting:
            self.soumettre(run_id)

    def arreter(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def executer(self, run_id: str) -> None:
        """Solve one run; never raises (the failure is stored on the run, in French)."""
        with self.sessions.begin() as s:
            claimed = s.execute(update(Run).where(Run.id == run_id, Run.statut == "en_attente")
                                .values(statut="en_cours", debut=maintenant())).rowcount
        if not claimed:  # cancelled, or taken by another server
            return
        try:
            self._calculer(run_id)
        except Exception as exc:  # stored as a French message; only the type is logged
            message = str(exc) if isinstance(exc, ErreurCalcul) else _message_echec(exc)
            log.warning("propositions %s en échec : %s", run_id, type(exc).__name__)
            try:
                with self.sessions.begin() as s:
                    done = s.execute(update(Run).where(Run.id == run_id, Run.statut == "en_cours")
                                     .values(statut="echec", erreur=message, fin=maintenant())).rowcount
                    if done:
                        tracer(s, None, "echec_propositions", f"propositions {run_id}", motif=type(exc).__name__)
            except Exception as again:
                log.error("propositions %s : échec non enregistré (%s)", run_id, type(again).__name__)

    def vivier(self, s: Session, territoire_id: int, revision: int) -> Vivier:
        """The territory's active applications, typed once per revision."""
        with self._garde:
            hit = self._viviers.get(territoire_id)
        if hit is not None and hit.revision == revision:
            return hit
        found = charger_vivier(s, territoire_id, revision)
        # kept only if no import committed while it was read (else it is not the pool of `revision`)
        if s.scalar(select(Territoire.revision_demandes).where(Territoire.id == territoire_id)) == revision:
            with self._garde:
                self._viviers[territoire_id] = found
            figer_caches()
        return found

    def _calculer(self, run_id: str) -> None:
        durees: dict[str, float] = {}
        start = time.perf_counter()
        with self.sessions() as s:
            run = s.get(Run, run_id)
            with exclusion_territoire(s, run.territoire_id):
                territoire = s.get(Territoire, run.territoire_id)
                grid_version = s.get(VersionRegles, run.grille_id)
                grille = charger_grille(f"grille {grid_version.version}", texte=grid_version.texte)
                pol = politique_du_run(s, run)
                units = _logements_vacants(s, run)
                now = maintenant()
                # locks first, then the pool: a lock freed meanwhile comes with its status change
                locked = set(s.scalars(select(Verrou.numero_unique).where(
                    Verrou.territoire_id == run.territoire_id, Verrou.expire_le > now, Verrou.run_id != run.id)))
                revision = s.scalar(select(Territoire.revision_demandes).where(Territoire.id == run.territoire_id))
                vivier = self.vivier(s, run.territoire_id, revision)
                keep = ~pd.Series(vivier.numeros, dtype=object).isin(locked).to_numpy(dtype=bool)
                pool = vivier.table if keep.all() else vivier.table[keep].reset_index(drop=True)
                realise = compter_annee(s, territoire, pol.politique, run.date_cal.year)
                politique = avec_realise(pol.politique, realise)
                units_table = table_logements(units)
                solved = vivier.lignes if keep.all() else [x for x, k in zip(vivier.lignes, keep, strict=True) if k]
                fingerprint = empreinte(solved, [u.donnees for u in units], grid_version.texte, pol.texte, realise,
                                        run.date_cal)
                durees["chargement"] = time.perf_counter() - start
                step = time.perf_counter()
                [(_rows, cot)] = evaluer_grilles([grille], pool, run.date_cal)
                durees["cotation"] = time.perf_counter() - step
                step = time.perf_counter()
                lot = proposer(units_table, pool, cot, politique, run.date_cal)
                durees["eligibilite_optimisation"] = time.perf_counter() - step
                step = time.perf_counter()
                data = json_sur(donnees(lot))
                self._enregistrer(s, run, units, lot, data, fingerprint, durees, step)

    def _enregistrer(self, s: Session, run: Run, units: list[Logement], lot, data: dict[str, Any], fingerprint: str,
                     durees: dict[str, float], step: float) -> None:
        """Write the proposals, their locks and the report in the transaction that read the locks."""
        # first write of the transaction: takes SQLite's write lock, and checks nobody ended the run
        if not s.execute(update(Run).where(Run.id == run.id, Run.statut == "en_cours")
                         .values(fin=maintenant())).rowcount:
            s.rollback()
            return
        _logements_vacants(s, run)  # still vacant, now under the write lock
        now = maintenant()
        expirer(s, run.territoire_id, now)
        by_id = {u.identifiant: u for u in units}
        res = lot.resultat
        objectives = [o.id for o in lot.politique.objectifs]
        depot = lot.demandes["date_depot"].to_numpy(dtype="datetime64[D]")
        held: dict[str, None] = {}
        proposed_units, rows = [], []
        numeros = lot.demandes["numero_unique"].astype(str).tolist()
        for u, row in enumerate(lot.logements.to_dict("records")):
            unit = by_id[str(row["identifiant"])]
            chosen = candidats_du_logement(lot, u)
            if chosen:
                proposed_units.append(unit.id)
            for rank, a in enumerate(chosen, start=1):
                numero = numeros[a]
                held[numero] = None
                rows.append(dict(
                    run_id=run.id, territoire_id=run.territoire_id, logement_id=unit.id,
                    identifiant_logement=unit.identifiant, numero_unique=numero, rang=rank,
                    score=float(lot.cotation.score[a]),
                    publics={oid: bool(lot.publics[oid][a]) for oid in objectives},
                    qpv=bool(row["qpv"]), bailleur=str(row["bailleur"]), reservataire=str(row["reservataire"]),
                    commune=str(row["commune"]), typologie=str(row["typologie"]),
                    date_depot=depot[a].astype(object),
                ))
        # bulk INSERTs without RETURNING: one executemany each, not one ORM object per row
        try:
            if rows:
                s.execute(insert(Proposition), rows)
                s.execute(insert(Verrou), [dict(territoire_id=run.territoire_id, numero_unique=n, run_id=run.id,
                                                expire_le=run.expire_le) for n in held])
        except IntegrityError:
            s.rollback()
            raise ErreurCalcul("un ménage proposé a été retenu entre-temps par une autre demande de propositions : "
                               "relancez le calcul") from None
        for chunk in _chunks(proposed_units):
            s.execute(update(Logement).where(Logement.id.in_(chunk)).values(statut="propose", modifie_le=now))
        durees["enregistrement"] = time.perf_counter() - step
        run.statut, run.fin, run.empreinte, run.resultat = "termine", maintenant(), fingerprint, data
        run.solveur = json_sur({"statut": res.statut, "objectif": res.objectif, "borne": res.borne,
                                "ecart": res.ecart, "secondes": round(res.secondes, 3)})
        run.durees = {k: round(v, 3) for k, v in durees.items()}
        code = s.scalar(select(Organisation.code).where(Organisation.id == run.organisation_id))
        tracer(s, None, "calcul_propositions", f"propositions {run.id}", organisation=code,
               logements=len(units), logements_proposes=len(proposed_units), candidats=len(held),
               logements_ecartes=len(lot.ecartes), statut_solveur=res.statut)
        s.commit()


def _logements_vacants(s: Session, run: Run) -> list[Logement]:
    """The run's units, in identifier order; all must still be the bailleur's and vacant."""
    units = list(s.scalars(select(Logement).where(Logement.organisation_id == run.organisation_id,
                                                  Logement.identifiant.in_(run.logements))
                           .execution_options(populate_existing=True)))
    units.sort(key=lambda u: u.identifiant)
    found = {u.identifiant for u in units}
    missing = [i for i in run.logements if i not in found]
    if missing:
        raise ErreurCalcul(f"logement(s) introuvable(s) : {', '.join(missing[:20])}")
    taken = [u.identifiant for u in units if u.statut != "vacant" or u.territoire_id != run.territoire_id]
    if taken:
        raise ErreurCalcul(f"logement(s) plus vacant(s) ou changé(s) de territoire depuis la demande : "
                           f"{', '.join(taken[:20])} ; relancez sans eux")
    return units


def _message_echec(exc: Exception) -> str:
    """A French message for a failed run: the rules' own messages, never a trace or a data value."""
    if isinstance(exc, ErreurRegles | ErreurCotation | ParametreManquant | ParametreInvalide):
        return f"calcul impossible : {exc}"
    if isinstance(exc, ErreurDonnees):
        return (f"données enregistrées illisibles ({exc.total} erreur(s)) : réimportez les demandes ou les "
                "logements concernés")
    return f"erreur interne pendant le calcul ({type(exc).__name__}) : l'incident est journalisé, relancez le calcul"
