"""Proposals at scale: a ladder of generated batches, optimizer against today's greedy practice.

For each (units, applications) batch of a generated territory (PLAI units, whose 2026 ceilings
are not in rules/parametres, are financed PLUS here): eligibility time and eligible pairs,
optimizer time, status, objective, bound over all eligible pairs and proven gap, slots filled,
objectives attained, and the same for the greedy reference in the same run. Prints a table and
writes benchmarks/results/propositions.json.

    python -m benchmarks.propositions            # (200, 10 000), (1 000, 50 000), (3 000, 200 000)
    python -m benchmarks.propositions --quick    # (200, 10 000), (1 000, 50 000)
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks import ecrire_resultats
from benchmarks.cp_sat import cp_sat_top_k
from cotation.moteur import evaluer
from matching.eligibilite import candidats
from matching.optimiseur import Instance, Resultat, glouton, resoudre
from matching.propositions import construire_instance, options_eligibilite
from rules.chargement import charger_grille
from rules.politique import charger_politique
from simulation.territoire import generer_demandes, generer_logements

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "propositions.json"
CAL = date(2026, 3, 1)
TOP_K = 20  # pairs per unit given to CP-SAT, as in the measurement
TARGETS = {"1000x50000_s": 10.0, "3000x200000_s": 60.0, "ecart_max": 0.001, "memoire_gio": 4.0}


def filled(r: Resultat) -> int:
    return int((r.titulaire >= 0).sum()) + sum(len(s) for s in r.suppleants)


def attained(inst: Instance, r: Resultat) -> dict[str, float]:
    """Share of each objective over the batch's titulars (all groups together)."""
    out = {}
    for o in inst.objectifs:
        units = np.flatnonzero((o.groupe >= 0) & (r.titulaire >= 0))
        out[o.id] = float(o.public[r.titulaire[units]].mean()) if len(units) else float("nan")
    return out


def run(n_units: int, n_apps: int, limit: float, seed: int = 3) -> dict:
    demandes = generer_demandes(n_apps, seed, CAL)
    logements = generer_logements(n_units, seed, CAL)
    logements.loc[logements["financement"] == "PLAI", "financement"] = "PLUS"
    cot = evaluer(charger_grille(ROOT / "rules" / "grilles" / "exemple_complet.yaml"), demandes, CAL)
    policy = charger_politique("defaut")
    start = time.perf_counter()
    cand = candidats(logements, demandes, CAL, options_eligibilite(policy))
    eligibility = time.perf_counter() - start
    inst, _, _ = construire_instance(logements, demandes, cot, cand, policy, CAL)
    inst = Instance(**{**inst.__dict__, "limite_temps_s": limit})
    start = time.perf_counter()
    greedy = glouton(inst)
    greedy_s = time.perf_counter() - start
    result = resoudre(inst)
    cp = cp_sat_top_k(inst, TOP_K, limit)
    return {
        "logements": n_units, "demandes": n_apps, "paires_eligibles": int(len(cand.demande)),
        "eligibilite_s": round(eligibility, 2),
        "optimiseur": {
            "secondes": round(result.secondes, 2), "statut": result.statut, "objectif": result.objectif,
            "borne": result.borne, "ecart": result.ecart, "places": filled(result),
            "paires_dans_le_modele": result.support, "tours": result.tours, "objectifs": attained(inst, result),
        },
        "glouton": {
            "secondes": round(greedy_s, 2), "objectif": greedy.objectif, "places": filled(greedy),
            "ecart_a_la_borne": (result.borne - greedy.objectif) / abs(result.borne),
            "objectifs": attained(inst, greedy),
        },
        "cp_sat_top_k": {
            **{k: v for k, v in cp.items() if k != "titulaire"},
            "ecart_a_la_borne": None if cp["objectif"] is None else (result.borne - cp["objectif"]) / abs(result.borne),
            "objectifs": attained(inst, Resultat(cp["titulaire"], [], "", 0, 0, 0, {}, 0, 0, 0, 0)),
        },
        "rss_max_gio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def table(rows: list[dict]) -> str:
    head = (f"{'lot':>16} {'paires':>11} {'élig. s':>8} {'optim. s':>9} {'statut':>11} {'écart':>9} "
            f"{'places':>7} {'glouton':>8} {'écart glouton':>14} {'CP-SAT top-K':>13} {'écart CP-SAT':>13} "
            f"{'Q1 hors QPV':>12} {'mém. Gio':>9}")
    lines = [head]
    for r in rows:
        o, g, c = r["optimiseur"], r["glouton"], r["cp_sat_top_k"]
        c_gap = "—" if c["ecart_a_la_borne"] is None else f"{c['ecart_a_la_borne'] * 100:.3f}%"
        q1 = o["objectifs"].get("q1_hors_qpv", float("nan"))
        lines.append(
            f"{r['logements']:>6} × {r['demandes']:>7} {r['paires_eligibles']:>11} {r['eligibilite_s']:>8.1f} "
            f"{o['secondes']:>9.1f} {o['statut']:>11} {o['ecart'] * 100:>8.4f}% {o['places']:>7} {g['places']:>8} "
            f"{g['ecart_a_la_borne'] * 100:>13.3f}% {c['places']:>13} {c_gap:>13} {q1 * 100:>11.1f}% "
            f"{r['rss_max_gio']:>9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--limite", type=float, default=60.0, help="time limit per batch (s)")
    args = parser.parse_args(argv)
    ladder = [(200, 10_000), (1_000, 50_000)] + ([] if args.quick else [(3_000, 200_000)])
    rows = []
    for n_units, n_apps in ladder:
        rows.append(run(n_units, n_apps, args.limite))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    out = {"lots": rows, "cibles": TARGETS, "mode": "rapide" if args.quick else "complet"}
    ecrire_resultats(out, RESULTS if not args.quick else RESULTS.with_name("propositions_rapide.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
