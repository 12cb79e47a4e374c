"""The demo territory loaded into an empty service database, so `cotation service` is usable at once.

It creates the generated territory's EPCI, one organisation per role with a token each, imports
the generated applications and one bailleur's vacant units, and publishes the example grid.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.admin import creer_jeton, creer_organisation, creer_territoire
from api.audit import tracer
from api.models import Organisation, Territoire, VersionRegles, maintenant
from api.stockage import importer_demandes, importer_logements
from cotation.table import demandes_en_texte, en_texte
from rules.chargement import charger_grille
from simulation.territoire import EPCI_DEFAUT, generer_demandes, generer_logements

GRILLE = Path(__file__).resolve().parent.parent / "rules" / "grilles" / "exemple_complet.yaml"
BAILLEUR = "bailleur_demo"
ORGANISATIONS = [  # code, name, role, scoped to the territory, reservataire code
    ("admin", "Administration du service", "admin", False, None),
    ("epci_demo", "Métropole (démonstration)", "epci", True, None),
    (BAILLEUR, "Bailleur de démonstration", "bailleur", False, None),
    ("guichet_demo", "Guichet d'information des demandeurs", "guichet", True, None),
    ("prefecture_demo", "Préfecture (contingent)", "reservataire", False, "prefet"),
]


def base_vide(sessions: sessionmaker[Session]) -> bool:
    with sessions() as s:
        return not s.scalar(select(func.count()).select_from(Territoire))


def charger_demo(sessions: sessionmaker[Session], n_demandes: int = 20_000, n_logements: int = 200,
                 graine: int = 1, jour: date = date(2026, 3, 1)) -> dict[str, str]:
    """Load the demo territory in one transaction; return each organisation's token (shown once)."""
    grid_text = GRILLE.read_text(encoding="utf-8")
    grid = charger_grille(GRILLE.name, texte=grid_text)
    tokens: dict[str, str] = {}
    with sessions.begin() as s:
        territoire = creer_territoire(s, EPCI_DEFAUT, "Métropole (démonstration, données fictives)", "69")
        for code, nom, role, scoped, reservataire in ORGANISATIONS:
            creer_organisation(s, code, nom, role, EPCI_DEFAUT if scoped else None, reservataire)
            tokens[code] = creer_jeton(s, code, "démonstration")
        s.add(VersionRegles(territoire_id=territoire.id, genre="grille", version=1, statut="publiee", texte=grid_text,
                            libelle=f"{grid.grille.territoire} — {grid.grille.version}",
                            date_effet=date(jour.year, 1, 1), publiee_le=maintenant()))
        tracer(s, None, "publication_grille", f"territoire {EPCI_DEFAUT} grille 1", demo=True)
        demandes = generer_demandes(n_demandes, graine, jour, epci=EPCI_DEFAUT, departement="69")
        importer_demandes(s, territoire, demandes_en_texte(demandes), 1, "démonstration")
        logements = generer_logements(n_logements, graine, jour, epci=EPCI_DEFAUT).assign(bailleur=BAILLEUR)
        # the PLAI ceilings of 2026 are not in rules/parametres yet: demo units are financed PLUS
        logements.loc[logements["financement"] == "PLAI", "financement"] = "PLUS"
        bailleur = s.scalar(select(Organisation).where(Organisation.code == BAILLEUR))
        importer_logements(s, bailleur.id, BAILLEUR, {EPCI_DEFAUT: territoire.id}, en_texte(logements), 1,
                           "démonstration")
    return tokens
