"""Explanations of single rows: every criterion, even one whose measure is not known."""

from datetime import date
from pathlib import Path

from cotation.demande import Demande
from cotation.explication import expliquer
from cotation.moteur import evaluer
from cotation.table import table_depuis_demandes
from rules.chargement import charger_grille

GRILLE = Path(__file__).resolve().parents[2] / "rules" / "grilles" / "exemple_complet.yaml"


def test_a_band_criterion_without_its_measure_is_explained_as_unknown():
    d = Demande(numero_unique="069000000001", date_depot=date(2024, 1, 1), epci="200046977", nb_adultes=1,
                revenus_mensuels=1200, situation_logement="chez_parents", loyer_actuel=None)
    cot = evaluer(charger_grille(GRILLE), table_depuis_demandes([d]), date(2026, 3, 1))
    text = expliquer(cot, "069000000001", complet=True).texte()
    assert "Taux d'effort" in text or "taux d'effort" in text
    assert "non renseigné" in text
