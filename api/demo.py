"""The demo: a generated territory scored with the example grid, end to end, as a user would."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np

from cotation.explication import expliquer
from cotation.moteur import evaluer_grilles
from cotation.table import lire_demandes
from rules.chargement import charger_grille
from rules.publication import publier_html, publier_markdown
from simulation.territoire import ecrire_territoire

GRILLE = Path(__file__).resolve().parent.parent / "rules" / "grilles" / "exemple_complet.yaml"
POLITIQUE = Path(__file__).resolve().parent.parent / "rules" / "politiques" / "defaut.yaml"


def demo(dossier: Path, n_demandes: int, graine: int, jour: date) -> int:
    from api.cli import resume

    dossier.mkdir(parents=True, exist_ok=True)
    print(f"1. Territoire synthétique : {n_demandes} demandes, graine {graine}, au {jour.isoformat()}")
    paths = ecrire_territoire(dossier, n_demandes, max(n_demandes // 10, 1), graine, jour)
    for kind, path in paths.items():
        print(f"   {kind} : {path}")

    print(f"2. Grille : {GRILLE.name} (grille d'exemple, pas une grille officielle)")
    grid = charger_grille(GRILLE)
    (dossier / "grille.md").write_text(publier_markdown(grid), encoding="utf-8")
    (dossier / "grille.html").write_text(publier_html(grid), encoding="utf-8")
    print(f"   publiée : {dossier / 'grille.md'} et {dossier / 'grille.html'}")

    print("3. Lecture et validation du fichier de demandes, cotation")
    table = lire_demandes(paths["demandes"])
    start = time.perf_counter()
    results = evaluer_grilles([grid], table, jour)
    elapsed = time.perf_counter() - start
    _rows, cot = results[0]
    out = cot.tableau()
    out.to_csv(dossier / "scores.csv", index=False)
    print(f"   {len(out)} demandes cotées en {elapsed * 1000:.0f} ms ; scores : {dossier / 'scores.csv'}")
    print()
    print(resume(out, results, jour))
    print()
    first = int(np.flatnonzero(cot.rang == 1)[0])
    print("4. Explication de la demande classée première :")
    print(expliquer(cot, str(cot.numero_unique.iloc[first])).texte())
    print()
    _cal(dossier, paths, table, cot, jour)
    print()
    _simulation(dossier, grid, jour)
    return 0


def _cal(dossier: Path, paths: dict, table, cot, jour: date) -> None:
    """A CAL batch on the first 40 vacant units, with the default (legal) policy."""
    from api.cli import resume_propositions
    from matching.feuille_cal import ecrire
    from matching.logement import lire_logements
    from matching.propositions import proposer
    from rules.politique import charger_politique

    # PLAI ceilings for 2026 are not in rules/parametres yet: set those units aside, and say so
    politique = charger_politique(POLITIQUE).avec_plafond_inconnu("ecarter_logement")
    units = lire_logements(paths["logements"]).head(40)
    print("5. CAL : propositions pour 40 logements vacants (politique par défaut, art. L.441-1)")
    lot = proposer(units, table, cot, politique, jour)
    print(resume_propositions(ecrire(lot, dossier)))
    print(f"   feuille de CAL : {dossier / 'feuille_cal.md'}")


def _simulation(dossier: Path, grid, jour: date) -> None:
    """A short simulated half-year: the optimizer under the policy against today's greedy practice."""
    from api.cli import resume_simulation
    from rules.politique import charger_politique
    from simulation.annee import Bras, Scenario
    from simulation.monte_carlo import executer
    from simulation.rapport import ecrire_rapport

    def policy(name: str):  # PLAI 2026 ceilings are not in the tables: those units are set aside
        return charger_politique(POLITIQUE.with_name(name)).avec_plafond_inconnu("ecarter_logement")

    arms = (Bras("A : optimiseur et politique légale", grid, policy("defaut.yaml"), "optimiseur"),
            Bras("B : pratique actuelle (glouton, examen de solvabilité)", grid, policy("pratique_actuelle.yaml"),
                 "glouton"))
    sc = Scenario(bras=arms, demandes=5_000, logements_par_an=800, debut=jour, mois=6,
                  limite_temps_s=20.0, ecart_cible=1e-3)
    print("6. Simulation : 6 CAL mensuelles sur 5 000 demandes, 4 répliques, optimiseur contre glouton")
    summary, _runs = executer(sc, 4, graine=0, progression=False)
    path = ecrire_rapport(summary, dossier / "simulation")
    print(resume_simulation(summary))
    print(f"   rapport : {path}")
