"""Derived quantities: hand-computed households, and every vocabulary variable is computable."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from cotation.demande import Demande
from cotation.derivees import Contexte, ajouter_mois, mois_entre
from cotation.table import table_depuis_demandes
from rules.vocabulaire import VARIABLES

REF = date(2026, 3, 1)


def ctx(**kw) -> Contexte:
    values = dict(numero_unique="1", date_depot=date(2025, 1, 1), epci="200046977", departement="69",
                  nb_adultes=1, revenus_mensuels=1000, situation_logement="locataire_parc_prive")
    values.update(kw)
    return Contexte(table_depuis_demandes([Demande(**values)]), REF)


def test_every_vocabulary_variable_is_computed_with_its_type():
    c = ctx(date_decision_dalo=date(2025, 1, 1), loyer_actuel=400, surface_actuelle=30, pieces_actuelles=2)
    for name, variable in VARIABLES.items():
        value = c[name]
        assert value.shape == (1,), name
        if variable.type == "booleen":
            assert value.dtype == bool, name
        elif variable.type == "nombre":
            assert np.issubdtype(value.dtype, np.number), name


@pytest.mark.parametrize("kw, expected", [
    (dict(), 1),
    (dict(nb_personnes_handicapees=1), 2),  # one person alone with a disability
    (dict(nb_adultes=2, couple=True, date_naissance_demandeur=date(1990, 1, 1),
          date_naissance_conjoint=date(1995, 1, 1)), 2),  # ages 36 + 31 = 67 > 55
    (dict(nb_adultes=2, couple=True, date_naissance_demandeur=date(2000, 1, 1),
          date_naissance_conjoint=date(2001, 6, 1)), 3),  # jeune ménage: 26 + 24 <= 55
    (dict(nb_enfants_moins_14=1), 3),  # one person with one dependant
    (dict(nb_enfants_moins_14=2), 4),
    (dict(nb_adultes=2, nb_personnes_handicapees=1), 3),  # two persons including a disabled one
    (dict(nb_adultes=2, nb_enfants_moins_14=4), 6),
    (dict(nb_adultes=2, nb_enfants_moins_14=5), 6),  # capped, one extra person
    (dict(naissances_attendues=1), 3),  # expected birth counts as a dependant (à confirmer)
])
def test_household_category(kw, expected):
    assert ctx(**kw)["categorie_menage"][0] == expected


def test_extra_persons_beyond_category_6():
    c = ctx(nb_adultes=2, nb_enfants_moins_14=5, nb_personnes_handicapees=1)
    assert c["categorie_menage"][0] == 6 and c["personnes_supplementaires"][0] == 2


def test_consumption_units_and_first_quartile():
    # 2 adults + one child of 15 + two under 14: 1 + 0.5 + 0.5 + 0.3 * 2 = 2.6 UC
    c = ctx(nb_adultes=2, nb_enfants_14_plus=1, nb_enfants_moins_14=2, revenus_mensuels=2340)
    assert c["unites_consommation"][0] == pytest.approx(2.6)
    assert c["revenu_annuel_par_uc"][0] == pytest.approx(2340 * 12 / 2.6)  # 10 800 €/UC
    assert c["premier_quartile"][0]  # Lyon 2026 threshold: 10 800, "au plus"
    assert not ctx(nb_adultes=2, nb_enfants_14_plus=1, nb_enfants_moins_14=2, revenus_mensuels=2341)[
        "premier_quartile"][0]


def test_over_occupation_r822_25():
    assert ctx(nb_adultes=2, nb_enfants_moins_14=2, surface_actuelle=33.9)["sur_occupation"][0]  # 4 pers: 34 m²
    assert not ctx(nb_adultes=2, nb_enfants_moins_14=2, surface_actuelle=34)["sur_occupation"][0]
    assert not ctx(surface_actuelle=None)["sur_occupation"][0]  # unknown surface: not over-occupied


def test_effort_rate():
    assert ctx(loyer_actuel=500, aide_logement=100, revenus_mensuels=1000)["taux_effort"][0] == pytest.approx(0.4)
    assert np.isinf(ctx(loyer_actuel=500, revenus_mensuels=0)["taux_effort"][0])
    assert np.isnan(ctx(loyer_actuel=None)["taux_effort"][0])


def test_seniority_and_activity():
    c = ctx(date_depot=date(2023, 3, 2), date_renouvellement=date(2025, 3, 2))
    assert c["anciennete_mois"][0] == 35  # the 2nd of the month is not reached on the 1st
    assert c["demande_active"][0]
    assert not ctx(date_depot=date(2023, 3, 2), date_renouvellement=date(2025, 3, 1))["demande_active"][0]


def test_month_arithmetic():
    days = np.array(["2024-01-15", "2024-01-15", "2024-01-31", "2022-03-01", "NaT"], dtype="datetime64[D]")
    ends = np.array(["2024-02-14", "2024-02-15", "2024-02-29", "2026-03-01", "2026-01-01"], dtype="datetime64[D]")
    np.testing.assert_array_equal(mois_entre(days, ends), [0, 1, 0, 48, np.nan])
    assert ajouter_mois(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert ajouter_mois(date(2026, 1, 15), -12) == date(2025, 1, 15)
