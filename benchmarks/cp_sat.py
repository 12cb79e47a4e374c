"""The naive alternative the optimizer is measured against: CP-SAT on each unit's top-K pairs.

The same model as `matching.optimiseur` (titular and alternates, one proposal per household,
soft objectives and per-unit rules with their penalties), but only over each unit's K best
pairs by value, as a quick implementation would do. With global scores every unit's best pairs
are the same few households, which then crowd each other out: the point of the comparison.
Coefficients are scaled to integers (CP-SAT is an integer solver); the proposal found is
valued with the optimizer's own objective, so the figures compare directly.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from matching.optimiseur import Instance, _objective_value, bonus_titulaire, valeurs

ECHELLE = 1000  # points → integer costs
PART = 100  # shares in hundredths


def cp_sat_top_k(inst: Instance, paires_par_logement: int = 20, limite_s: float = 60.0) -> dict:
    """Solve on each unit's best pairs; the proposal's value, bound on that support, slots, time."""
    start = time.perf_counter()
    v = valeurs(inst)
    unit = inst.unite
    order = np.lexsort((-v, unit))
    first = np.r_[0, np.flatnonzero(np.diff(unit[order])) + 1]
    position = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    pairs = np.sort(order[position < paires_par_logement])
    pu, pa = unit[pairs], inst.demande[pairs]
    m = cp_model.CpModel()
    t = [m.new_bool_var(f"t{i}") for i in range(len(pairs))]
    a = [m.new_bool_var(f"a{i}") for i in range(len(pairs))]
    by_unit: dict[int, list[int]] = {}
    by_app: dict[int, list[int]] = {}
    for i, (u, j) in enumerate(zip(pu.tolist(), pa.tolist(), strict=True)):
        by_unit.setdefault(u, []).append(i)
        by_app.setdefault(j, []).append(i)
    for idx in by_unit.values():
        m.add(sum(t[i] for i in idx) <= 1)
        m.add(sum(a[i] for i in idx) <= (inst.k - 1) * sum(t[i] for i in idx))
    for idx in by_app.values():
        m.add(sum(t[i] + a[i] for i in idx) <= 1)
    bonus = bonus_titulaire(inst)
    terms = [int(round(ECHELLE * (inst.poids[0] * v[p] + bonus))) * t[i] for i, p in enumerate(pairs)]
    terms += [int(round(ECHELLE * inst.poids[1] * v[p])) * a[i] for i, p in enumerate(pairs)]
    for o in inst.objectifs:
        need = o.cible * o.realise[:, 0] - o.realise[:, 1]
        for g in range(len(o.realise)):
            idx = [i for i, u in enumerate(pu.tolist()) if o.groupe[u] == g]
            coef = [int(round(PART * ((1.0 if o.public[pa[i]] else 0.0) - o.cible))) for i in idx]
            lhs = sum(c * t[i] for c, i in zip(coef, idx, strict=True))
            rhs = int(np.ceil(PART * need[g]))
            if o.dure:
                m.add(lhs >= rhs)
            else:
                short = m.new_int_var(0, PART * max(len(idx), 1) + abs(rhs), f"manque_{o.id}_{g}")
                m.add(lhs + short >= rhs)
                terms.append(-int(round(ECHELLE * o.penalite / PART)) * short)
    for r in inst.regles:
        available = np.bincount(unit[r.public[inst.demande]], minlength=inst.n_logements)
        need = np.where(r.logements, np.minimum(r.minimum, available), 0)
        for u, idx in by_unit.items():
            if need[u] <= 0:
                continue
            lhs = sum(t[i] + a[i] for i in idx if r.public[pa[i]])
            if r.dure:
                m.add(lhs >= int(need[u]))
            else:
                short = m.new_int_var(0, int(need[u]), f"manque_{r.id}_{u}")
                m.add(lhs + short >= int(need[u]))
                terms.append(-int(round(ECHELLE * r.penalite)) * short)
    m.maximize(sum(terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(limite_s)
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = int(inst.graine)
    status = solver.solve(m)
    titular = np.full(inst.n_logements, -1)
    alternates: list[list[int]] = [[] for _ in range(inst.n_logements)]
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if found:
        for i in range(len(pairs)):
            if solver.value(t[i]):
                titular[pu[i]] = pa[i]
            elif solver.value(a[i]):
                alternates[pu[i]].append(int(pa[i]))
    value = _objective_value(inst, v, titular, [np.array(x, dtype=int) for x in alternates]) if found else None
    return {
        "paires_par_logement": paires_par_logement, "paires_dans_le_modele": len(pairs),
        "statut": solver.status_name(status), "secondes": round(time.perf_counter() - start, 2),
        "objectif": value, "places": int((titular >= 0).sum() + sum(len(x) for x in alternates)),
        "titulaire": titular,
    }
