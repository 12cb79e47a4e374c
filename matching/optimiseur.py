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
  unique. The smallest tie-break terms are below the solvers' tolerances, though: the batch is
  solved in a canonical order (applications by tie-break, units by identifier, pairs by
  application), so near-equal proposals are settled the same way whatever the tables' order.

Exactness over all eligible pairs. The model is built on a support S (each unit's best pairs,
its best pairs of every public an objective or rule needs, and the greedy's pairs), its LP
relaxation is solved (HiGHS dual simplex, warm-started from round to round), and every pair
outside S is priced with the LP duals as vectors. Every round proves an upper bound on any
proposal over all pairs: the LP value plus what the pairs outside S could still add, a
maximum-weight b-matching of their reduced costs (min-cost flow, OR-Tools). The pairs of that
matching, and each unit's K best, join S and the LP is solved again, until no pair prices
positive, the bound is close enough, or the time is spent. When the time stops the rounds, a
tighter bound keeps only the objective and rule rows' duals and re-optimises the assignment's own
over all pairs (`borne.lagrangienne`). The MIP on S (HiGHS,
single thread, fixed seed, time limit) gives the proposal, and the gap is measured against the
best bound. Built from arrays only; no Python loop over pairs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from matching.borne import appariement, lagrangienne

TOLERANCE = 1e-6
MIP_GAP = 1e-10
TIE_BREAK = 1e-3
PRICING_BLOCK = 1 << 22  # pairs priced at once (bounds the temporaries)
PATTERN_BITS = 8  # publics per pricing table: 256 patterns per unit
LP_GROWTH = 2.0  # a pricing round's LP is expected to take at most this many times the previous one
PRICING_SHARE = 0.75  # of the time limit, for the pricing rounds (the dive after them takes seconds)
PREFIX = 64  # initial support: each unit's order is searched first over 64 x `largeur` pairs


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
    ecart_cible: float = 0.0  # stop once the proven relative gap is at most this (0: prove optimality)
    ajustement: np.ndarray | None = None  # per pair, added to its value (e.g. an effort-rate preference)
    cle_logement: np.ndarray | None = None  # per unit, its rank in a canonical order (None: the given order)

    @property
    def n_logements(self) -> int:
        return len(self.debut) - 1

    @property
    def souple(self) -> bool:
        """Every objective and rule is soft: any proposal, the greedy's included, meets the model."""
        return not any(o.dure for o in self.objectifs) and not any(r.dure for r in self.regles)

    @property
    def unite(self) -> np.ndarray:
        """Unit of each pair (int32: tens of millions of pairs, a few thousand units)."""
        return np.repeat(np.arange(self.n_logements, dtype=np.int32), np.diff(self.debut))


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


def valeurs(inst: Instance, unit: np.ndarray | None = None) -> np.ndarray:
    """Value of each pair: shifted score + strict tie-breaks (application, then pair).

    Computed by blocks of pairs, so the temporaries stay small next to the pair arrays.
    """
    n = max(len(inst.score), 1)
    base = inst.score - min(float(inst.score.min(initial=0.0)), 0.0) + 1.0
    app = 1.0 - inst.ordre / n  # 1 for the first application by the tie-break
    unit = inst.unite if unit is None else unit
    out = np.empty(len(inst.demande))
    for lo in range(0, len(out), PRICING_BLOCK):
        hi = min(lo + PRICING_BLOCK, len(out))
        a = inst.demande[lo:hi]
        pair = (1.0 - unit[lo:hi] / max(inst.n_logements, 1)) * app[a]  # assortative: unique among swaps
        out[lo:hi] = base[a] + TIE_BREAK * app[a] + TIE_BREAK**2 * pair
    if inst.ajustement is not None:
        out += inst.ajustement
    return out


def resoudre(inst: Instance) -> Resultat:
    """Choose the candidates of every unit, proven against all eligible pairs.

    Solved in a canonical order (applications by `ordre`, units by `cle_logement`, pairs by
    application within each unit): proposals that differ only within the solvers' tolerances
    are then settled the same way whatever order the tables came in (a file, a database).
    """
    start = time.perf_counter()
    units, apps = _canonical_orders(inst)
    if units is None:
        return _resoudre(inst)
    back = np.argsort(apps)  # canonical number -> given application
    result = _resoudre(_reordered(inst, units, apps, back))
    titular = np.full(inst.n_logements, -1)
    titular[units] = np.where(result.titulaire >= 0, back[np.maximum(result.titulaire, 0)], -1)
    alternates: list[np.ndarray] = [np.zeros(0, dtype=int)] * inst.n_logements
    for new, old in enumerate(units.tolist()):
        alternates[old] = back[result.suppleants[new]]
    shortfalls = dict(result.manques)
    for r in inst.regles:  # per unit
        shortfalls[r.id] = np.empty_like(result.manques[r.id])
        shortfalls[r.id][units] = result.manques[r.id]
    return dataclasses.replace(result, titulaire=titular, suppleants=alternates, manques=shortfalls,
                               secondes=time.perf_counter() - start)


def _canonical_orders(inst: Instance) -> tuple[np.ndarray | None, np.ndarray]:
    """Units in canonical order, and each application's canonical number; None if already canonical."""
    apps = np.asarray(inst.ordre, dtype=np.int64)
    if len(apps) and not np.array_equal(np.bincount(apps, minlength=len(apps)), np.ones(len(apps), dtype=np.int64)):
        raise ValueError("Instance.ordre must number the applications 0..n-1, each once")
    units = (np.argsort(inst.cle_logement, kind="stable") if inst.cle_logement is not None
             else np.arange(inst.n_logements))
    in_order = bool(np.all(apps == np.arange(len(apps)))) and bool(np.all(units == np.arange(len(units))))
    if in_order and _sorted_within_units(inst.debut, inst.demande):
        return None, apps
    return units, apps


def _sorted_within_units(debut: np.ndarray, demande: np.ndarray) -> bool:
    """Pairs increase by application inside every unit (a decrease only where a unit starts)."""
    drops = np.flatnonzero(np.diff(demande) <= 0) + 1
    return bool(np.isin(drops, debut).all())


def _reordered(inst: Instance, units: np.ndarray, apps: np.ndarray, back: np.ndarray) -> Instance:
    """The same batch, units in `units` order, application a renumbered apps[a], pairs sorted.

    `back` is the inverse numbering: back[apps[a]] = a.
    """
    sizes = np.diff(inst.debut)[units]
    debut = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    index = np.int32 if len(inst.demande) < 2**31 else np.int64  # pair positions: half the memory
    positions = (np.repeat(inst.debut[:-1][units] - debut[:-1], sizes).astype(index)
                 + np.arange(int(debut[-1]), dtype=index))
    renumbered = apps.astype(inst.demande.dtype)[inst.demande[positions]]
    for u in range(len(units)):  # one sort per unit: a global sort would hold several arrays of all pairs
        lo, hi = int(debut[u]), int(debut[u + 1])
        local = np.argsort(renumbered[lo:hi], kind="stable")
        positions[lo:hi] = positions[lo:hi][local]
        renumbered[lo:hi] = renumbered[lo:hi][local]
    objectifs = tuple(dataclasses.replace(o, public=o.public[back], groupe=o.groupe[units]) for o in inst.objectifs)
    regles = tuple(dataclasses.replace(r, public=r.public[back], logements=r.logements[units]) for r in inst.regles)
    return dataclasses.replace(
        inst, debut=debut, demande=renumbered, score=inst.score[back],
        ordre=np.arange(len(apps)), objectifs=objectifs, regles=regles, cle_logement=None,
        ajustement=None if inst.ajustement is None else inst.ajustement[positions],
    )


def _resoudre(inst: Instance) -> Resultat:
    start = time.perf_counter()
    unit = inst.unite
    v = valeurs(inst, unit)
    master = _Master(inst, v, unit)
    master.add(np.flatnonzero(_initial_support(inst, v, unit)))
    log: list[str] = []
    rounds = 0
    budget = start + PRICING_SHARE * inst.limite_temps_s  # pricing rounds; the dive and MIP get the rest
    bound = float("inf")  # best bound over all pairs proven so far (each round gives one)
    previous_lp = 0.0
    while True:
        rounds += 1
        lp_start = time.perf_counter()
        # an LP may run until 90 % of the limit, so the proposal is back in time whatever happens
        value = master.solve_lp(max(start + 0.9 * inst.limite_temps_s - lp_start, 0.1))
        lp_seconds = time.perf_counter() - lp_start
        if getattr(master, "lp_infeasible", False) or (master.n_cols == 0 and not master.feasible_empty):
            # no proposal meets the hard rows, whatever the pairs: the diagnosis says which
            log.append("infaisable : un objectif ou une règle dure ne peut être tenu")
            empty = _MipSolution(float("-inf"), "infaisable", False, np.zeros(master.n_cols))
            return _result(inst, v, unit, master, empty, "infaisable", float("inf"), float("inf"), rounds,
                           time.perf_counter() - start, log)
        if not master.lp_optimal:  # stopped by the time limit: its duals prove nothing new
            log.append("limite de temps atteinte pendant le programme linéaire"
                       + ("" if np.isfinite(bound) else " : aucune borne prouvée"))
            if master.has_lp:  # a dive from the last optimal LP; the bound of its round holds
                mip = master.dive(max(inst.limite_temps_s - (time.perf_counter() - start), 1.0))
                if mip.has_solution:
                    gap = abs(bound - mip.value) / max(abs(bound), 1e-9)
                    return _result(inst, v, unit, master, mip, "temps_depasse", bound, gap, rounds,
                                   time.perf_counter() - start, log)
            if inst.souple:  # the bound of the earlier rounds still holds
                return _greedy_fallback(inst, v, master, bound, rounds, start, log)
            empty = _MipSolution(float("-inf"), "temps_depasse", False, np.zeros(master.n_cols))
            return _result(inst, v, unit, master, empty, "temps_depasse", bound, float("inf"), rounds,
                           time.perf_counter() - start, log)
        rc = None  # the last round's reduced costs are freed before this round's are priced
        priced = time.perf_counter()
        rc = master.price_all()
        # a valid bound over all pairs at every round, equal to the LP value once no pair prices positive
        outside = np.flatnonzero(rc.above(0.0) & ~master.in_model)
        outside_rc = rc.at(outside)
        gain, matched = appariement(inst.k, inst.une_fois, inst.demande, unit, inst.n_logements, outside,
                                    outside_rc)
        round_bound = value + gain  # from this round's duals: the one reduced-cost fixing may use
        bound = min(bound, round_bound)
        # new columns: each unit's K best, and the pairs of that best improving b-matching. The best
        # households price positive in many units at once; the matching spreads them over the units.
        clear = outside_rc > TOLERANCE  # the positive pairs, without another pass over all pairs
        positive = outside[clear]
        n_positive = len(positive)
        best = _best_per_unit(positive, outside_rc[clear], unit[positive], inst.k)
        new = np.union1d(best, matched[rc.at(matched) > TOLERANCE])
        # each round's LP takes longer than the last (by the last ratio, at least LP_GROWTH):
        # do not start one that would overrun the budget
        growth = max(LP_GROWTH, lp_seconds / previous_lp) if previous_lp > 0 else LP_GROWTH
        previous_lp = lp_seconds
        late = time.perf_counter() + growth * lp_seconds > budget
        log.append(f"tour {rounds} : {int(master.in_model.sum())} paires, LP {value:.3f}, borne {bound:.3f}, "
                   f"{n_positive} paires à coût réduit positif, {len(new)} ajoutées "
                   f"({time.perf_counter() - start:.1f} s, dont LP {lp_seconds:.1f} s)")
        # the LP is within half the target gap of the bound: the rest of the gap is left to the dive
        close = bool(len(new)) and bound - value <= 0.5 * inst.ecart_cible * max(1.0, abs(bound))
        # no more LP rounds: a tighter bound keeps the side rows' duals and re-optimises the
        # structure's, if it fits (it costs about twice this round's pricing and matching)
        pricing_seconds = time.perf_counter() - priced
        fits = time.perf_counter() + 2 * pricing_seconds < start + 0.9 * inst.limite_temps_s
        if late and not close and len(new) and fits and rc.suppleant is not None and inst.une_fois:
            bound = min(bound, _lagrangian_bound(master, rc, start + 0.85 * inst.limite_temps_s, log))
            close = bound - value <= 0.5 * inst.ecart_cible * max(1.0, abs(bound))
        if not len(new) or late or close:
            if close:
                log.append("LP à moins de la moitié de l'écart cible de la borne : fin de la tarification")
            elif late:
                log.append("le tour suivant dépasserait le temps réservé à la tarification : fin de la tarification")
            break
        master.add(new)
    remaining = max(inst.limite_temps_s - (time.perf_counter() - start), 0.2 * inst.limite_temps_s)
    if not len(new) and master.lp_is_integral():
        # the LP optimum over all pairs is a proposal: optimal, nothing left to branch on
        mip = _MipSolution(value, "optimal", True, master.lp_x)
        log.append("relaxation entière : la solution du LP est la proposition optimale")
    elif len(new) and not close:  # pricing cut short by the time limit: a dive on the model as it
        # stands (a full MIP would first re-solve its root LP from scratch, which HiGHS does not
        # interrupt in time)
        mip = master.dive(remaining)
        if mip.status == "optimal" and not _closes(bound, mip.value):  # on the model, not over all pairs
            mip = _MipSolution(mip.value, "realisable", True, mip.x)
    else:
        # Dive: keep the LP's integral choices and branch on its fractional ones (fast, near the
        # bound). Then reduced-cost fixing: a pair whose reduced cost is below dive − bound is in
        # no better proposal; the MIP on the pairs left gets the remaining time, and the best of
        # the two is kept. The gap to the bound over all pairs is what is proven.
        mip = master.dive(remaining / 3)
        good_enough = mip.has_solution and (bound - mip.value) <= inst.ecart_cible * max(1.0, abs(bound))
        if good_enough and not _closes(bound, mip.value):
            log.append(f"plongée : {mip.value:.3f}, écart prouvé sous la cible de {inst.ecart_cible:.2e}")
            mip = _MipSolution(mip.value, "realisable", True, mip.x)
        elif mip.has_solution and bound - mip.value > TOLERANCE * max(1.0, abs(bound)):
            threshold = mip.value - round_bound - TOLERANCE
            fixed = master.fix_below(threshold)
            outside = np.flatnonzero(rc.above(threshold) & ~master.in_model)
            complete = len(outside) <= 4 * int(master.in_model.sum())  # else the MIP would not fit
            if complete:
                master.add(outside)
            log.append(f"plongée : {mip.value:.3f} ; {fixed} colonnes fixées à 0 par leurs coûts réduits, "
                       f"{len(outside)} paires hors modèle compatibles avec une amélioration"
                       + ("" if complete else " (trop nombreuses : non ajoutées, écart prouvé seulement)"))
            remaining = max(inst.limite_temps_s - (time.perf_counter() - start), 0.1 * inst.limite_temps_s)
            exact = master.solve_mip(remaining)
            if exact.has_solution and exact.value > mip.value:
                mip = exact
            proven = (exact.status == "optimal" and complete) or _closes(bound, mip.value)
            mip = _MipSolution(mip.value, "optimal" if proven else ("realisable" if mip.has_solution else exact.status),
                               mip.has_solution, mip.x)
    if not mip.has_solution and inst.souple:
        return _greedy_fallback(inst, v, master, bound, rounds, start, log)
    gap = abs(bound - mip.value) / max(abs(bound), 1e-9) if mip.has_solution else float("inf")
    return _result(inst, v, unit, master, mip, mip.status, bound, gap, rounds, time.perf_counter() - start, log)


def _greedy_fallback(inst: Instance, v: np.ndarray, master: _Master, bound: float, rounds: int, start: float,
                     log: list[str]) -> Resultat:
    """Out of time before the model found a proposal: today's greedy one, with its proven gap.

    Only when every objective and rule is soft (the greedy proposal then meets the model). The
    CAL always gets candidates; the status says the limit was hit and the gap how far from the
    bound over all pairs the proposal may be.
    """
    greedy = glouton(inst)  # valued with the model's objective, shortfalls included
    value = greedy.objectif
    gap = abs(bound - value) / max(abs(bound), 1e-9) if np.isfinite(bound) else float("inf")
    log.append("limite de temps atteinte avant une proposition du modèle : proposition gloutonne"
               + (f", écart prouvé {gap:.2e}" if np.isfinite(gap) else ", écart non prouvé"))
    return Resultat(greedy.titulaire, greedy.suppleants, "temps_depasse", value, bound, gap, greedy.manques,
                    int(master.in_model.sum()), len(v), rounds, time.perf_counter() - start, log)


def _lagrangian_bound(master: _Master, rc: _ReducedCosts, deadline: float, log: list[str]) -> float:
    """The Lagrangian bound of `borne.lagrangienne` from the master's last LP duals."""
    started = time.perf_counter()
    inst, y = master.inst, master.duals
    constant, error = master.side_duals()
    duals_t = y[master.row_t] - (inst.k - 1) * y[master.row_a] + error  # a clipped side dual may
    duals_a = y[master.row_a] + error  # lower a pair's value by at most `error`: counted in its favour
    value = lagrangienne(inst.k, inst.demande, master.unit, inst.n_logements, rc.titulaire, rc.suppleant,
                         master.in_model, duals_t, duals_a, y[master.row_app], constant, deadline)
    log.append(f"borne lagrangienne (duaux des objectifs et des règles gardés, affectation réoptimisée "
               f"sur toutes les paires) : {value:.3f} ({time.perf_counter() - started:.1f} s)")
    return value


def _closes(bound: float, value: float) -> bool:
    """The proposal reaches the bound over all pairs (up to solver tolerance): proven optimal."""
    return bound - value <= 1e-9 * max(1.0, abs(bound)) + TOLERANCE


def _initial_support(inst: Instance, v: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Each unit's best pairs overall and of every public in the policy, and the greedy's pairs.

    Scores are global, so every unit's best pairs are the same few households; the greedy
    proposal (each unit in turn takes the best households left) adds, for every unit, pairs from
    the tier of households it can actually get, which saves most pricing rounds.
    """
    order = _order_in_units(inst, v)
    apps = inst.demande[order]
    keep = _greedy_pairs(inst, order, apps)
    publics = [None] + [o.public for o in inst.objectifs] + [r.public for r in inst.regles]
    publics += [~o.public for o in inst.objectifs]
    # the best pairs of a public are near the head of each unit's order: look at a prefix first
    sizes = np.diff(inst.debut)
    head = np.minimum(sizes, PREFIX * max(inst.largeur, 1))
    first = np.cumsum(head) - head
    within = np.arange(int(head.sum())) - np.repeat(first, head)
    positions = np.repeat(inst.debut[:-1], head) + within  # prefix positions in `order`
    head_apps = apps[positions]
    head_units = np.repeat(np.arange(inst.n_logements), head)
    for public in publics:
        if public is None:
            keep[order[positions[within < inst.largeur]]] = True
            continue
        mask = public[head_apps]
        count = np.cumsum(mask)
        rank = count - np.r_[0, count][first][head_units]  # rank of a public pair in its unit
        keep[order[positions[mask & (rank <= inst.largeur)]]] = True
        found = np.bincount(head_units[mask], minlength=inst.n_logements)
        for u in np.flatnonzero((found < inst.largeur) & (head < sizes)):  # a rare public: whole range
            lo, hi = int(inst.debut[u]), int(inst.debut[u + 1])
            keep[order[lo + np.flatnonzero(public[apps[lo:hi]])[: inst.largeur]]] = True
    return keep


def _order_in_units(inst: Instance, v: np.ndarray) -> np.ndarray:
    """Pair positions sorted by unit then decreasing value; units keep their CSR ranges.

    One sort per unit (a few thousand): a global sort would hold several arrays of the size of
    all pairs at once. The fast unstable sort is made deterministic: a unit whose values tie
    (rare, values carry strict tie-breaks) is sorted again stably, ties in position order.
    """
    order = np.empty(len(v), dtype=np.int32 if len(v) < 2**31 else np.int64)
    for u in range(inst.n_logements):
        lo, hi = int(inst.debut[u]), int(inst.debut[u + 1])
        local = np.argsort(-v[lo:hi])
        ranked = v[lo:hi][local]
        if len(ranked) > 1 and np.any(ranked[1:] == ranked[:-1]):
            local = np.argsort(-v[lo:hi], kind="stable")
        order[lo:hi] = lo + local
    return order


def _greedy_pairs(inst: Instance, order: np.ndarray, apps: np.ndarray) -> np.ndarray:
    """Pairs of the greedy proposal, and of a greedy run restricted to each public of the policy.

    `apps` holds the application of each pair in `order`. Each unit scans its order by growing
    chunks until it has K free households, instead of its whole range.
    """
    keep = np.zeros(len(order), dtype=bool)
    publics = [None] + [o.public for o in inst.objectifs] + [r.public for r in inst.regles]
    for public in publics:
        taken = np.zeros(len(inst.score), dtype=bool)
        for u in range(inst.n_logements):
            start, hi = int(inst.debut[u]), int(inst.debut[u + 1])
            chunk, need = 64, inst.k
            while need and start < hi:
                end = min(start + chunk, hi)
                free = ~taken[apps[start:end]]
                if public is not None:
                    free &= public[apps[start:end]]
                got = np.flatnonzero(free)[:need] + start
                taken[apps[got]] = True
                keep[order[got]] = True
                need -= len(got)
                start, chunk = end, 4 * chunk
    return keep


def _best_per_unit(pairs: np.ndarray, values: np.ndarray, units: np.ndarray, k: int) -> np.ndarray:
    """The k best of these pairs in each unit, given their values and units (sort by unit, then value)."""
    order = np.lexsort((-values, units))
    units = units[order]
    first = np.r_[0, np.flatnonzero(np.diff(units)) + 1] if len(units) else np.zeros(0, np.int64)
    position = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    return np.sort(pairs[order[position < k]])


@dataclass
class _ReducedCosts:
    """Each pair's reduced cost as titular and as alternate (None if K = 1); its own is the larger.

    Kept apart, not merged: the Lagrangian bound needs both, and a third array of all the pairs
    would be the optimizer's largest.
    """

    titulaire: np.ndarray
    suppleant: np.ndarray | None

    def above(self, threshold: float) -> np.ndarray:
        mask = self.titulaire > threshold
        if self.suppleant is not None:
            mask |= self.suppleant > threshold
        return mask

    def at(self, pairs: np.ndarray) -> np.ndarray:
        best = self.titulaire[pairs]
        return best if self.suppleant is None else np.maximum(best, self.suppleant[pairs])


@dataclass
class _MipSolution:
    value: float
    status: str
    has_solution: bool
    x: np.ndarray


def _highs() -> highspy.Highs:
    """A silent, single-threaded HiGHS (its banner, printed once on stdout, is swallowed)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    return h


class _Master:
    """The restricted model in HiGHS: all rows from the start, pair columns added as priced.

    Rows: per unit a titular row (≤ 1) and an alternate row (Σa − (K−1)Σt ≤ 0); per application
    a row (≤ 1); per objective group a ratio row (≥ need); per unit of a rule a count row
    (≥ need). Columns: soft slacks, then t and a for every pair in the model. Adding columns
    keeps the basis, so each pricing round re-solves from the previous optimum.
    """

    def __init__(self, inst: Instance, v: np.ndarray, unit: np.ndarray):
        self.inst, self.v, self.unit = inst, v, unit
        self.h = _highs()
        self.h.setOptionValue("random_seed", int(inst.graine))
        # LP rounds re-solve from the previous basis after columns are added: no presolve
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("solver", "simplex")
        self.h.setOptionValue("time_limit", float(inst.limite_temps_s))
        self.in_model = np.zeros(len(v), dtype=bool)
        self.bonus = bonus_titulaire(inst)
        # for pricing: each application's pattern of publics (a bit per objective, then per rule),
        # in bytes of PATTERN_BITS publics, so each table has at most 256 patterns per unit
        publics = [o.public for o in inst.objectifs] + [r.public for r in inst.regles]
        self.codes = []
        for first in range(0, max(len(publics), 1), PATTERN_BITS):
            code = np.zeros(len(inst.score), dtype=np.int64)
            for bit, public in enumerate(publics[first:first + PATTERN_BITS]):
                code |= public.astype(np.int64) << bit
            self.codes.append(code.astype(np.uint8))
        self.n_publics = len(publics)
        n_units, n_apps = inst.n_logements, len(inst.score)
        lo, hi = [], []
        offset = 0

        def rows(lower, upper):
            nonlocal offset
            lo.append(np.asarray(lower, float))
            hi.append(np.asarray(upper, float))
            first = offset
            offset += len(lo[-1])
            return np.arange(first, offset)

        inf = highspy.kHighsInf
        self.row_t = rows(np.full(n_units, -inf), np.ones(n_units))
        self.row_a = rows(np.full(n_units, -inf), np.zeros(n_units)) if inst.k > 1 else None
        self.row_app = rows(np.full(n_apps, -inf), np.ones(n_apps))
        self.row_obj = []
        for o in inst.objectifs:
            need = o.cible * o.realise[:, 0] - o.realise[:, 1]
            self.row_obj.append(rows(need, np.full(len(need), inf)))
        self.row_rule = []  # per rule: row index per unit (-1 when the rule asks nothing of the unit)
        for r in inst.regles:
            available = np.bincount(unit[r.public[inst.demande]], minlength=n_units)
            need = np.minimum(r.minimum, available)
            units_r = np.flatnonzero(r.logements & (need > 0))
            index = np.full(n_units, -1)
            index[units_r] = rows(need[units_r].astype(float), np.full(len(units_r), inf))
            self.row_rule.append(index)
        self.n_rows = offset
        self.row_lower = np.concatenate(lo)
        empty = np.zeros(offset + 1, dtype=np.int32)
        self.h.addRows(offset, self.row_lower, np.concatenate(hi), 0, empty[:offset], empty[:0], np.zeros(0))
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        # soft slacks, one column per soft row
        slack_rows, slack_costs = [], []
        self.slacks: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # id -> (columns, unit or group)
        for o, rows_o in zip(inst.objectifs, self.row_obj, strict=True):
            if not o.dure:
                self.slacks[o.id] = (np.arange(len(rows_o)) + len(slack_rows), np.arange(len(rows_o)))
                slack_rows += list(rows_o)
                slack_costs += [-o.penalite] * len(rows_o)
        for r, index in zip(inst.regles, self.row_rule, strict=True):
            if not r.dure:
                units_r = np.flatnonzero(index >= 0)
                self.slacks[r.id] = (np.arange(len(units_r)) + len(slack_rows), units_r)
                slack_rows += list(index[units_r])
                slack_costs += [-r.penalite] * len(units_r)
        n = len(slack_rows)
        self.h.addCols(n, np.array(slack_costs, float), np.zeros(n), np.full(n, inf), n,
                       np.arange(n, dtype=np.int32), np.array(slack_rows, dtype=np.int32), np.ones(n))
        self.n_cols = n
        self.pair_cols: list[np.ndarray] = []  # batches of pairs, in column order (t then a per batch)
        self.duals = np.zeros(self.n_rows)

    def add(self, pairs: np.ndarray) -> None:
        """Add the t (and a) columns of these pairs, and their own row when a household may repeat."""
        inst, unit = self.inst, self.unit
        pairs = pairs[~self.in_model[pairs]]
        if not len(pairs):
            return
        self.in_model[pairs] = True
        pu, pa = unit[pairs], inst.demande[pairs]
        entries_t = [(self.row_t[pu], np.ones(len(pairs)))]
        entries_a = []
        if inst.k > 1:
            entries_t.append((self.row_a[pu], np.full(len(pairs), -(inst.k - 1.0))))
            entries_a.append((self.row_a[pu], np.ones(len(pairs))))
        entries_t.append((self.row_app[pa], np.ones(len(pairs))))
        if inst.k > 1 and inst.une_fois:
            entries_a.append((self.row_app[pa], np.ones(len(pairs))))
        for o, rows_o in zip(inst.objectifs, self.row_obj, strict=True):
            g = o.groupe[pu]
            coef = np.where(o.public[pa], 1.0 - o.cible, -o.cible)
            entries_t.append((np.where(g >= 0, rows_o[np.maximum(g, 0)], -1), coef))
        for r, index in zip(inst.regles, self.row_rule, strict=True):
            row = np.where(r.public[pa], index[pu], -1)
            entries_t.append((row, np.ones(len(pairs))))
            if inst.k > 1:
                entries_a.append((row, np.ones(len(pairs))))
        if inst.k > 1 and not inst.une_fois:  # never titular and alternate of the same unit
            first = self.n_rows
            self.h.addRows(len(pairs), np.full(len(pairs), -highspy.kHighsInf), np.ones(len(pairs)), 0,
                           np.zeros(len(pairs), dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
            own = np.arange(first, first + len(pairs))
            self.n_rows += len(pairs)
            entries_t.append((own, np.ones(len(pairs))))
            entries_a.append((own, np.ones(len(pairs))))
        self._add_columns(entries_t, inst.poids[0] * self.v[pairs] + self.bonus)
        if inst.k > 1:
            self._add_columns(entries_a, inst.poids[1] * self.v[pairs])
        self.pair_cols.append(pairs)

    def _add_columns(self, entries: list[tuple[np.ndarray, np.ndarray]], cost: np.ndarray) -> None:
        n = len(cost)
        rows = np.stack([r for r, _ in entries], axis=1)  # (n, entries)
        vals = np.stack([x for _, x in entries], axis=1)
        keep = rows >= 0
        counts = keep.sum(axis=1)
        starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int32)
        self.h.addCols(n, cost.astype(float), np.zeros(n), np.ones(n), int(counts.sum()), starts,
                       rows[keep].astype(np.int32), vals[keep].astype(float))
        self.n_cols += n

    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs in the model with the column of their t and of their a (−1 if K = 1)."""
        pairs, col_t, col_a = [], [], []
        col = sum(len(c) for c, _ in self.slacks.values())
        for batch in self.pair_cols:
            n = len(batch)
            pairs.append(batch)
            col_t.append(np.arange(col, col + n))
            col += n
            if self.inst.k > 1:
                col_a.append(np.arange(col, col + n))
                col += n
            else:
                col_a.append(np.full(n, -1))
        if not pairs:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(pairs), np.concatenate(col_t), np.concatenate(col_a)

    feasible_empty = True
    lp_optimal = True
    has_lp = False  # an optimal LP was solved (its solution is in lp_x)

    def _empty(self) -> bool:
        """No column at all: the only proposal is the empty one, feasible iff zero meets every row."""
        if self.n_cols:
            return False
        lower = np.asarray(self.h.getLp().row_lower_)
        self.feasible_empty = bool(np.all(lower <= TOLERANCE))
        self.duals = np.zeros(self.n_rows)
        self.lp_x = np.zeros(0)
        return True

    def solve_lp(self, limite: float) -> float:
        if self._empty():
            return 0.0 if self.feasible_empty else float("-inf")
        self.h.setOptionValue("time_limit", float(limite))
        self.h.run()
        self.lp_infeasible = self.h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
        self.lp_optimal = self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not self.lp_optimal:  # keep the last optimal LP, its new columns at 0, for a dive
            if self.has_lp:
                self.lp_x = np.r_[self.lp_x, np.zeros(self.n_cols - len(self.lp_x))]
            return float("nan")
        solution = self.h.getSolution()
        self.duals = np.asarray(solution.row_dual)
        self.lp_x = np.asarray(solution.col_value)
        self.has_lp = True
        return float(self.h.getInfo().objective_function_value)

    def side_duals(self) -> tuple[float, float]:
        """Σ y·b over the objective and rule rows, and how far a pair's value moved to make it valid.

        These rows are ≥ rows: their duals must be ≤ 0, and ≥ −penalty when soft (the slack's
        reduced cost); the LP's are, up to its tolerances. Clipped duals give the constant; a pair
        enters each row with a coefficient of at most 1, so its value moves by at most the sum of
        the clips.
        """
        constant, error = 0.0, 0.0
        penalties = [o.penalite if not o.dure else np.inf for o in self.inst.objectifs]
        penalties += [r.penalite if not r.dure else np.inf for r in self.inst.regles]
        rows = self.row_obj + [index[index >= 0] for index in self.row_rule]
        for rows_s, penalty in zip(rows, penalties, strict=True):
            y = self.duals[rows_s]
            clipped = np.clip(y, -penalty, 0.0)
            constant += float(clipped @ self.row_lower[rows_s])
            error += float(np.abs(y - clipped).sum())
        return constant, error

    def dive(self, limite: float) -> _MipSolution:
        """A good proposal fast: keep the LP's integral choices, branch only on its fractional ones.

        The columns the LP sets to 0 or 1 are fixed there, the fractional ones are left to a small
        MIP; the bounds are restored afterwards. Its value is the incumbent of reduced-cost fixing.
        """
        pairs, col_t, col_a = self._layout()
        cols = np.concatenate([col_t, col_a[col_a >= 0]]).astype(np.int32)
        x = self.lp_x[cols]
        zero, one = x < 1e-9, x > 1 - 1e-9
        col_dual = np.asarray(self.h.getSolution().col_dual)
        self.h.changeColsBounds(int(zero.sum()), cols[zero], np.zeros(int(zero.sum())), np.zeros(int(zero.sum())))
        self.h.changeColsBounds(int(one.sum()), cols[one], np.ones(int(one.sum())), np.ones(int(one.sum())))
        result = self.solve_mip(limite)
        self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.ones(len(cols)))
        self.lp_col_dual = col_dual
        return result

    def fix_below(self, threshold: float) -> int:
        """Fix to 0 the pair columns whose LP reduced cost is below `threshold`."""
        col_dual = getattr(self, "lp_col_dual", None)
        if col_dual is None:
            col_dual = np.asarray(self.h.getSolution().col_dual)
        _pairs, col_t, col_a = self._layout()
        cols = np.concatenate([col_t, col_a[col_a >= 0]])
        fix = cols[col_dual[cols] < threshold].astype(np.int32)
        if len(fix):
            self.h.changeColsBounds(len(fix), fix, np.zeros(len(fix)), np.zeros(len(fix)))
        return len(fix)

    def lp_is_integral(self) -> bool:
        _pairs, col_t, col_a = self._layout()
        cols = np.concatenate([col_t, col_a[col_a >= 0]])
        x = self.lp_x[cols]
        return bool(np.all(np.minimum(np.abs(x), np.abs(1.0 - x)) < 1e-9))

    def price_all(self) -> _ReducedCosts:
        """Reduced costs c − Aᵀy of each eligible pair as titular and as alternate.

        Computed by blocks of pairs, so the temporaries stay small next to the pair arrays.
        """
        self._tables()
        out_t = np.empty(len(self.v))
        out_a = np.empty(len(self.v)) if self.inst.k > 1 else None
        for lo in range(0, len(out_t), PRICING_BLOCK):
            block = slice(lo, min(lo + PRICING_BLOCK, len(out_t)))
            rc_t, rc_a = self._price(block)
            out_t[block] = rc_t
            if out_a is not None:
                out_a[block] = rc_a
        return _ReducedCosts(out_t, out_a)

    def _price(self, block: slice) -> tuple[np.ndarray, np.ndarray]:
        """Reduced costs of a block of pairs from per-(unit, public pattern) tables.

        Every dual term but the application's own depends only on the unit and on which publics
        of the policy the household belongs to: the terms are summed once per unit and pattern,
        and each pair needs a gather per table instead of one per row it enters.
        """
        inst = self.inst
        a = inst.demande[block]
        unit = self.unit[block].astype(np.int64) << PATTERN_BITS
        app_dual = self.app_duals[a]
        v = self.v[block]
        rc_t = (inst.poids[0] * v + self.bonus) - app_dual
        rc_a = inst.poids[1] * v - (app_dual if inst.une_fois else 0.0)
        for code, table_t, table_a in zip(self.codes, self.tables_t, self.tables_a, strict=True):
            key = unit + code[a]
            rc_t -= table_t[key]
            rc_a -= table_a[key]
        return rc_t, rc_a

    def _tables(self) -> None:
        """The per-(unit, public pattern) dual sums of `_price`, and each application's dual."""
        inst, y = self.inst, self.duals
        n_units, width = inst.n_logements, 1 << PATTERN_BITS
        unit_t = y[self.row_t].copy()  # terms of the unit alone go in the first table
        unit_a = np.zeros(n_units)
        if inst.k > 1:
            unit_t -= (inst.k - 1) * y[self.row_a]
            unit_a += y[self.row_a]
        per_public = []  # (dual per unit, weight on t, weight on a) for each public, in bit order
        for o, rows_o in zip(inst.objectifs, self.row_obj, strict=True):
            dual = np.where(o.groupe >= 0, y[rows_o][np.maximum(o.groupe, 0)] if len(rows_o) else 0.0, 0.0)
            unit_t -= o.cible * dual
            per_public.append((dual, 1.0, 0.0))
        for index in self.row_rule:
            per_public.append((np.where(index >= 0, y[np.maximum(index, 0)], 0.0), 1.0, 1.0))
        self.tables_t, self.tables_a = [], []
        for c in range(len(self.codes)):
            t, a = np.zeros((n_units, width)), np.zeros((n_units, width))
            if c == 0:
                t += unit_t[:, None]
                a += unit_a[:, None]
            chunk = per_public[c * PATTERN_BITS:(c + 1) * PATTERN_BITS]
            bits = (np.arange(width)[:, None] >> np.arange(len(chunk))) & 1  # (patterns, publics)
            for j, (dual, on_t, on_a) in enumerate(chunk):
                t += on_t * dual[:, None] * bits[None, :, j]
                a += on_a * dual[:, None] * bits[None, :, j]
            self.tables_t.append(t.ravel())
            self.tables_a.append(a.ravel())
        self.app_duals = y[self.row_app]

    def solve_mip(self, limite: float) -> _MipSolution:
        if self._empty():
            ok = self.feasible_empty
            return _MipSolution(0.0 if ok else float("-inf"), "optimal" if ok else "infaisable", ok, np.zeros(0))
        _pairs, col_t, col_a = self._layout()
        cols = np.concatenate([col_t, col_a[col_a >= 0]]).astype(np.int32)
        self.h.changeColsIntegrality(len(cols), cols, np.array([highspy.HighsVarType.kInteger] * len(cols)))
        self.h.setOptionValue("time_limit", float(limite))
        self.h.setOptionValue("mip_rel_gap", MIP_GAP)
        self.h.setOptionValue("mip_abs_gap", 1e-6)
        self.h.setOptionValue("presolve", "choose")
        self.h.clearSolver()  # a MIP re-run after bound changes must not reuse the previous solution
        self.h.run()
        status = self.h.getModelStatus()
        info = self.h.getInfo()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        names = {highspy.HighsModelStatus.kOptimal: "optimal", highspy.HighsModelStatus.kInfeasible: "infaisable",
                 highspy.HighsModelStatus.kTimeLimit: "temps_depasse"}
        x = np.asarray(self.h.getSolution().col_value) if has else np.zeros(self.n_cols)
        # the value of the returned proposal itself, computed from its columns
        value = float(np.asarray(self.h.getLp().col_cost_) @ x) if has else float("-inf")
        return _MipSolution(value, names.get(status, "erreur"), has, x)


def _result(inst, v, unit, master: _Master, sol: _MipSolution, status, bound, gap, rounds, seconds, log) -> Resultat:
    titular = np.full(inst.n_logements, -1)
    alternates: list[list[int]] = [[] for _ in range(inst.n_logements)]
    pairs, col_t, col_a = master._layout()
    if len(sol.x) < master.n_cols:  # columns added after this solution was found are at 0 in it
        sol = _MipSolution(sol.value, sol.status, sol.has_solution, np.r_[sol.x, np.zeros(master.n_cols - len(sol.x))])
    if sol.has_solution:
        chosen_t = pairs[sol.x[col_t] > 0.5]
        titular[unit[chosen_t]] = inst.demande[chosen_t]
        if inst.k > 1:
            chosen_a = pairs[sol.x[col_a] > 0.5]
            for p in chosen_a[np.lexsort((-v[chosen_a], unit[chosen_a]))]:
                alternates[unit[p]].append(int(inst.demande[p]))
    shortfalls = {}
    for o in inst.objectifs:
        cols, groups = master.slacks.get(o.id, (np.array([], int), np.array([], int)))
        per_group = np.zeros(len(o.realise))
        if sol.has_solution and len(cols):
            per_group[groups] = sol.x[cols]
        shortfalls[o.id] = per_group
    for r in inst.regles:
        cols, units_r = master.slacks.get(r.id, (np.array([], int), np.array([], int)))
        per_unit = np.zeros(inst.n_logements)
        if sol.has_solution and len(cols):
            per_unit[units_r] = sol.x[cols]
        shortfalls[r.id] = per_unit
    value = sol.value
    if sol.has_solution and inst.k > 1:
        added = _fill_alternates(inst, v, titular, alternates)
        if added:  # the proposal only gained: value it again, with its exact shortfalls
            value, shortfalls = _evaluate(inst, v, titular, alternates)
            gap = abs(bound - value) / max(abs(bound), 1e-9) if np.isfinite(bound) else gap
            log.append(f"{added} place(s) de suppléant vide(s) complétée(s) par les meilleurs ménages non proposés")
    return Resultat(
        titular, [np.array(a, dtype=int) for a in alternates], status if sol.has_solution else sol.status,
        value, bound, gap, shortfalls, int(master.in_model.sum()), len(v), rounds, seconds, log,
    )


def _fill_alternates(inst: Instance, v: np.ndarray, titular: np.ndarray, alternates: list[list[int]]) -> int:
    """Fill the empty alternate places of units with a titular, with the best households proposed nowhere.

    A proposal stopped within the target gap may leave a few such places empty although eligible
    households are free; the CAL must examine three candidates. An alternate only adds value and
    enters no objective row (a per-unit rule can only gain), so the proposal stays valid and better.
    """
    short = [u for u in range(inst.n_logements) if titular[u] >= 0 and len(alternates[u]) < inst.k - 1]
    if not short:
        return 0
    taken = np.zeros(len(inst.score), dtype=bool)
    taken[titular[titular >= 0]] = True
    for a in alternates:
        taken[a] = True
    added = 0
    for u in short:  # a handful of units; vectors inside
        lo, hi = int(inst.debut[u]), int(inst.debut[u + 1])
        apps = inst.demande[lo:hi]
        free = np.flatnonzero(~taken[apps])
        best = free[np.argsort(-v[lo:hi][free], kind="stable")][: inst.k - 1 - len(alternates[u])]
        if not len(best):
            continue
        taken[apps[best]] = True
        added += len(best)
        chosen = alternates[u] + apps[best].tolist()
        position = _pair_positions(inst, np.full(len(chosen), u), np.asarray(chosen))
        alternates[u] = [chosen[i] for i in np.argsort(-v[position], kind="stable")]
    return added


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
    value, shortfalls = _evaluate(inst, v, titular, alternates)
    return Resultat(titular, alternates, "glouton", value, float("nan"), float("nan"), shortfalls, 0,
                    len(v), 0, time.perf_counter() - start)


def _objective_value(inst: Instance, v: np.ndarray, titular: np.ndarray, alternates) -> float:
    """The model's objective for a given proposal (the greedy's, and checks), as vectors."""
    total, _shortfalls = _evaluate(inst, v, titular, alternates)
    return total


def _pair_positions(inst: Instance, units: np.ndarray, apps: np.ndarray) -> np.ndarray:
    """Position of the eligible pair (unit, application) for each given couple.

    A binary search in the unit's own range, where pairs are sorted by application (as eligibility
    builds them); a scan of that range where they are not.
    """
    units, apps = np.asarray(units, dtype=np.int64), np.asarray(apps, dtype=np.int64)
    pos = [int(inst.debut[u]) + int(np.searchsorted(inst.demande[inst.debut[u]:inst.debut[u + 1]], x))
           for u, x in zip(units.tolist(), apps.tolist(), strict=True)]
    pos = np.minimum(np.asarray(pos, dtype=np.int64), max(len(inst.demande) - 1, 0))
    wrong = (inst.demande[pos] != apps) | (pos >= inst.debut[units + 1]) if len(pos) else np.zeros(0, bool)
    for i in np.flatnonzero(wrong):
        lo, hi = int(inst.debut[units[i]]), int(inst.debut[units[i] + 1])
        pos[i] = lo + int(np.flatnonzero(inst.demande[lo:hi] == apps[i])[0])
    return pos


def _evaluate(inst: Instance, v: np.ndarray, titular: np.ndarray, alternates) -> tuple[float, dict[str, np.ndarray]]:
    """A proposal's objective value and its shortfall per objective group and per rule unit."""
    def value_of(units: np.ndarray, apps: np.ndarray) -> np.ndarray:
        return v[_pair_positions(inst, units, apps)]

    has_t = titular >= 0
    units_t = np.flatnonzero(has_t)
    alt_units = np.repeat(np.arange(inst.n_logements), [len(a) for a in alternates])
    alt_apps = np.concatenate([np.asarray(a, dtype=np.int64) for a in alternates] or [np.zeros(0, np.int64)])
    total = float(np.sum(inst.poids[0] * value_of(units_t, titular[units_t]) + bonus_titulaire(inst)))
    total += float(np.sum(inst.poids[1] * value_of(alt_units, alt_apps)))
    shortfalls = {}
    for o in inst.objectifs:
        counted = has_t & (o.groupe >= 0)
        attributions = np.bincount(o.groupe[counted], minlength=len(o.realise))
        public = np.bincount(o.groupe[counted], weights=o.public[titular[counted]], minlength=len(o.realise))
        lhs = public - o.cible * attributions
        need = o.cible * o.realise[:, 0] - o.realise[:, 1]
        shortfalls[o.id] = np.maximum(need - lhs, 0.0)
        if not o.dure:
            total -= o.penalite * float(shortfalls[o.id].sum())
    unit = inst.unite if inst.regles else None
    for r in inst.regles:
        available = np.bincount(unit[r.public[inst.demande]], minlength=inst.n_logements)
        need = np.where(r.logements, np.minimum(r.minimum, available), 0)
        have = np.bincount(units_t, weights=r.public[titular[units_t]], minlength=inst.n_logements)
        have += np.bincount(alt_units, weights=r.public[alt_apps], minlength=inst.n_logements)
        shortfalls[r.id] = np.maximum(need - have, 0).astype(float)
        if not r.dure:
            total -= r.penalite * float(shortfalls[r.id].sum())
    return total, shortfalls
