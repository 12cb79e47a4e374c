"""Scoring speed at territory scale: 1,000,000 generated applications with the example grid.

Measures the vectorized engine (compile once, evaluate: derived quantities, every criterion,
exclusive groups, totals and the full rank) with file I/O excluded, its peak extra memory, and,
as the reference in the same run, the same grid evaluated row by row in plain Python
(`cotation.reference`) on a sample. Prints a table and writes benchmarks/results/cotation_1m.json.

    python -m benchmarks.cotation_1m            # 1,000,000 applications
    python -m benchmarks.cotation_1m --quick    # 100,000 applications
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks import ecrire_resultats
from cotation.moteur import compiler, evaluer
from cotation.reference import evaluer_lignes
from cotation.table import demandes_depuis_table
from rules.chargement import charger_grille
from rules.parametres import Parametres
from simulation.territoire import generer_demandes

GRILLE = Path(__file__).resolve().parent.parent / "rules" / "grilles" / "exemple_complet.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "cotation_1m.json"
JOUR = date(2026, 3, 1)
TARGETS = {"secondes_1m": 1.0, "acceleration_min": 100.0, "memoire_max_gio": 2.0}


def mesurer(n: int, echantillon: int, repetitions: int, graine: int = 7) -> dict:
    params = Parametres.charger()
    t0 = time.perf_counter()
    table = generer_demandes(n, graine, JOUR)
    generation = time.perf_counter() - t0
    grid = compiler(charger_grille(GRILLE))

    evaluer(grid, table.head(1000), JOUR, params)  # warm-up: imports, parameter caches
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        cot = evaluer(grid, table, JOUR, params)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    evaluer(grid, table, JOUR, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rows = np.random.default_rng(graine).choice(n, size=min(echantillon, n), replace=False)
    records = demandes_depuis_table(table.iloc[np.sort(rows)])
    start = time.perf_counter()
    reference = evaluer_lignes(grid.grille, records, JOUR, params)
    row_time = time.perf_counter() - start
    same = np.allclose(reference, cot.score[np.sort(rows)], rtol=0, atol=1e-9)

    median = statistics.median(times)
    vector_rate = n / median
    row_rate = len(records) / row_time
    return {
        "applications": n,
        "criteres": len(grid.noyaux),
        "generation_s": round(generation, 3),
        "cotation_s_mediane": round(median, 4),
        "cotation_s_toutes": [round(t, 4) for t in times],
        "lignes_par_seconde": round(vector_rate),
        "memoire_pic_gio": round(peak / 2**30, 3),
        "rss_max_processus_gio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "reference_ligne_a_ligne": {
            "echantillon": len(records),
            "secondes": round(row_time, 3),
            "lignes_par_seconde": round(row_rate),
            "memes_scores": bool(same),
        },
        "acceleration": round(vector_rate / row_rate, 1),
        "secondes_pour_1m_estimees": round(median * 1_000_000 / n, 3),
    }


def tableau(r: dict) -> str:
    ref = r["reference_ligne_a_ligne"]
    lines = [
        f"Cotation de {r['applications']:,} demandes".replace(",", " ")
        + f", grille d'exemple ({r['criteres']} critères), au {JOUR}",
        f"{'mesure':<44}{'valeur':>16}{'cible':>14}",
        f"{'temps de cotation (médiane)':<44}{r['cotation_s_mediane']:>15.3f}s{'< 1 s / 1M':>14}",
        f"{'demandes par seconde (vectorisé)':<44}{r['lignes_par_seconde']:>16,}".replace(",", " "),
        f"{'demandes par seconde (ligne à ligne)':<44}{ref['lignes_par_seconde']:>16,}".replace(",", " "),
        f"{'accélération vectorisé / ligne à ligne':<44}{r['acceleration']:>15.0f}x{'≥ 100x':>14}",
        f"{'pic mémoire de la cotation':<44}{r['memoire_pic_gio']:>12.2f} Gio{'< 2 Gio':>14}",
        f"{'mémoire max du processus (table comprise)':<44}{r['rss_max_processus_gio']:>12.2f} Gio",
        f"{'scores identiques sur l échantillon':<44}{'oui' if ref['memes_scores'] else 'NON':>16}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args_parser.add_argument("--quick", action="store_true", help="100 000 demandes au lieu d'un million")
    args = args_parser.parse_args(argv)
    n, sample, reps = (100_000, 2_000, 3) if args.quick else (1_000_000, 10_000, 5)
    r = mesurer(n, sample, reps)
    r["cibles"] = TARGETS
    r["atteint"] = {
        "secondes_1m": r["secondes_pour_1m_estimees"] < TARGETS["secondes_1m"],
        "acceleration_min": r["acceleration"] >= TARGETS["acceleration_min"],
        "memoire_max_gio": r["memoire_pic_gio"] < TARGETS["memoire_max_gio"],
    }
    r["machine"] = {"python": platform.python_version(), "processeur": platform.machine(),
                    "coeurs": __import__("os").cpu_count()}
    r["mode"] = "rapide" if args.quick else "complet"
    print(tableau(r))
    ecrire_resultats(r, RESULTS if not args.quick else RESULTS.with_name("cotation_1m_rapide.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
