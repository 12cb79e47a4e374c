"""The optimizer against exhaustive enumeration on small random batches, and its invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import borne
from matching.borne import appariement
from matching.optimiseur import Instance, Objectif, Regle, _objective_value, glouton, resoudre, valeurs


@st.composite
def instances(draw, hard: bool | None = None):
    n_units = draw(st.integers(1, 3))
    n_apps = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    eligible = draw(st.lists(st.lists(st.booleans(), min_size=n_apps, max_size=n_apps),
                             min_size=n_units, max_size=n_units))
    debut = np.r_[0, np.cumsum([sum(row) for row in eligible])].astype(np.int64)
    demande = np.array([a for row in eligible for a, ok in enumerate(row) if ok], dtype=np.int64)
    score = np.array(draw(st.lists(st.integers(-10, 60), min_size=n_apps, max_size=n_apps)), dtype=float)
    ordre = np.array(draw(st.permutations(list(range(n_apps)))))
    objectifs = []
    for i in range(draw(st.integers(0, 2))):
        dure = draw(st.booleans()) if hard is None else hard
        public = np.array(draw(st.lists(st.booleans(), min_size=n_apps, max_size=n_apps)))
        groupe = np.array(draw(st.lists(st.integers(-1, 1), min_size=n_units, max_size=n_units)))
        realise = np.array([[draw(st.integers(0, 4)), 0] for _ in range(2)], dtype=float)
        realise[:, 1] = [draw(st.integers(0, int(x))) for x in realise[:, 0]]
        objectifs.append(Objectif(f"o{i}", public, groupe, draw(st.sampled_from([0.25, 0.5])), dure, 100.0, realise))
    regles = []
    if draw(st.booleans()):
        regles.append(Regle("r", np.array(draw(st.lists(st.booleans(), min_size=n_apps, max_size=n_apps))),
                            np.array(draw(st.lists(st.booleans(), min_size=n_units, max_size=n_units))),
                            draw(st.integers(1, 2)), False, 40.0))
    return Instance(debut, demande, score, ordre, tuple(objectifs), tuple(regles), k=k, poids=(1.0, 0.5),
                    limite_temps_s=10, largeur=draw(st.integers(1, 3)), une_fois=draw(st.booleans()))


def feasible(inst: Instance, titular, alternates) -> bool:
    for o in inst.objectifs:
        if not o.dure:
            continue
        for g in range(len(o.realise)):
            units = np.flatnonzero((o.groupe == g) & (titular >= 0))
            lhs = o.public[titular[units]].sum() - o.cible * len(units)
            if lhs < o.cible * o.realise[g, 0] - o.realise[g, 1] - 1e-9:
                return False
    return True


def brute_force(inst: Instance) -> float:
    """Best objective over every proposal: titular or none, then alternates, disjoint households."""
    v = valeurs(inst)
    options = []
    for u in range(inst.n_logements):
        apps = [int(a) for a in inst.demande[inst.debut[u]:inst.debut[u + 1]]]
        unit_options = [(-1, ())]
        for t in apps:
            rest = [a for a in apps if a != t]
            for size in range(min(inst.k - 1, len(rest)) + 1):
                unit_options += [(t, alt) for alt in itertools.combinations(rest, size)]
        options.append(unit_options)
    best = -math.inf
    for combo in itertools.product(*options):
        if inst.une_fois:
            used = [a for t, alt in combo for a in ([t] if t >= 0 else []) + list(alt)]
        else:
            used = [t for t, _ in combo if t >= 0]
        if len(used) != len(set(used)):
            continue
        titular = np.array([t for t, _ in combo])
        alternates = [np.array(sorted(alt, key=lambda a: -v[np.flatnonzero(inst.demande == a)[0]])) for _, alt in combo]
        if feasible(inst, titular, alternates):
            best = max(best, _objective_value(inst, v, titular, alternates))
    return best


@settings(max_examples=80, deadline=None)
@given(instances())
def test_optimum_equals_exhaustive_enumeration(inst):
    result = resoudre(inst)
    expected = brute_force(inst)
    if expected == -math.inf:
        assert result.statut == "infaisable"
        return
    assert result.statut == "optimal"
    assert math.isclose(result.objectif, expected, rel_tol=1e-9, abs_tol=1e-6)
    # the reported objective is the objective of the reported proposal
    v = valeurs(inst)
    assert math.isclose(_objective_value(inst, v, result.titulaire, result.suppleants), expected, abs_tol=1e-6)
    assert result.borne >= result.objectif - 1e-6  # the LP bound over all pairs


@settings(max_examples=60, deadline=None)
@given(instances())
def test_every_proposal_is_eligible_and_no_household_twice(inst):
    result = resoudre(inst)
    if result.statut == "infaisable":
        return
    proposed = []
    for u in range(inst.n_logements):
        eligible = set(inst.demande[inst.debut[u]:inst.debut[u + 1]].tolist())
        chosen = ([int(result.titulaire[u])] if result.titulaire[u] >= 0 else []) + result.suppleants[u].tolist()
        assert set(chosen) <= eligible
        assert len(chosen) <= inst.k
        assert result.titulaire[u] >= 0 or not len(result.suppleants[u])
        proposed += chosen if inst.une_fois else chosen[:1]
    assert len(proposed) == len(set(proposed))
    assert feasible(inst, result.titulaire, result.suppleants)


@settings(max_examples=30, deadline=None)
@given(instances())
def test_same_input_same_output(inst):
    a, b = resoudre(inst), resoudre(inst)
    assert a.titulaire.tolist() == b.titulaire.tolist()
    assert [x.tolist() for x in a.suppleants] == [x.tolist() for x in b.suppleants]


@settings(max_examples=40, deadline=None)
@given(instances(hard=False))
def test_never_worse_than_the_greedy_practice(inst):
    assert resoudre(inst).objectif >= glouton(inst).objectif - 1e-6


@settings(max_examples=40, deadline=None)
@given(instances(hard=False))
def test_out_of_time_still_gives_a_valid_proposal_and_a_true_gap(inst):
    """With no time at all, every unit still gets eligible candidates, and the gap is honest."""
    import dataclasses

    result = resoudre(dataclasses.replace(inst, limite_temps_s=1e-9))
    assert result.statut in {"optimal", "realisable", "temps_depasse"}
    proposed = []
    for u in range(inst.n_logements):
        eligible = set(inst.demande[inst.debut[u]:inst.debut[u + 1]].tolist())
        chosen = ([int(result.titulaire[u])] if result.titulaire[u] >= 0 else []) + list(result.suppleants[u])
        assert set(chosen) <= eligible
        proposed += chosen if inst.une_fois else chosen[:1]
    assert len(proposed) == len(set(proposed))
    assert (result.titulaire >= 0).any() or not len(inst.demande)  # the CAL is never left empty-handed
    best = brute_force(inst)
    assert result.objectif <= best + 1e-6  # the proposal is real...
    assert result.borne >= best - 1e-6  # ...and the bound is a bound


def test_a_batch_without_units_or_without_eligible_pairs_is_solved_empty():
    score, ordre = np.array([3.0, 1.0]), np.array([0, 1])
    q1 = Objectif("q1", np.array([True, False]), np.zeros(2, dtype=int), 0.25, False, 10.0, np.zeros((1, 2)))
    for debut, objectifs in [(np.zeros(1, dtype=np.int64), ()), (np.zeros(3, dtype=np.int64), ()),
                             (np.zeros(3, dtype=np.int64), (q1,))]:
        inst = Instance(debut=debut, demande=np.zeros(0, dtype=np.int32), score=score, ordre=ordre,
                        objectifs=objectifs)
        r = resoudre(inst)
        assert r.statut == "optimal" and (r.titulaire == -1).all() and r.paires == 0
        assert all(len(s) == 0 for s in r.suppleants)


def random_batch(seed: int, n_units: int, n_apps: int, **options) -> Instance:
    """A batch where each household is eligible to half the units at random, scores 0–199."""
    rng = np.random.default_rng(seed)
    eligible = rng.random((n_units, n_apps)) < 0.5
    debut = np.r_[0, np.cumsum(eligible.sum(axis=1))].astype(np.int64)
    demande = np.concatenate([np.flatnonzero(row) for row in eligible]).astype(np.int32)
    score = rng.integers(0, 200, n_apps).astype(float)
    return Instance(debut=debut, demande=demande, score=score,
                    ordre=np.argsort(np.argsort(-score, kind="stable")), **options)


def test_an_lp_cut_by_the_time_limit_leaves_a_dive_from_the_last_optimal_lp(monkeypatch):
    from matching import optimiseur

    n_units = 40
    inst = random_batch(5, n_units, 3000, largeur=3)
    calls = []
    solve_lp = optimiseur._Master.solve_lp

    def cut_second_round(self, limite):
        calls.append(limite)
        return solve_lp(self, 1e-9 if len(calls) == 2 else limite)

    monkeypatch.setattr(optimiseur._Master, "solve_lp", cut_second_round)
    r = resoudre(inst)
    assert len(calls) == 2 and r.statut == "temps_depasse"
    assert "limite de temps atteinte pendant le programme linéaire" in r.journal
    assert not any("gloutonne" in line for line in r.journal)  # the model's own proposal, not the greedy's
    proposed = [int(t) for t in r.titulaire if t >= 0] + [int(a) for s in r.suppleants for a in s]
    assert len(proposed) == len(set(proposed)) == 3 * n_units
    assert np.isfinite(r.borne) and r.borne >= r.objectif - 1e-6 and r.ecart == (r.borne - r.objectif) / r.borne


def test_empty_alternate_places_are_filled_with_the_best_households_proposed_nowhere():
    from matching.optimiseur import _fill_alternates

    # unit 0: households 0..4 eligible; unit 1: 2..5; unit 2: 0..1 (no titular: left alone)
    debut = np.array([0, 5, 9, 11])
    demande = np.array([0, 1, 2, 3, 4, 2, 3, 4, 5, 0, 1], dtype=np.int32)
    score = np.array([50.0, 40.0, 30.0, 20.0, 10.0, 5.0])
    inst = Instance(debut=debut, demande=demande, score=score, ordre=np.arange(6))
    v = valeurs(inst)
    titular, alternates = np.array([1, 3, -1]), [[4], [], []]
    assert _fill_alternates(inst, v, titular, alternates) == 3
    # unit 0 takes the best free household (0) and keeps its alternates best first; unit 1 gets 2 then 5
    assert alternates == [[0, 4], [2, 5], []]
    assert _fill_alternates(inst, v, titular, alternates) == 0


def test_when_households_may_repeat_the_best_one_is_an_alternate_everywhere_else():
    # 6 units, every household eligible everywhere; household 0 far ahead. With une_fois off it is
    # titular of one unit and an alternate of all the others, under a bound that allows for it.
    n_units, n_apps = 6, 40
    debut = np.arange(n_units + 1, dtype=np.int64) * n_apps
    demande = np.tile(np.arange(n_apps, dtype=np.int32), n_units)
    score = np.r_[1000.0, np.linspace(10, 1, n_apps - 1)]
    inst = Instance(debut=debut, demande=demande, score=score, ordre=np.arange(n_apps), largeur=1, une_fois=False)
    titular = np.arange(1, n_units + 1)
    titular[0] = 0
    alternates = [[n_units + 2 * u, n_units + 2 * u + 1] if u == 0 else [0, n_units + 2 * u] for u in range(n_units)]
    known = _objective_value(inst, valeurs(inst), titular, alternates)
    r = resoudre(inst)
    assert r.objectif >= known - 1e-6 and r.borne >= r.objectif - 1e-6
    assert sum(0 in s for s in r.suppleants) == n_units - 1  # the best household, alternate everywhere else


def _lagrangian_after_lp(inst: Instance, support_seed: int) -> tuple[float, float, float]:
    """LP value, matching bound and Lagrangian bound after one LP on a random part of the pairs."""
    from matching.optimiseur import _lagrangian_bound, _Master

    v, unit = valeurs(inst), inst.unite
    master = _Master(inst, v, unit)
    rng = np.random.default_rng(support_seed)
    master.add(np.flatnonzero(rng.random(len(v)) < 0.5))
    value = master.solve_lp(10.0)
    rc = master.price_all()
    outside = np.flatnonzero(rc.above(0.0) & ~master.in_model)
    gain, _ = appariement(inst.k, inst.une_fois, inst.demande, unit, inst.n_logements, outside, rc.at(outside))
    return value, value + gain, _lagrangian_bound(master, rc, float("inf"), [])


@settings(max_examples=80, deadline=None)
@given(instances(hard=False), st.integers(0, 3), st.sampled_from([borne.KEEP, math.inf]))
def test_the_lagrangian_bound_is_a_bound_over_all_pairs(inst, support_seed, keep):
    """Whatever part of the pairs the LP and the first flow saw, no proposal is worth more.

    With `keep` infinite the first flow sees only the model's pairs: the pairs left out, priced
    against its potentials, carry the rest of the bound.
    """
    import dataclasses
    from unittest.mock import patch

    inst = dataclasses.replace(inst, k=max(inst.k, 2), une_fois=True)
    with patch.object(borne, "KEEP", keep):
        _value, _matching, lagrangian = _lagrangian_after_lp(inst, support_seed)
    assert lagrangian >= brute_force(inst) - 1e-6


def test_the_lagrangian_bound_lets_a_unit_trade_the_households_the_lp_holds_for_better_ones():
    # one unit, K = 2; the LP saw only the two weakest households. The matching bound adds the best
    # one on top of them; the Lagrangian bound (no side rows here) is the optimum itself.
    inst = Instance(debut=np.array([0, 3]), demande=np.array([0, 1, 2], dtype=np.int32),
                    score=np.array([30.0, 20.0, 10.0]), ordre=np.arange(3), k=2)
    from matching.optimiseur import _lagrangian_bound, _Master

    v, unit = valeurs(inst), inst.unite
    master = _Master(inst, v, unit)
    master.add(np.array([1, 2]))
    value = master.solve_lp(10.0)
    rc = master.price_all()
    outside = np.flatnonzero(rc.above(0.0) & ~master.in_model)
    gain, matched = appariement(2, True, inst.demande, unit, 1, outside, rc.at(outside))
    lagrangian = _lagrangian_bound(master, rc, float("inf"), [])
    optimum = brute_force(inst)
    assert matched.tolist() == [0] and value + gain > optimum + 1.0
    assert optimum - 1e-9 <= lagrangian <= optimum + 1e-5  # micro-units rounded up, one margin per arc


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_slot_potentials_are_an_optimal_dual_of_the_b_matching(data):
    """π from the least fixpoint and μ = max(G − π)⁺ price the b-matching at exactly its optimum."""
    from matching.borne import _slot_potentials, b_matching

    n_slots = data.draw(st.integers(1, 5))
    n_apps = data.draw(st.integers(1, 8))
    arcs = data.draw(st.lists(st.tuples(st.integers(0, n_slots - 1), st.integers(0, n_apps - 1)),
                              min_size=1, max_size=25, unique=True))
    slot = np.array([s for s, _ in arcs], dtype=np.int64)
    app = np.array([a for _, a in arcs], dtype=np.int64)
    gain = np.array(data.draw(st.lists(st.integers(1, 50), min_size=len(arcs), max_size=len(arcs))), dtype=np.int64)
    capacity = np.array(data.draw(st.lists(st.integers(1, 3), min_size=n_slots, max_size=n_slots)), dtype=np.int64)
    value, used = b_matching(slot, app, gain, capacity)
    assert gain[used].sum() == value
    pi = _slot_potentials(slot, app, gain, used, n_slots, float("inf"))
    mu = np.zeros(n_apps, dtype=np.int64)
    np.maximum.at(mu, app, gain - pi[slot])
    assert (pi >= 0).all() and (pi[slot] + mu[app] >= gain).all()
    assert int(capacity @ pi) + int(mu.sum()) == value


def test_pricing_stopped_for_lack_of_time_ends_with_the_lagrangian_bound(monkeypatch):
    from matching import optimiseur

    n_units, n_apps = 30, 2000
    q1 = Objectif("q1", np.random.default_rng(8).random(n_apps) < 0.2, np.zeros(n_units, dtype=int), 0.25, False,
                  300.0, np.array([[40.0, 5.0]]))
    inst = random_batch(7, n_units, n_apps, objectifs=(q1,), largeur=2)
    optimum = resoudre(inst)
    assert optimum.statut == "optimal"
    monkeypatch.setattr(optimiseur, "PRICING_SHARE", 0.0)  # every round is "late": one round only
    r = resoudre(inst)
    assert r.tours == 1 and any(line.startswith("borne lagrangienne") for line in r.journal)
    first_round = float(r.journal[0].split("borne ")[1].split(",")[0])  # the matching bound of the round
    assert optimum.objectif - 1e-6 <= r.borne < first_round
    assert r.objectif <= optimum.objectif + 1e-6


def shuffled(inst: Instance, seed: int) -> tuple[Instance, np.ndarray, np.ndarray]:
    """The same batch with units, applications and the pairs inside each unit in another order.

    Returns it with `units` (new unit -> given one) and `apps` (given application -> new number).
    """
    import dataclasses

    rng = np.random.default_rng(seed)
    units, apps = rng.permutation(inst.n_logements), rng.permutation(len(inst.score))
    old = np.argsort(apps)  # new number -> given application
    ranges = [rng.permutation(np.arange(inst.debut[u], inst.debut[u + 1])) for u in units]
    positions = np.concatenate(ranges).astype(np.int64) if ranges else np.zeros(0, np.int64)
    debut = np.r_[0, np.cumsum([len(r) for r in ranges])].astype(np.int64)
    moved = dataclasses.replace(
        inst, debut=debut, demande=apps[inst.demande[positions]], score=inst.score[old], ordre=inst.ordre[old],
        objectifs=tuple(dataclasses.replace(o, public=o.public[old], groupe=o.groupe[units]) for o in inst.objectifs),
        regles=tuple(dataclasses.replace(r, public=r.public[old], logements=r.logements[units]) for r in inst.regles),
        cle_logement=units.copy(),
    )
    return moved, units, apps


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(0, 1000))
def test_the_order_of_the_tables_does_not_change_the_proposal(inst, seed):
    """Units keyed by `cle_logement` and applications by `ordre`: any input order, the same answer, bit for bit."""
    moved, units, apps = shuffled(inst, seed)
    a, b = resoudre(inst), resoudre(moved)
    assert b.statut == a.statut and b.objectif == a.objectif and b.borne == a.borne

    def given_numbers(x: np.ndarray) -> list[int]:
        return [int(apps[v]) if v >= 0 else -1 for v in np.atleast_1d(x)]

    assert [int(t) for t in b.titulaire] == given_numbers(a.titulaire[units])
    assert [s.tolist() for s in b.suppleants] == [given_numbers(a.suppleants[u]) if len(a.suppleants[u]) else []
                                                  for u in units]
    for r in inst.regles:
        assert b.manques[r.id].tolist() == a.manques[r.id][units].tolist()


@settings(max_examples=80, deadline=None)
@given(instances(hard=False), st.sampled_from([1e-3, 1e-2, 5e-2]))
def test_a_proposal_stopped_at_the_target_gap_is_within_it(inst, target):
    """With time to spare, `ecart_cible` is met (or optimality proven, where the LP bound stays above).

    Pricing may stop once the LP is near the target; the dive or the MIP after it must not lose it.
    """
    import dataclasses

    result = resoudre(dataclasses.replace(inst, ecart_cible=target))
    assert result.statut == "optimal" or (result.statut == "realisable" and result.ecart <= target + 1e-9)
    assert result.objectif >= brute_force(inst) - target * abs(result.borne) - 1e-6
