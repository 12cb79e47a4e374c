"""Upper bounds over all eligible pairs, from the duals of the restricted model.

Any proposal x is worth c·x ≤ y·b + Σ rc·x for duals y of the right signs, and the pairs of a
proposal obey the batch's structure (per unit one titular and K − 1 alternates, per household one
place): the largest Σ rc·x under that structure is a maximum-weight b-matching, solved exactly as
a min-cost flow (OR-Tools) in integer micro-units, gains rounded up so that a bound never
undercounts. Two bounds are built this way:

- `appariement`: the LP value plus the best b-matching of the pairs outside the model that
  price positive. Cheap; its matched pairs are the columns most worth adding.
- `lagrangienne`: only the objective and rule rows keep their LP duals; the structure's own duals
  are re-optimised over all pairs by a flow on the pairs that matter and the potentials of its
  optimum. Tighter: it lets a unit give up the households the LP holds for better ones, where the
  first bound only adds on top of them.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.graph.python import min_cost_flow

FLOW_SCALE = 1e6  # reduced costs in micro-units for the integral min-cost flows
BLOCK = 1 << 22  # pairs priced at once (bounds the temporaries)
KEEP = 1e-6  # pairs pricing above this join the first flow of the Lagrangian bound; the rest are priced after


def b_matching(slot: np.ndarray, app: np.ndarray, gain: np.ndarray, capacity: np.ndarray,
               per_household: int = 1) -> tuple[int, np.ndarray]:
    """Maximum-weight b-matching of arcs (slot, household) with integral gains > 0.

    `capacity[s]` places in slot s, `per_household` places per household. Returns the optimal
    total gain and which arcs it uses. Households are renumbered densely inside.
    """
    if not len(gain):
        return 0, np.zeros(0, dtype=bool)
    apps, app_node = np.unique(app, return_inverse=True)
    n_s, n_a = len(capacity), len(apps)
    source, sink = n_s + n_a, n_s + n_a + 1
    places = int(capacity.sum())
    tails = np.concatenate([np.full(n_s, source), slot, n_s + np.arange(n_a), [source]])
    heads = np.concatenate([np.arange(n_s), n_s + app_node, np.full(n_a, sink), [sink]])
    capacities = np.concatenate([capacity, np.ones(len(gain)), np.full(n_a, per_household), [places]])
    costs = np.concatenate([np.zeros(n_s), -gain, np.zeros(n_a + 1)])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                              capacities.astype(np.int64), costs.astype(np.int64))
    supplies = np.zeros(source + 2, dtype=np.int64)
    supplies[source], supplies[sink] = places, -places
    flow.set_nodes_supplies(np.arange(source + 2, dtype=np.int32), supplies)
    if flow.solve() != flow.OPTIMAL:  # cannot happen (the bypass arc makes it feasible): a weaker bound
        return int(np.sort(gain)[::-1][:places].sum()), np.zeros(len(gain), dtype=bool)
    return -int(flow.optimal_cost()), flow.flows(np.arange(n_s, n_s + len(gain))) > 0


def micro(values: np.ndarray) -> np.ndarray:
    """Values in integral micro-units, rounded up (a bound built on them never undercounts)."""
    return np.ceil(values * FLOW_SCALE).astype(np.int64)


def appariement(k: int, une_fois: bool, demande: np.ndarray, unit: np.ndarray, n_units: int,
                pos: np.ndarray, rc: np.ndarray) -> tuple[float, np.ndarray]:
    """What the pairs outside the model could add to the LP value, and the pairs doing it.

    `pos` are the pairs outside the model that price positive, `rc` their reduced costs.

    With the LP duals, c·x ≤ LP + Σ_{p outside} rc⁺_p·x_p (columns in the model have rc ≤ 0, or
    sit at their bound of 1 and are in the LP value). A proposal takes at most K pairs per unit
    and, when a household is proposed once, one pair per household (else one per unit): the best
    such Σ rc⁺·x is a b-matching. Far tighter than K times each unit's best reduced cost, since
    the best households price positive in many units at once.
    """
    per_household = 1 if une_fois else n_units  # else: an alternate in any number of units
    gain, used = b_matching(unit[pos], demande[pos], micro(rc), np.full(n_units, k), per_household)
    return gain / FLOW_SCALE, pos[used]


def lagrangienne(k: int, demande: np.ndarray, unit: np.ndarray, n_units: int, rc_t: np.ndarray,
                 rc_a: np.ndarray, in_model: np.ndarray, duals_t: np.ndarray, duals_a: np.ndarray,
                 duals_app: np.ndarray, constant: float, deadline: float) -> float:
    """A bound over all pairs where only the side rows (objectives, rules) keep their LP duals.

    g = rc + the structure's duals is each pair's value net of the side rows (titular: `duals_t`
    per unit, alternate: `duals_a`, and the household's `duals_app`); `constant` is Σ y·b over the
    side rows, their duals clipped to the signs that make c·x ≤ constant + Σ g·x hold for every
    proposal (the caller adds any clipping error to g). The best Σ g·x under the structure is a
    b-matching over all pairs, with a titular slot (one place) and an alternate slot (K − 1) per
    unit: it is solved on the pairs in the model or pricing positive, its optimum's potentials
    (π per slot, μ per household) are a dual of that flow, and the pairs left out are priced
    against them; what they could still add is a last b-matching. Households proposed once only.
    """
    slots_n = 2 * n_units
    capacity = np.r_[np.ones(n_units, dtype=np.int64), np.full(n_units, k - 1, dtype=np.int64)]
    kept = np.flatnonzero(in_model | (rc_t > KEEP) | (rc_a > KEEP))
    apps_kept, units_kept = demande[kept], unit[kept]
    gain_t = micro(rc_t[kept] + duals_t[units_kept] + duals_app[apps_kept])
    gain_a = micro(rc_a[kept] + duals_a[units_kept] + duals_app[apps_kept])
    arc_t, arc_a = gain_t > 0, gain_a > 0
    slot = np.concatenate([units_kept[arc_t], n_units + units_kept[arc_a]]).astype(np.int64)
    app = np.concatenate([apps_kept[arc_t], apps_kept[arc_a]]).astype(np.int64)
    gain = np.concatenate([gain_t[arc_t], gain_a[arc_a]])
    del gain_t, gain_a, apps_kept, units_kept
    _value, used = b_matching(slot, app, gain, capacity)
    pi = _slot_potentials(slot, app, gain, used, slots_n, deadline)
    mu = np.zeros(len(duals_app), dtype=np.int64)  # feasible for any π ≥ 0: μ_a = max(G − π)⁺
    np.maximum.at(mu, app, gain - pi[slot])
    dual = int(capacity @ pi) + int(mu.sum())
    # the pairs left out, against the potentials, by blocks (float; one micro-unit of margin per arc)
    shift_t = duals_t - pi[:n_units] / FLOW_SCALE
    shift_a = duals_a - pi[n_units:] / FLOW_SCALE
    shift_app = duals_app - mu / FLOW_SCALE
    is_kept = np.zeros(len(rc_t), dtype=bool)
    is_kept[kept] = True
    arcs = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))]
    for lo in range(0, len(rc_t), BLOCK):
        block = slice(lo, min(lo + BLOCK, len(rc_t)))
        units, apps, left = unit[block], demande[block], ~is_kept[block]
        for shift, rc, first in ((shift_t, rc_t, 0), (shift_a, rc_a, n_units)):
            value = rc[block] + shift[units] + shift_app[apps]
            out = np.flatnonzero(left & (value > -1.0 / FLOW_SCALE))
            arcs.append((first + units[out].astype(np.int64), apps[out].astype(np.int64), micro(value[out]) + 1))
    extra, _used = b_matching(*(np.concatenate(part) for part in zip(*arcs, strict=True)), capacity)
    return constant + (dual + extra) / FLOW_SCALE


def _slot_potentials(slot: np.ndarray, app: np.ndarray, gain: np.ndarray, used: np.ndarray, n_slots: int,
                     deadline: float) -> np.ndarray:
    """Smallest slot potentials π ≥ 0 complementary to an optimal b-matching (integers).

    A household matched in slot s costs μ = G_s − π_s; an arc (s', a) then needs
    π_s' ≥ π_s + G_s'a − G_sa, and an arc to an unmatched household π_s' ≥ G_s'a: the least
    fixpoint of these difference constraints (Bellman-Ford, vectorized over arcs) is a dual
    optimum. Stopped at the deadline it is still a valid dual once μ is taken as max(G − π)⁺,
    only a weaker one.
    """
    n_apps = int(app.max(initial=-1)) + 1
    owner = np.full(n_apps, -1, dtype=np.int64)
    owner_gain = np.zeros(n_apps, dtype=np.int64)
    owner[app[used]], owner_gain[app[used]] = slot[used], gain[used]
    pi = np.zeros(n_slots, dtype=np.int64)
    free = owner[app] < 0
    np.maximum.at(pi, slot[free], gain[free])
    edge = ~free & (owner[app] != slot)
    head = slot[edge]
    order = np.argsort(head, kind="stable")
    head, tail = head[order], owner[app[edge]][order]
    weight = (gain[edge] - owner_gain[app[edge]])[order]
    if not len(head):
        return pi
    starts = np.flatnonzero(np.r_[True, head[1:] != head[:-1]])
    heads = head[starts]
    for _ in range(n_slots):
        best = np.maximum.reduceat(pi[tail] + weight, starts)
        raised = best > pi[heads]
        if not raised.any() or time.perf_counter() > deadline:
            break
        pi[heads[raised]] = best[raised]
    return pi
