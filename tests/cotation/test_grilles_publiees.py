"""The hand-computable cases of grilles-publiees.md section 6, against the shipped grids."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cotation.demande import Demande
from cotation.explication import expliquer
from cotation.moteur import evaluer
from cotation.table import table_depuis_demandes
from rules.chargement import charger_grille

REF = date(2026, 3, 1)
PARIS_REF = date(2020, 3, 1)


def grid(name: str):
    return charger_grille(f"rules/grilles/{name}.yaml")


def base(**kw) -> Demande:
    """A plain active application scoring nothing by itself in the partial grids."""
    values = dict(
        numero_unique="069000000001", date_depot=REF - timedelta(days=10), date_renouvellement=None,
        epci="200046977", departement="69", nb_adultes=1, revenus_mensuels=1500,
        situation_logement="locataire_parc_prive", loyer_actuel=300,
    )
    values.update(kw)
    return Demande(**values)


def score(name: str, demande: Demande, jour: date = REF):
    cot = evaluer(grid(name), table_depuis_demandes([demande]), jour)
    return cot, dict(zip(cot.ids, cot.retenus[0], strict=True)), float(cot.score[0])


def test_t1_rhone_worked_example_totals_35():
    d = base(nb_enfants_moins_14=2, revenus_mensuels=1300, loyer_actuel=500, aide_logement=0,
             motifs=["procedure_expulsion"])
    cot, points, total = score("rhone_primo_demandeurs", d)
    assert total == 35
    assert points == {"menace_expulsion": 20, "parent_isole": 5, "taux_effort_trop_eleve": 10}
    text = expliquer(cot, d.numero_unique).texte()
    assert "+20 Menacé d'expulsion" in text and "38,5 %" in text


def test_t1_income_alone_scores_zero():
    _, _, total = score("rhone_primo_demandeurs", base(revenus_mensuels=1300, loyer_actuel=200))
    assert total == 0


def test_rhone_grid_leaves_mutation_requests_to_the_mutation_grid():
    cot, _, _ = score("rhone_primo_demandeurs", base(situation_logement="locataire_parc_social"))
    assert cot.rang[0] == 0 and not cot.classees[0]


def test_t2_paris_decohabitation_group_keeps_the_best_only():
    d = base(situation_logement="chez_parents", motifs=["decohabitation"], loyer_actuel=None)
    cot, points, total = score("paris_2014", d, PARIS_REF)
    assert points["cessation_cohabitation"] == 2 and points["chez_parents"] == 0
    assert total == 2
    assert "seul le critère le plus favorable compte" in expliquer(cot, d.numero_unique).texte()


def test_t3_paris_sans_abri_17():
    _, points, _ = score("paris_2014", base(situation_logement="sans_abri", loyer_actuel=None), PARIS_REF)
    assert points["sans_abri"] == 17


def test_t4_paris_four_persons_in_two_rooms_4():
    d = base(nb_adultes=2, couple=True, nb_enfants_moins_14=2, pieces_actuelles=2, surface_actuelle=40)
    _, points, _ = score("paris_2014", d, PARIS_REF)
    assert points["sur_occupation"] == 4


def test_t5_paris_handicap_4():
    _, points, _ = score("paris_2014", base(nb_personnes_handicapees=1), PARIS_REF)
    assert points["handicap"] == 4


def test_t6_paris_effort_rate_30_percent_scores_nothing():
    _, _, total = score("paris_2014", base(revenus_mensuels=1000, loyer_actuel=300), PARIS_REF)
    assert total == 0


def test_paris_2014_grid_is_not_in_force_in_2026():
    from cotation.moteur import ErreurCotation

    with pytest.raises(ErreurCotation, match="n'est pas en vigueur"):
        score("paris_2014", base(), REF)



@pytest.mark.parametrize("months, expected", [(40, 60), (36, 36), (37, 57), (0, 0)])
def test_t7_t8_toulouse_seniority_and_abnormal_delay(months, expected):
    from cotation.derivees import ajouter_mois

    depot = ajouter_mois(REF, -months)
    d = base(date_depot=depot, date_renouvellement=max(depot, REF - timedelta(days=30)))
    _, points, total = score("toulouse_metropole", d)
    assert points["anciennete_mois"] == months
    assert total == expected


def test_t9_toulouse_dalo_50():
    _, points, total = score("toulouse_metropole", base(date_decision_dalo=date(2025, 6, 1)))
    assert points["dalo"] == 50 and total == 50


def test_t10_toulouse_pdalhpd_40():
    _, points, total = score("toulouse_metropole", base(pdalhpd=True))
    assert points["pdalhpd"] == 40 and total == 40


def test_toulouse_explanation_reads_like_the_issue():
    from cotation.derivees import ajouter_mois

    d = base(date_depot=ajouter_mois(REF, -36), date_renouvellement=REF - timedelta(days=30),
             date_decision_dalo=date(2025, 6, 1))
    cot, _, _ = score("toulouse_metropole", d)
    text = expliquer(cot, d.numero_unique).texte()
    assert "+50 Reconnu prioritaire DALO" in text
    assert "+36 Ancienneté de la demande : 36 mois × 1 point" in text
    assert "Total : 86 points — rang 1 sur 1 demandes classées." in text
