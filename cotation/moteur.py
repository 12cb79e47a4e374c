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
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
        events = evenements_propositions(ctx.table["propositions"])
        kinds = ("refus_non_legitime",) if quels == "non_legitimes" else ("refus_non_legitime", "refus_legitime")
        start = np.datetime64(ajouter_mois(ctx.jour, -fenetre_mois), "D")
        keep = np.isin(events["issue"], kinds) & (events["date"] > start) & (events["date"] <= ctx.jour64)
        return np.bincount(events["ligne"][keep], minlength=ctx.n).astype(np.float64)

    return ctx.memo(f"refus:{fenetre_mois}:{quels}", count)


def evenements_propositions(text: pd.Series) -> dict[str, np.ndarray]:
    """The `;`-joined proposals column as flat event arrays (row, date, outcome), parsed by Arrow."""
    lists = pc.split_pattern(_arrow_text(text), ";")
    flat, rows = pc.list_flatten(lists), pc.list_parent_indices(lists)
    present = pc.not_equal(flat, "")
    flat, rows = pc.filter(flat, present), pc.filter(rows, present)
    when = pc.cast(pc.utf8_slice_codeunits(flat, 0, 10), pa.date32())
    return {
        "ligne": rows.to_numpy(zero_copy_only=False).astype(np.int64),
        "date": when.to_numpy(zero_copy_only=False).astype("datetime64[D]"),
        "issue": pc.utf8_slice_codeunits(flat, 11, 64).to_numpy(zero_copy_only=False),
    }


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
    numero_unique: pd.Series
    points: np.ndarray  # (criteria, n) raw points of each criterion, before exclusive groups
    groupes: tuple[tuple[str, tuple[int, ...]], ...]
    score: np.ndarray
    rang: np.ndarray  # 1 = first; 0 = not ranked (outside the grid's scope or application not active)
    classees: np.ndarray  # bool: ranked
    contexte: Contexte = field(repr=False)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.grille.criteres]

    @cached_property
    def ecartes(self) -> np.ndarray:
        """(criteria, n) bool: points set aside by an exclusive group (computed once, on demand)."""
        out = np.zeros(self.points.shape, dtype=bool)
        for _gid, members in self.groupes:
            if len(members) > 1:
                rows = np.asarray(members)
                best = rows[np.argmax(self.points[rows], axis=0)]  # first maximum wins
                out[rows] = rows[:, None] != best[None, :]
        return out

    @property
    def bruts(self) -> np.ndarray:
        """(n, criteria) points before exclusive groups."""
        return self.points.T

    @cached_property
    def retenus(self) -> np.ndarray:
        """(n, criteria) points that count (computed once: explaining a row then reads one line)."""
        return np.where(self.ecartes, 0.0, self.points).T

    def tableau(self) -> pd.DataFrame:
        """One row per application: score, rank, and the points of each criterion."""
        columns = {
            "numero_unique": self.numero_unique,
            "score": self.score,
            "rang": self.rang,
            "demande_active": self.contexte["demande_active"],
        }
        kept = np.where(self.ecartes, 0.0, self.points)
        columns.update({f"points_{cid}": kept[j] for j, cid in enumerate(self.ids)})
        return pd.DataFrame(columns)

    def ligne(self, numero_unique: str) -> int:
        found = np.flatnonzero((self.numero_unique == numero_unique).to_numpy(dtype=bool))
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
    points = np.empty((k, n), dtype=np.float64)
    for j, kernel in enumerate(compilee.noyaux):
        points[j] = kernel(ctx)
    for j, refs, needed, bonus in compilee.combinaisons:
        met = np.count_nonzero(points[list(refs)], axis=0) >= needed
        points[j] = _scoped(grid.criteres[j], lambda _ctx, met=met, p=bonus: np.where(met, p, 0.0))(ctx)
    # An exclusive group contributes its best criterion; the others add up.
    grouped = [np.asarray(m) for _gid, m in compilee.groupes if len(m) > 1]
    alone = np.setdiff1d(np.arange(k), np.concatenate(grouped)) if grouped else np.arange(k)
    score = points[alone].sum(axis=0)
    for rows in grouped:
        score += points[rows].max(axis=0)
    ranked = np.array(ctx["demande_active"])
    if grid.grille.demandes != "toutes":
        ranked &= ctx["mutation"] if grid.grille.demandes == "mutation" else ~ctx["mutation"]
    rank = classer(score, table, ranked, grid.departage)
    return Cotation(grid, date_reference, table["numero_unique"], points,
                    compilee.groupes, score, rank, ranked, ctx)


def classer(score: np.ndarray, table: pd.DataFrame, ranked: np.ndarray, departage: list[str]) -> np.ndarray:
    """Rank 1..m among `ranked` rows by decreasing score then the tie-break keys; 0 elsewhere."""
    ties = []
    for key in departage:
        if key == "numero_unique":
            ties.append(_string_order(table["numero_unique"]))
        elif key == "anciennete":
            ties.append(table["date_depot"].to_numpy(dtype="datetime64[D]").astype(np.int64))
    primary = np.where(ranked, -score, np.inf)  # unranked rows last
    order = np.lexsort((*reversed(_fold(ties)), primary))  # np.lexsort: last key is primary
    rank = np.zeros(len(score), dtype=np.int64)
    m = int(ranked.sum())
    rank[order[:m]] = np.arange(1, m + 1)
    return rank


def _fold(keys: list[np.ndarray]) -> list[np.ndarray]:
    """Merge integer sort keys into one int64 when their ranges fit (fewer keys, faster sort)."""
    if len(keys) < 2 or not len(keys[0]):
        return keys
    shifted = [k - k.min() for k in keys]
    bits = [int(k.max()).bit_length() for k in shifted]
    if sum(bits) > 62:
        return keys
    folded = np.zeros(len(keys[0]), dtype=np.int64)
    for k, b in zip(shifted, bits, strict=True):
        folded = (folded << b) | k
    return [folded]


def _string_order(values: pd.Series) -> np.ndarray:
    """An integer key sorting like the strings (registration numbers are unique).

    Registration numbers are usually digit strings of one length, whose order is their integer
    order: that case is a cast. Anything else is sorted as text.
    """
    text = _arrow_text(values)
    lengths = pc.utf8_length(text)
    same_length = pc.min_max(lengths)
    if (len(text) and same_length["min"] == same_length["max"] and same_length["max"].as_py() <= 18
            and pc.all(pc.ascii_is_decimal(text)).as_py()):
        return pc.cast(text, pa.int64()).to_numpy()
    return pc.rank(text, sort_keys="ascending", tiebreaker="first").to_numpy().astype(np.int64)


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array (zero-copy when pandas already stores it in Arrow)."""
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string()) if array.type != pa.string() else array


def evaluer_grilles(
    grilles: list[g.Grille | GrilleCompilee],
    table: pd.DataFrame,
    date_reference: date,
    parametres: Parametres | None = None,
) -> list[tuple[np.ndarray, Cotation]]:
    """Score a table with one grid, or with a grid per kind of application (mutation or not).

    The PPGD may set a separate cotation for transfer requests (R.441-2-10): each application is
    scored by the one grid whose scope covers it, and ranked among the applications of that grid.
    Returns, per grid, the row positions it scored and its Cotation.
    """
    compiled = [x if isinstance(x, GrilleCompilee) else compiler(x) for x in grilles]
    scopes = [c.grille.grille.demandes for c in compiled]
    if not compiled:
        raise ErreurCotation("aucune grille fournie")
    if len(compiled) > 1 and (sorted(scopes) != ["hors_mutation", "mutation"]):
        raise ErreurCotation(
            "plusieurs grilles ne sont possibles que pour séparer les demandes de mutation "
            "(demandes: mutation) des autres (demandes: hors_mutation) ; reçu : " + ", ".join(scopes)
        )
    table = table.reset_index(drop=True)
    if len(compiled) == 1:
        return [(np.arange(len(table)), evaluer(compiled[0], table, date_reference, parametres))]
    mutation = table["situation_logement"].to_numpy(dtype=object) == "locataire_parc_social"
    out = []
    for c, scope in zip(compiled, scopes, strict=True):
        rows = np.flatnonzero(mutation if scope == "mutation" else ~mutation)
        out.append((rows, evaluer(c, table.iloc[rows], date_reference, parametres)))
    return out
