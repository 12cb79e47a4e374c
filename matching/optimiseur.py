"""The proposal optimizer: up to K candidates per unit, chosen together for the whole batch.

Model. For each eligible (unit, application) pair p there are two binaries: t_p (p is the
unit's titular, rank 1, the expected attribution) and a_p (p is an alternate, ranks 2..K).
- each unit has at most one titular and at most K-1 alternates, and no alternate without a titular;
- each application is proposed at most once in the batch;
- each legal objective is a ratio row on titulars, per group of its level (EPCI, bailleur,
  reservataire), counting what the year has already achieved:
      Σ (public_p − cible)·t_p + manque ≥ cible·réalisé − réalisé_public
  with `manque` ≥ 0 priced by the objective's penalty when the objective is soft (absent if hard);
- each per-unit rule asks for at least m candidates of a public among the unit's K, when the
  unit has that many eligible (else the rule is void for the unit, and said so);
- the objective maximises Σ w1·v_p·t_p + Σ w2·v_p·a_p − penalties, where v_p is the
  application's score shifted to be positive (filling a slot is always worth it) plus a strict
  tie-break (older application, then registration number, then a pair term), so the optimum is
  unique and the answer does not depend on the search path.

Exactness over all eligible pairs. The model is built on a support S (each unit's best pairs,
and its best pairs of every public an objective or rule needs), its LP relaxation is solved
(GLOP), and every pair outside S is priced with the LP duals as vectors; pairs with a positive
reduced cost join S and the LP is solved again, until none is left. The LP value over S is then
the LP value over all eligible pairs, an upper bound on any proposal; the MIP on S (HiGHS,
single thread, fixed seed, time limit) gives the proposal, and the gap is measured against that
bound. Built from arrays only; no Python loop over pairs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

TOLERANCE = 1e-6
TIE_BREAK = 1e-3


@dataclass(frozen=True)
class Objectif:
    """A share of titulars that must belong to a public, in each group of units."""

    id: str
    public: np.ndarray  # bool per application
    groupe: np.ndarray  # int per unit: its group, -1 when the unit is not counted
    cible: float
    dure: bool
    penalite: float
    realise: np.ndarray  # (groups, 2): attributions and public attributions already made this year


@dataclass(frozen=True)
class Regle:
    """At least `minimum` candidates of a public among a unit's K, for the units in scope."""

    id: str
    public: np.ndarray  # bool per application
    logements: np.ndarray  # bool per unit
    minimum: int
    dure: bool
    penalite: float


@dataclass(frozen=True)
class Instance:
    """A batch: eligible pairs in CSR form over units, application values and the policy."""

    debut: np.ndarray  # int64 (units + 1)
    demande: np.ndarray  # int per pair
    score: np.ndarray  # float per application
    ordre: np.ndarray  # int per application: 0 = first by the tie-break (seniority, then number)
    objectifs: tuple[Objectif, ...] = ()
    regles: tuple[Regle, ...] = ()
    k: int = 3
    poids: tuple[float, float] = (1.0, 0.5)  # titular, alternate
    limite_temps_s: float = 60.0
    graine: int = 0
    largeur: int = 30  # initial support: best pairs per unit, and per public
    une_fois: bool = True  # a household is proposed at most once; if False, titular at most once
    ajustement: np.ndarray | None = None  # per pair, added to its value (e.g. an effort-rate preference)

    @property
    def n_logements(self) -> int:
        return len(self.debut) - 1

    @property
    def unite(self) -> np.ndarray:
        """Unit of each pair."""
        return np.repeat(np.arange(self.n_logements), np.diff(self.debut))


@dataclass
class Resultat:
    """A solved batch: who is proposed where, and how good it is proven to be."""

    titulaire: np.ndarray  # int per unit: application, -1 if none
    suppleants: list[np.ndarray]  # per unit: alternates, best first
    statut: str  # optimal | realisable | infaisable | temps_depasse
    objectif: float
    borne: float
    ecart: float  # relative gap to the bound over all eligible pairs
    manques: dict[str, np.ndarray]  # objective id -> shortfall per group; rule id -> per unit
    support: int  # pairs in the final model
    paires: int  # eligible pairs
    tours: int  # pricing rounds
    secondes: float
    journal: list[str] = field(default_factory=list)


def bonus_titulaire(inst: Instance) -> float:
    """Worth of giving a unit a titular: more than any value or penalty one titular can move.

    A share is counted on attributions the CAL makes anyway; leaving a unit without a titular
    to protect a share would be a false gain. With this bonus the model first gives a titular
    to every unit it can, then trades off scores and objectives among those proposals.
    """
    top = float(np.max(inst.poids[0] * (inst.score - min(float(inst.score.min(initial=0.0)), 0.0) + 2.0),
                       initial=0.0))
    return top + sum(o.penalite for o in inst.objectifs) + sum(r.penalite for r in inst.regles) + 1.0


def valeurs(inst: Instance) -> np.ndarray:
    """Value of each pair: shifted score + strict tie-breaks (application, then pair)."""
    n = max(len(inst.score), 1)
    base = inst.score - min(float(inst.score.min(initial=0.0)), 0.0) + 1.0
    app = 1.0 - inst.ordre / n  # 1 for the first application by the tie-break
    a = inst.demande
    pair = (1.0 - inst.unite / max(inst.n_logements, 1)) * app[a]  # assortative: unique among swaps
    value = base[a] + TIE_BREAK * app[a] + TIE_BREAK**2 * pair
    return value if inst.ajustement is None else value + inst.ajustement


def resoudre(inst: Instance) -> Resultat:
    """Choose the candidates of every unit, proven against all eligible pairs."""
    start = time.perf_counter()
    v = valeurs(inst)
    unit = inst.unite
    support = _initial_support(inst, v, unit)
    log: list[str] = []
    rounds = 0
    budget = start + 0.6 * inst.limite_temps_s  # pricing rounds; the MIP gets the rest
    while True:
        rounds += 1
        lp = _Model(inst, v, unit, support, integral=False).solve(inst)
        rc = lp.price_all(inst, v, unit)
        # the few most promising columns per unit, as in column generation: adding every
        # positive one at once would rebuild the full model
        positive = (rc > TOLERANCE) & ~support
        new = np.flatnonzero(_top_per_unit(rc, unit, positive, 2 * inst.k)) if positive.any() else np.array([], int)
        log.append(f"tour {rounds} : {int(support.sum())} paires, LP {lp.value:.3f}, {len(new)} paires ajoutées")
        if not len(new) or time.perf_counter() > budget:
            break
        support[new] = True
    # With the duals y, any proposal x is worth at most y·b + Σ rc⁺·x ≤ LP + Σ_units K·max rc⁺:
    # a valid bound even when pricing was cut short by the time limit.
    best_rc = np.zeros(inst.n_logements)
    np.maximum.at(best_rc, unit, np.maximum(np.where(support, 0.0, rc), 0.0))
    bound = lp.value + inst.k * float(best_rc.sum())
    remaining = max(inst.limite_temps_s - (time.perf_counter() - start), 1.0)
    mip = _Model(inst, v, unit, support, integral=True).solve(inst, remaining)
    # Reduced-cost argument: with LP-optimal duals, any proposal x is worth at most
    # bound + Σ rc_p·x_p, so a pair whose rc is below −(bound − mip) cannot be part of a better
    # proposal. Add the others and solve again: the MIP on that support is exact over all pairs.
    if mip.has_solution and not len(new) and bound - mip.value > TOLERANCE * max(1.0, abs(bound)):
        slack = bound - mip.value
        more = np.flatnonzero((rc > -slack - TOLERANCE) & ~support)
        if len(more):
            support[more] = True
            log.append(f"preuve : {len(more)} paires dont le coût réduit n'exclut pas une amélioration ajoutées")
            mip = _Model(inst, v, unit, support, integral=True).solve(inst, remaining)
    gap = abs(bound - mip.value) / max(abs(bound), 1e-9) if mip.has_solution else float("inf")
    if mip.status == "optimal" and len(new):  # optimal on the support, not proven over all pairs
        status = "realisable"
    else:
        status = mip.status
    return _result(inst, v, unit, support, mip, status, bound, gap, rounds, time.perf_counter() - start, log)


def _initial_support(inst: Instance, v: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Each unit's best pairs overall, and its best pairs of every public in the policy."""
    keep = np.zeros(len(v), dtype=bool)
    publics = [None] + [o.public for o in inst.objectifs] + [r.public for r in inst.regles]
    publics += [~o.public for o in inst.objectifs]
    for public in publics:
        mask = np.ones(len(v), dtype=bool) if public is None else public[inst.demande]
        keep |= _top_per_unit(v, unit, mask, inst.largeur)
    return keep


def _top_per_unit(v: np.ndarray, unit: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """The k best pairs of each unit among `mask` (vectorized: sort by unit, then value)."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return mask.copy()
    order = idx[np.lexsort((-v[idx], unit[idx]))]
    units = unit[order]
    first = np.r_[0, np.flatnonzero(np.diff(units)) + 1]
    position = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    out = np.zeros(len(v), dtype=bool)
    out[order[position < k]] = True
    return out


@dataclass
class _Solution:
    value: float
    status: str
    has_solution: bool
    x: np.ndarray  # variable values
    duals: np.ndarray
    layout: _Model
    best_bound: float

    def price_all(self, inst: Instance, v: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """Best reduced cost of each eligible pair (titular or alternate), from the LP duals."""
        m = self.layout
        y = self.duals
        a = inst.demande
        app_dual = np.zeros(len(inst.score))
        app_dual[m.apps] = y[m.row_app]
        rc_t = inst.poids[0] * v + bonus_titulaire(inst) - y[m.row_titular][unit] - app_dual[a]
        alt_app_dual = app_dual[a] if inst.une_fois else 0.0
        rc_a = inst.poids[1] * v - y[m.row_alternate][unit] - alt_app_dual if inst.k > 1 else np.full(len(v), -np.inf)
        if inst.k > 1:
            rc_t += (inst.k - 1) * y[m.row_alternate][unit]
        for o, rows in zip(inst.objectifs, m.row_objective, strict=True):
            g = o.groupe[unit]
            counted = g >= 0
            coef = np.where(o.public[a], 1.0 - o.cible, -o.cible)
            rc_t[counted] -= coef[counted] * y[rows][g[counted]]
        for r, rows in zip(inst.regles, m.row_rule, strict=True):
            row_of_unit = np.full(inst.n_logements, -1)
            row_of_unit[m.rule_units[r.id]] = rows
            hit = (row_of_unit[unit] >= 0) & r.public[a]
            bonus = np.zeros(len(v))
            bonus[hit] = y[row_of_unit[unit][hit]]
            rc_t -= bonus
            rc_a -= bonus
        return np.maximum(rc_t, rc_a)


class _Model:
    """The LP or MIP on a support, assembled as one sparse matrix."""

    def __init__(self, inst: Instance, v: np.ndarray, unit: np.ndarray, support: np.ndarray, integral: bool):
        self.pairs = np.flatnonzero(support)
        self.integral = integral
        n_units, k = inst.n_logements, inst.k
        pu, pa = unit[self.pairs], inst.demande[self.pairs]
        n_p = len(self.pairs)
        alt = k > 1
        # variables: t (n_p), a (n_p if alt), then slacks
        self.t = np.arange(n_p)
        self.a = np.arange(n_p, 2 * n_p) if alt else np.array([], dtype=int)
        n_var = n_p * (2 if alt else 1)
        rows, cols, vals, lo, hi = [], [], [], [], []
        titular_value = inst.poids[0] * v[self.pairs] + bonus_titulaire(inst)
        objective = [titular_value] + ([inst.poids[1] * v[self.pairs]] if alt else [])

        def add_rows(r, c, x):
            rows.append(r)
            cols.append(c)
            vals.append(np.asarray(x, dtype=float))

        n_row = 0
        self.row_titular = np.arange(n_units) + n_row
        add_rows(self.row_titular[pu], self.t, np.ones(n_p))
        lo.append(np.full(n_units, -np.inf))
        hi.append(np.ones(n_units))
        n_row += n_units
        if alt:
            self.row_alternate = np.arange(n_units) + n_row
            add_rows(self.row_alternate[pu], self.a, np.ones(n_p))
            add_rows(self.row_alternate[pu], self.t, np.full(n_p, -(k - 1.0)))
            lo.append(np.full(n_units, -np.inf))
            hi.append(np.zeros(n_units))
            n_row += n_units
        else:
            self.row_alternate = np.zeros(n_units, dtype=int)
        self.apps, app_index = np.unique(pa, return_inverse=True)
        self.row_app = np.arange(len(self.apps)) + n_row
        add_rows(self.row_app[app_index], self.t, np.ones(n_p))
        if alt and inst.une_fois:
            add_rows(self.row_app[app_index], self.a, np.ones(n_p))
        lo.append(np.full(len(self.apps), -np.inf))
        hi.append(np.ones(len(self.apps)))
        n_row += len(self.apps)
        if alt and not inst.une_fois:  # a household is never titular and alternate of one unit
            pair_rows = np.arange(n_p) + n_row
            add_rows(pair_rows, self.t, np.ones(n_p))
            add_rows(pair_rows, self.a, np.ones(n_p))
            lo.append(np.full(n_p, -np.inf))
            hi.append(np.ones(n_p))
            n_row += n_p

        self.row_objective, self.slack_objective = [], []
        for o in inst.objectifs:
            groups = len(o.realise)
            rows_o = np.arange(groups) + n_row
            g = o.groupe[pu]
            counted = g >= 0
            coef = np.where(o.public[pa], 1.0 - o.cible, -o.cible)
            add_rows(rows_o[g[counted]], self.t[counted], coef[counted])
            need = o.cible * o.realise[:, 0] - o.realise[:, 1]
            lo.append(need)
            hi.append(np.full(groups, np.inf))
            slacks = np.arange(groups) + n_var if not o.dure else np.array([], dtype=int)
            if not o.dure:
                add_rows(rows_o, slacks, np.ones(groups))
                objective.append(np.full(groups, -o.penalite))
                n_var += groups
            self.row_objective.append(rows_o)
            self.slack_objective.append(slacks)
            n_row += groups

        self.row_rule, self.slack_rule, self.rule_units, self.rule_need = [], [], {}, {}
        for r in inst.regles:
            available = np.bincount(unit[r.public[inst.demande]], minlength=n_units)
            need = np.minimum(r.minimum, available)
            units_r = np.flatnonzero(r.logements & (need > 0))
            rows_r = np.arange(len(units_r)) + n_row
            row_of_unit = np.full(n_units, -1)
            row_of_unit[units_r] = rows_r
            hit = (row_of_unit[pu] >= 0) & r.public[pa]
            add_rows(row_of_unit[pu][hit], self.t[hit], np.ones(int(hit.sum())))
            if alt:
                add_rows(row_of_unit[pu][hit], self.a[hit], np.ones(int(hit.sum())))
            lo.append(need[units_r].astype(float))
            hi.append(np.full(len(units_r), np.inf))
            slacks = np.arange(len(units_r)) + n_var if not r.dure else np.array([], dtype=int)
            if not r.dure:
                add_rows(rows_r, slacks, np.ones(len(units_r)))
                objective.append(np.full(len(units_r), -r.penalite))
                n_var += len(units_r)
            self.row_rule.append(rows_r)
            self.slack_rule.append(slacks)
            self.rule_units[r.id] = units_r
            self.rule_need[r.id] = need
            n_row += len(units_r)

        self.n_var, self.n_row = n_var, n_row
        self.matrix = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_var)
        )
        self.row_lo, self.row_hi = np.concatenate(lo), np.concatenate(hi)
        self.cost = np.concatenate(objective)
        self.var_hi = np.r_[np.ones(n_p * (2 if alt else 1)), np.full(n_var - n_p * (2 if alt else 1), np.inf)]

    def solve(self, inst: Instance, limite: float | None = None) -> _Solution:
        if self.n_var == 0:  # nothing to choose: feasible iff every row accepts zero
            ok = bool(np.all(self.row_lo <= TOLERANCE) and np.all(self.row_hi >= -TOLERANCE))
            return _Solution(0.0 if ok else float("-inf"), "optimal" if ok else "infaisable", ok,
                             np.zeros(0), np.zeros(self.n_row), self, 0.0 if ok else float("inf"))
        model = mb.Model()
        model.helper.fill_model_from_sparse_data(
            np.zeros(self.n_var), self.var_hi, self.cost, self.row_lo, self.row_hi, self.matrix
        )
        model.helper.set_maximize(True)
        if self.integral:
            n_binary = len(self.t) + len(self.a)
            for j in range(n_binary):
                model.helper.set_var_integrality(j, True)
        # The LP (whose duals price the pairs) goes to GLOP: through OR-Tools, HiGHS returns row
        # activities where duals are expected. The MIP goes to HiGHS, single thread, fixed seed.
        solver = mb.Solver("highs" if self.integral else "glop")
        if self.integral:
            solver.set_solver_specific_parameters(
                f"output_flag=false\nthreads=1\nrandom_seed={inst.graine}\nmip_rel_gap=1e-10\nmip_abs_gap=1e-6"
            )
        solver.set_time_limit_in_seconds(limite or inst.limite_temps_s)
        status = solver.solve(model)
        helper = solver._Solver__solve_helper  # vectorized values and duals
        has = helper.has_solution()
        names = {
            mb.SolveStatus.OPTIMAL: "optimal",
            mb.SolveStatus.FEASIBLE: "temps_depasse",
            mb.SolveStatus.INFEASIBLE: "infaisable",
            mb.SolveStatus.NOT_SOLVED: "temps_depasse",
        }
        x = np.asarray(helper.variable_values()) if has else np.zeros(self.n_var)
        duals = np.asarray(helper.dual_values()) if has and not self.integral else np.zeros(self.n_row)
        value = solver.objective_value if has else float("-inf")
        bound = solver.best_objective_bound if has else float("inf")
        return _Solution(value, names.get(status, "erreur"), has, x, duals, self, bound)


def _result(inst, v, unit, support, sol: _Solution, status, bound, gap, rounds, seconds, log) -> Resultat:
    m = sol.layout
    titular = np.full(inst.n_logements, -1)
    alternates: list[list[tuple[float, int]]] = [[] for _ in range(inst.n_logements)]
    if sol.has_solution:
        chosen_t = m.pairs[sol.x[m.t] > 0.5]
        titular[unit[chosen_t]] = inst.demande[chosen_t]
        if len(m.a):
            chosen_a = m.pairs[sol.x[m.a] > 0.5]
            for p in chosen_a[np.lexsort((-v[chosen_a], unit[chosen_a]))]:
                alternates[unit[p]].append(int(inst.demande[p]))
    shortfalls = {}
    for o, slacks in zip(inst.objectifs, m.slack_objective, strict=True):
        shortfalls[o.id] = sol.x[slacks] if len(slacks) else np.zeros(len(o.realise))
    for r, slacks in zip(inst.regles, m.slack_rule, strict=True):
        per_unit = np.zeros(inst.n_logements)
        if len(slacks):
            per_unit[m.rule_units[r.id]] = sol.x[slacks]
        shortfalls[r.id] = per_unit
    return Resultat(
        titular, [np.array(a, dtype=int) for a in alternates], status if sol.has_solution else sol.status,
        sol.value, bound, gap, shortfalls, int(support.sum()), len(v), rounds, seconds, log,
    )


def glouton(inst: Instance) -> Resultat:
    """Today's practice: each unit in turn takes the best remaining eligible households by score."""
    start = time.perf_counter()
    v = valeurs(inst)
    taken = np.zeros(len(inst.score), dtype=bool)
    titular = np.full(inst.n_logements, -1)
    alternates = []
    for u in range(inst.n_logements):  # one step per unit, as a CAL secretary does; vectors inside
        pairs = np.arange(inst.debut[u], inst.debut[u + 1])
        free = pairs[~taken[inst.demande[pairs]]]
        best = free[np.argsort(-v[free], kind="stable")][: inst.k]
        chosen = inst.demande[best]
        taken[chosen[:1] if not inst.une_fois else chosen] = True
        titular[u] = chosen[0] if len(chosen) else -1
        alternates.append(chosen[1:])
    value = _objective_value(inst, v, titular, alternates)
    return Resultat(titular, alternates, "glouton", value, float("nan"), float("nan"), {}, 0,
                    len(v), 0, time.perf_counter() - start)


def _objective_value(inst: Instance, v: np.ndarray, titular: np.ndarray, alternates) -> float:
    """The model's objective for a given proposal (used for the greedy and for checks)."""
    value_of = {(int(u), int(a)): float(x) for u, a, x in zip(inst.unite, inst.demande, v, strict=True)}
    total = 0.0
    for u in range(inst.n_logements):
        if titular[u] >= 0:
            total += inst.poids[0] * value_of[(u, int(titular[u]))] + bonus_titulaire(inst)
        total += sum(inst.poids[1] * value_of[(u, int(a))] for a in alternates[u])
    for o in inst.objectifs:
        for g in range(len(o.realise)):
            units = np.flatnonzero((o.groupe == g) & (titular >= 0))
            public = o.public[titular[units]].sum()
            lhs = public - o.cible * len(units)
            need = o.cible * o.realise[g, 0] - o.realise[g, 1]
            total -= o.penalite * max(0.0, need - lhs) if not o.dure else 0.0
    for r in inst.regles:
        available = np.bincount(inst.unite[r.public[inst.demande]], minlength=inst.n_logements)
        for u in np.flatnonzero(r.logements):
            need = min(r.minimum, available[u])
            have = sum(int(r.public[a]) for a in [titular[u], *alternates[u]] if a >= 0)
            total -= r.penalite * max(0, need - have) if not r.dure else 0.0
    return total
