"""Scored pools of applications, kept in memory so that reading one applicant's information is a lookup.

Scoring a territory's whole active pool takes a fraction of a second; the applicant information
endpoint must answer in a few milliseconds. A pool is therefore scored once per (territory,
revision of its applications, grid version, date) and kept in a small LRU cache on the
application (`app.state`), with everything a single read needs precomputed: the row of each
registration number, the group of similar applications and the position in it. An import bumps
`Territoire.revision_demandes`, so the next read builds a fresh pool; stale entries age out.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.memoire import figer_caches
from api.models import Territoire, VersionRegles
from api.problems import Probleme
from api.stockage import table_demandes
from api.versions import empreinte_texte
from cotation.moteur import Cotation, ErreurCotation, GrilleCompilee, compiler, evaluer_grilles, nombre_refus
from cotation.table import ErreurDonnees
from rules import grille as g
from rules.chargement import charger_grille
from rules.parametres import ParametreManquant
from rules.vocabulaire import CATEGORIES_PRIORITAIRES, TYPOLOGIES, VARIABLES

TAILLE_POOLS = 8
log = logging.getLogger("cotation.api")
TAILLE_GRILLES = 32
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Pool:
    """A territory's active applications scored by one grid at one date, ready for single reads.

    Similar applications: same first desired typology (in the T1..T6 order the record keeps)
    and same first desired commune (in the order given); '' when none was given, so applicants
    who gave none are ranked among those who gave none.
    """

    territoire_id: int
    revision: int
    grille: GrilleCompilee
    table: pd.DataFrame
    cotation: Cotation
    lignes: dict[str, int]  # numero_unique -> row
    typologie: np.ndarray  # first desired typology per row, '' if none
    commune: np.ndarray  # first desired commune per row, '' if none
    position: np.ndarray  # 1-based position among ranked similar applications, 0 if not ranked
    semblables: np.ndarray  # ranked applications in the row's similarity group

    @property
    def classees(self) -> int:
        return int(self.cotation.classees.sum())


class _LRU:
    """A bounded, thread-safe LRU map whose missing values are built once even under concurrency."""

    def __init__(self, taille: int):
        self.taille = taille
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._en_cours: dict[Any, threading.Lock] = {}

    def chercher(self, key: Any) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def valeurs(self) -> list[Any]:
        with self._lock:
            return list(self._items.values())

    def obtenir(self, key: K, build: Callable[[], tuple[V, bool]]) -> V:
        """The value of `key`; `build` returns (value, cacheable) and runs at most once at a time per key."""
        found = self.chercher(key)
        if found is not None:
            return found
        with self._lock:
            building = self._en_cours.setdefault(key, threading.Lock())
        with building:
            found = self.chercher(key)
            if found is not None:
                return found
            try:
                value, cacheable = build()
            finally:
                with self._lock:
                    self._en_cours.pop(key, None)
            if cacheable:
                with self._lock:
                    self._items[key] = value
                    self._items.move_to_end(key)
                    while len(self._items) > self.taille:
                        self._items.popitem(last=False)
                figer_caches()
            return value


class CacheScores:
    """Compiled grids by version, and scored pools by (territory, revision, grid version, date)."""

    def __init__(self, taille: int = TAILLE_POOLS, taille_grilles: int = TAILLE_GRILLES,
                 table_de: Callable[[Session, Territoire], pd.DataFrame] | None = None):
        self._pools = _LRU(taille)
        self._grilles = _LRU(taille_grilles)
        # where the typed pool comes from: the run executor's, so reads and runs type it once
        self._table_de = table_de or (lambda s, t: table_demandes(s, t.id))

    def grille(self, row: VersionRegles) -> GrilleCompilee:
        """The compiled grid of a stored version (keyed by id and text digest: ids of deleted drafts are reused)."""
        key = (row.id, empreinte_texte(row.texte))
        return self._grilles.obtenir(
            key, lambda: (compiler(charger_grille(f"grille version {row.version}", texte=row.texte)), True))

    def pool(self, s: Session, territoire: Territoire, row: VersionRegles, jour: date,
             statut_erreur: int = 409) -> Pool:
        """The territory's active pool scored by version `row` at `jour` (built on first use)."""
        compiled = self.grille(row)
        key = (territoire.id, territoire.revision_demandes, row.id, empreinte_texte(row.texte), jour)
        return self._pools.obtenir(key, lambda: self._construire(s, territoire, compiled, jour, statut_erreur))

    def _construire(self, s: Session, territoire: Territoire, compiled: GrilleCompilee, jour: date,
                    statut_erreur: int) -> tuple[Pool, bool]:
        revision = territoire.revision_demandes
        table = next((p.table for p in self._pools.valeurs()
                      if p.territoire_id == territoire.id and p.revision == revision), None)
        cacheable = True
        if table is None:
            try:
                table = self._table_de(s, territoire)
            except ErreurDonnees as exc:  # stored rows the import accepted but that do not read back
                log.error("demandes du territoire %s illisibles : %d erreur(s), colonnes %s", territoire.code,
                          exc.total, sorted({e.colonne or "" for e in exc.erreurs}))  # never the values
                raise Probleme(500, "les demandes enregistrées du territoire ne peuvent pas être relues : "
                                    "l'incident est journalisé") from None
            # the table is of `revision` only if no import committed in between
            current = s.scalar(select(Territoire.revision_demandes).where(Territoire.id == territoire.id))
            cacheable = current == revision
        cot = figer(coter(compiled, table, jour, statut_erreur))
        return construire_pool(territoire.id, revision, compiled, table, cot), cacheable

    def vider(self) -> None:
        self._pools = _LRU(self._pools.taille)
        self._grilles = _LRU(self._grilles.taille)


_creation = threading.Lock()


def cache_scores(app: Any) -> CacheScores:
    """The application's cache, created on first use (one per app: two apps in a process never share it)."""
    found = getattr(app.state, "scores", None)
    if found is None:
        with _creation:
            found = getattr(app.state, "scores", None)
            if found is None:
                executeur = getattr(app.state, "executeur", None)
                table_de = None if executeur is None else (
                    lambda s, t: executeur.vivier(s, t.id, t.revision_demandes).table)
                found = app.state.scores = CacheScores(table_de=table_de)
    return found


def coter(compiled: GrilleCompilee, table: pd.DataFrame, jour: date, statut_erreur: int = 409) -> Cotation:
    """Score a table with one grid; a grid not applicable at `jour` or a missing parameter is a problem."""
    try:
        [(_rows, cot)] = evaluer_grilles([compiled], table, jour)
    except (ErreurCotation, ParametreManquant) as exc:
        raise Probleme(statut_erreur, str(exc)) from None
    return cot


def figer(frozen: Cotation) -> Cotation:
    """Compute now what explaining a row reads (derived matrices, context vectors), before concurrent readers."""
    frozen.retenus  # noqa: B018 - cached on first access
    ctx = frozen.contexte
    for name in ("demande_active", "dalo", "pdalhpd", *(f"prioritaire_{k}" for k in CATEGORIES_PRIORITAIRES)):
        ctx[name]  # noqa: B018 - what the information endpoint reads
    for c in frozen.grille.criteres:  # what explaining a criterion reads
        if isinstance(c, g.Duree):
            ctx[c.mesure]  # noqa: B018
        elif isinstance(c, g.Categorie):
            ctx[c.variable]  # noqa: B018
        elif isinstance(c, g.Tranches) and c.mesure.strip() in VARIABLES:
            ctx[c.mesure.strip()]  # noqa: B018
        elif isinstance(c, g.PenaliteRefus):
            nombre_refus(ctx, c.fenetre_mois, c.refus)
    return frozen


def premiers_souhaits(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First desired typology (T1..T6 order) and first desired commune (order given) per row, '' if none."""
    flags = table[[f"typologie_{t}" for t in TYPOLOGIES]].to_numpy(dtype=bool)
    names = np.array(list(TYPOLOGIES) + [""], dtype=object)
    first = np.where(flags.any(axis=1), flags.argmax(axis=1), len(TYPOLOGIES))
    communes = table["communes_souhaitees"].fillna("").astype(str).str.split(";", n=1).str[0].str.strip()
    return names[first], communes.to_numpy(dtype=object)


def construire_pool(territoire_id: int, revision: int, compiled: GrilleCompilee, table: pd.DataFrame,
                    cot: Cotation) -> Pool:
    """Precompute, as vectors, each row's group of similar applications and its position in it."""
    n = len(table)
    typologie, commune = premiers_souhaits(table.reset_index(drop=True))
    codes, _uniques = pd.factorize(pd.Series(typologie, dtype=object) + "|" + pd.Series(commune, dtype=object))
    ranked = np.flatnonzero(cot.classees)
    order = ranked[np.argsort(cot.rang[ranked], kind="stable")]
    position = np.zeros(n, dtype=np.int64)
    position[order] = pd.Series(codes[order]).groupby(codes[order]).cumcount().to_numpy() + 1
    counts = np.bincount(codes[ranked], minlength=int(codes.max()) + 1 if n else 0)
    semblables = counts[codes] if n else np.zeros(0, dtype=np.int64)
    rows = {str(x): i for i, x in enumerate(cot.numero_unique.tolist())}
    return Pool(territoire_id, revision, compiled, table, cot, rows, typologie, commune, position, semblables)
