"""The cotation engine: compile a grid once, then score a whole table as vectors.

Each criterion becomes a kernel `Contexte -> float64 vector` of raw points. Exclusive groups
keep, on each row, only the most favourable criterion of the group (the first one in file order
on a tie). The score is the sum of the retained points; the rank orders applications by
decreasing score, then by the grid's tie-break (default: older application first, then
registration number), so that it is total and reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cotation.derivees import Contexte, ajouter_mois
from cotation.expressions import compiler_expression
from rules import grille as g
from rules.parametres import Parametres

Kernel = Callable[[Contexte], np.ndarray]


class ErreurCotation(ValueError):
    """The grid cannot be applied to this table at this date (message in French)."""


@dataclass(frozen=True)
class GrilleCompilee:
    """A grid ready to evaluate: one kernel per criterion, group membership as column indices."""

    grille: g.Grille
    noyaux: tuple[Kernel, ...]
    groupes: tuple[tuple[str, tuple[int, ...]], ...]
    combinaisons: tuple[tuple[int, tuple[int, ...], int, float], ...]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.grille.criteres]


def compiler(grille: g.Grille) -> GrilleCompilee:
    """Compile every criterion once; evaluation then never looks at the YAML again."""
    index = {c.id: i for i, c in enumerate(grille.criteres)}
    kernels: list[Kernel] = []
    combos = []
    for i, c in enumerate(grille.criteres):
        if isinstance(c, g.Combinaison):
            needed = c.minimum or len(c.criteres)
            combos.append((i, tuple(index[r] for r in c.criteres), needed, c.points))
            kernels.append(_zeros)
        else:
            kernels.append(_scoped(c, _KERNELS[type(c)](c, grille)))
    groups = tuple(
        (grp.id, tuple(i for i, c in enumerate(grille.criteres) if c.groupe == grp.id))
        for grp in grille.groupes
    )
    return GrilleCompilee(grille, tuple(kernels), groups, tuple(combos))


def _zeros(ctx: Contexte) -> np.ndarray:
    return np.zeros(ctx.n)


def _scoped(c, kernel: Kernel) -> Kernel:
    """Apply the criterion's validity dates and its application scope (mutation or not)."""

    def run(ctx: Contexte) -> np.ndarray:
        if (c.valide_du and ctx.jour < c.valide_du) or (c.valide_au and ctx.jour > c.valide_au):
            return np.zeros(ctx.n)
        points = np.nan_to_num(np.asarray(kernel(ctx), dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if c.demandes != "toutes":
            inside = ctx["mutation"] if c.demandes == "mutation" else ~ctx["mutation"]
            points = np.where(inside, points, 0.0)
        return points

    return run


def _drapeau(c: g.Drapeau, _grid) -> Kernel:
    condition = compiler_expression(c.condition, "booleen")
    return lambda ctx: np.where(condition(ctx), c.points, 0.0)


def _categorie(c: g.Categorie, _grid) -> Kernel:
    def run(ctx: Contexte) -> np.ndarray:
        labels = ctx.categories(c.variable)
        table = np.zeros(len(labels) + 1)  # the last slot serves missing values (code -1)
        for value, points in c.points.items():
            table[labels.index(value)] = points
        return table[ctx[c.variable]]

    return run


def _duree(c: g.Duree, grid: g.Grille) -> Kernel:
    def run(ctx: Contexte) -> np.ndarray:
        months = ctx[c.mesure]
        points = c.points_par_mois * np.maximum(months - c.a_partir_de, 0)
        if c.plafond is not None:
            points = np.minimum(points, c.plafond)
        for step in c.paliers:
            with np.errstate(invalid="ignore"):
                points = points + np.where(months > seuil_palier(step, grid, ctx.jour, ctx), step.points, 0.0)
        return points

    return run


def seuil_palier(step: g.Palier, grid: g.Grille, jour: date, ctx: Contexte | None = None) -> float:
    """The threshold of a bonus step, reading the délai anormalement long when it is one."""
    if step.au_dela_de != "delai_anormalement_long":
        return float(step.au_dela_de)
    params = ctx.parametres if ctx is not None else Parametres.charger()
    return float(params.delai_anormalement_long(grid.grille.departement, jour))


def _tranches(c: g.Tranches, _grid) -> Kernel:
    measure = compiler_expression(c.mesure, "nombre")

    def run(ctx: Contexte) -> np.ndarray:
        value = measure(ctx)
        points = np.zeros(ctx.n)
        with np.errstate(invalid="ignore"):
            for t in c.tranches:
                inside = np.ones(ctx.n, dtype=bool)
                if t.de is not None:
                    inside &= value >= t.de
                if t.a is not None:
                    inside &= value < t.a
                points[inside] = t.points
        return points

    return run


def _penalite(c: g.PenaliteRefus, _grid) -> Kernel:
    def run(ctx: Contexte) -> np.ndarray:
        return c.points_par_refus * nombre_refus(ctx, c.fenetre_mois, c.refus) if c.plancher is None else \
            np.maximum(c.points_par_refus * nombre_refus(ctx, c.fenetre_mois, c.refus), c.plancher)

    return run


def nombre_refus(ctx: Contexte, fenetre_mois: int, quels: str) -> np.ndarray:
    """Refusals per application within the last `fenetre_mois` months (vectorized over events)."""

    def count() -> np.ndarray:
        text = ctx.table["propositions"]
        filled = text[text != ""]
        if filled.empty:
            return np.zeros(ctx.n)
        items = filled.str.split(";").explode()
        parts = items.str.split(":", n=1, expand=True)
        when = pd.to_datetime(parts[0], format="%Y-%m-%d").to_numpy(dtype="datetime64[D]")
        kinds = ("refus_non_legitime",) if quels == "non_legitimes" else ("refus_non_legitime", "refus_legitime")
        start = np.datetime64(ajouter_mois(ctx.jour, -fenetre_mois), "D")
        keep = parts[1].isin(kinds).to_numpy() & (when > start) & (when <= ctx.jour64)
        rows = ctx.table.index.get_indexer(items.index[keep])
        return np.bincount(rows, minlength=ctx.n).astype(np.float64)

    return ctx.memo(f"refus:{fenetre_mois}:{quels}", count)


def _expression(c: g.ExpressionLibre, _grid) -> Kernel:
    value = compiler_expression(c.valeur, "nombre")
    condition = compiler_expression(c.condition, "booleen") if c.condition else None
    if condition is None:
        return value
    return lambda ctx: np.where(condition(ctx), value(ctx), 0.0)


_KERNELS = {
    g.Drapeau: _drapeau, g.Categorie: _categorie, g.Duree: _duree, g.Tranches: _tranches,
    g.PenaliteRefus: _penalite, g.ExpressionLibre: _expression,
}


# Evaluation ------------------------------------------------------------------------------------


@dataclass
class Cotation:
    """Scores of a table under one grid at one date, with everything needed to explain them."""

    grille: g.Grille
    date_reference: date
    numero_unique: np.ndarray
    bruts: np.ndarray  # (n, criteria) points before exclusive groups
    retenus: np.ndarray  # (n, criteria) points that count
    score: np.ndarray
    rang: np.ndarray  # 1 = first; 0 = not ranked (outside the grid's scope or application not active)
    classees: np.ndarray  # bool: ranked
    contexte: Contexte = field(repr=False)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.grille.criteres]

    def tableau(self) -> pd.DataFrame:
        """One row per application: score, rank, and the points of each criterion."""
        out = pd.DataFrame({
            "numero_unique": self.numero_unique,
            "score": self.score,
            "rang": self.rang,
            "demande_active": self.contexte["demande_active"],
        })
        points = pd.DataFrame(self.retenus, columns=[f"points_{i}" for i in self.ids])
        return pd.concat([out, points], axis=1)

    def ligne(self, numero_unique: str) -> int:
        found = np.flatnonzero(self.numero_unique == numero_unique)
        if not len(found):
            raise KeyError(numero_unique)
        return int(found[0])


def evaluer(
    compilee: GrilleCompilee | g.Grille,
    table: pd.DataFrame,
    date_reference: date,
    parametres: Parametres | None = None,
    verifier_validite: bool = True,
) -> Cotation:
    """Score every application of `table` at `date_reference`."""
    if isinstance(compilee, g.Grille):
        compilee = compiler(compilee)
    grid = compilee.grille
    if verifier_validite and not grid.applicable_a(date_reference):
        fin = grid.grille.valide_au.isoformat() if grid.grille.valide_au else "sans limite"
        raise ErreurCotation(
            f"la grille « {grid.grille.territoire} » version {grid.grille.version} n'est pas en vigueur le "
            f"{date_reference.isoformat()} (valide du {grid.grille.valide_du.isoformat()} au {fin})"
        )
    table = table.reset_index(drop=True)
    ctx = Contexte(table, date_reference, parametres)
    n, k = len(table), len(compilee.noyaux)
    raw = np.empty((n, k), dtype=np.float64)
    for j, kernel in enumerate(compilee.noyaux):
        raw[:, j] = kernel(ctx)
    for j, refs, needed, points in compilee.combinaisons:
        met = (raw[:, list(refs)] != 0).sum(axis=1) >= needed
        raw[:, j] = _scoped(grid.criteres[j], lambda c, met=met, p=points: np.where(met, p, 0.0))(ctx)
    kept = raw.copy()
    for _gid, members in compilee.groupes:
        if len(members) > 1:
            cols = list(members)
            best = np.argmax(raw[:, cols], axis=1)
            mask = np.zeros((n, len(cols)), dtype=bool)
            mask[np.arange(n), best] = True
            kept[:, cols] = np.where(mask, raw[:, cols], 0.0)
    score = kept.sum(axis=1)
    ranked = ctx["demande_active"].copy()
    if grid.grille.demandes != "toutes":
        ranked &= ctx["mutation"] if grid.grille.demandes == "mutation" else ~ctx["mutation"]
    rank = classer(score, table, ranked, grid.departage)
    return Cotation(grid, date_reference, table["numero_unique"].to_numpy(dtype=object), raw, kept,
                    score, rank, ranked, ctx)


def classer(score: np.ndarray, table: pd.DataFrame, ranked: np.ndarray, departage: list[str]) -> np.ndarray:
    """Rank 1..m among `ranked` rows by decreasing score then the tie-break keys; 0 elsewhere."""
    keys = []
    for key in reversed(departage):  # np.lexsort: last key is primary
        if key == "numero_unique":
            keys.append(_string_order(table["numero_unique"]))
        elif key == "anciennete":
            keys.append(table["date_depot"].to_numpy(dtype="datetime64[D]").astype(np.int64))
    keys.append(-score)
    keys.append(~ranked)  # unranked rows last
    order = np.lexsort(keys)
    rank = np.zeros(len(score), dtype=np.int64)
    m = int(ranked.sum())
    rank[order[:m]] = np.arange(1, m + 1)
    return rank


def _string_order(values: pd.Series) -> np.ndarray:
    """Position of each string in sorted order (ties impossible: registration numbers are unique)."""
    codes, _ = pd.factorize(values, sort=True)
    return codes
