"""A simulated year at scale: time per replica, and the speed-up of parallel replicas.

Territory: 50,000 applications at the start, 5,000 units falling vacant in the year, 12 monthly
CALs matched by the optimizer under the default policy (example grid), as in `cotation simule`
(20 s and a 0.1 % proven gap per CAL). Measures one replica alone, then N replicas on this
machine's cores (processes), and extrapolates 100 replicas. Prints a table and writes
benchmarks/results/simulation.json.

    python -m benchmarks.simulation             # 1 replica, then 2 × cores replicas in parallel
    python -m benchmarks.simulation --quick     # 10,000 applications, 1,000 units, 3 months
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from benchmarks import ecrire_resultats
from rules.chargement import charger_grille
from rules.politique import charger_politique
from simulation.annee import Bras, Scenario
from simulation.monte_carlo import lancer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "simulation.json"
TARGETS = {"une_replique_s": 60.0, "cent_repliques_s": 3600.0}


def scenario(demandes: int, logements: int, mois: int) -> Scenario:
    grid = charger_grille(ROOT / "rules" / "grilles" / "exemple_complet.yaml")
    # PLAI 2026 ceilings are not in the tables: those units are set aside
    policy = charger_politique("defaut").avec_plafond_inconnu("ecarter_logement")
    return Scenario(bras=(Bras("optimiseur", grid, policy, "optimiseur"),), demandes=demandes,
                    logements_par_an=logements, mois=mois, limite_temps_s=20.0, ecart_cible=1e-3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    demandes, logements, mois = (10_000, 1_000, 3) if args.quick else (50_000, 5_000, 12)
    sc = scenario(demandes, logements, mois)
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    [one] = lancer(sc, 1, graine=0, processus=1, progression=False)
    single = time.perf_counter() - start
    n = 2 * cores
    start = time.perf_counter()
    lancer(sc, n, graine=1, processus=cores, progression=False)
    parallel = time.perf_counter() - start
    arm = one["bras"]["optimiseur"]
    solver = [m["optimiseur"]["secondes"] for m in arm["mois"]]
    row = {
        "demandes": demandes, "logements_par_an": logements, "cal": mois, "coeurs": cores,
        "une_replique_s": round(single, 1), "dont_optimiseur_s": round(sum(solver), 1),
        "cal_la_plus_longue_s": round(max(solver), 1),
        "repliques_paralleles": n, "paralleles_s": round(parallel, 1),
        "par_replique_en_parallele_s": round(parallel / n, 1),
        "acceleration": round(single * n / parallel, 2),
        "cent_repliques_estime_s": round(100 * parallel / n),
        "baux": arm["annee"]["menages_loges"],
        "q1_hors_qpv": next((o["part"] for o in arm["annee"]["objectifs"] if o["id"] == "q1_hors_qpv"), None),
        "rss_max_gio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    print(f"{'territoire':>22} {'CAL':>4} {'1 réplique s':>13} {'dont optim. s':>14} {'N en parallèle s':>17} "
          f"{'accélération':>13} {'100 répliques (est.) s':>23}")
    print(f"{demandes:>9} dem. {logements:>6} lgt {mois:>4} {row['une_replique_s']:>13.1f} "
          f"{row['dont_optimiseur_s']:>14.1f} {row['paralleles_s']:>11.1f} ({n:>2}) {row['acceleration']:>13.2f} "
          f"{row['cent_repliques_estime_s']:>23}")
    out = {"mesure": row, "cibles": TARGETS, "mode": "rapide" if args.quick else "complet"}
    ecrire_resultats(out, RESULTS if not args.quick else RESULTS.with_name("simulation_rapide.json"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
