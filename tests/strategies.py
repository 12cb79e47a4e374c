"""Hypothesis strategies shared by the tests: valid applications, and tables built from them."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from cotation.demande import Demande
from rules.vocabulaire import CATEGORIES_PRIORITAIRES, ISSUES_PROPOSITION, MOTIFS, SITUATIONS_LOGEMENT, TYPOLOGIES

EPCI_LYON = "200046977"
DATE_REFERENCE = date(2026, 3, 1)


def _dates(low: date, high: date) -> st.SearchStrategy[date]:
    return st.integers(0, (high - low).days).map(lambda d: low + timedelta(days=d))


@st.composite
def demandes(draw, numero: str | None = None) -> Demande:
    """One valid application around the reference date, exercising every field the grids read."""
    adults = draw(st.integers(1, 3))
    couple = adults >= 2 and draw(st.booleans())
    kids_young, kids_old = draw(st.integers(0, 4)), draw(st.integers(0, 3))
    others = draw(st.integers(0, 1))
    size = adults + kids_young + kids_old + others
    depot = draw(_dates(date(2012, 1, 1), date(2026, 6, 1)))
    renewed = draw(st.none() | _dates(depot, max(depot, date(2026, 6, 1))))
    situation = draw(st.sampled_from(list(SITUATIONS_LOGEMENT)))
    housed = situation in ("locataire_parc_social", "locataire_parc_prive", "proprietaire", "logement_fonction")
    rent = draw(st.none() | st.floats(0, 2000, allow_nan=False).map(lambda x: round(x, 2))) if housed else None
    aid = draw(st.floats(0, rent, allow_nan=False).map(lambda x: round(x, 2))) if rent else 0.0
    proposals = draw(st.lists(
        st.builds(lambda d, i: {"date": d, "issue": i}, _dates(date(2023, 1, 1), date(2026, 6, 1)),
                  st.sampled_from(list(ISSUES_PROPOSITION))),
        max_size=3,
    ))
    born = draw(_dates(date(1945, 1, 1), date(2006, 1, 1)))
    return Demande(
        numero_unique=numero or draw(st.from_regex(r"069[0-9]{9}", fullmatch=True)),
        date_depot=depot,
        date_renouvellement=renewed,
        epci=EPCI_LYON,
        departement="69",
        nb_adultes=adults,
        couple=couple,
        date_naissance_demandeur=born,
        date_naissance_conjoint=draw(_dates(date(1945, 1, 1), date(2006, 1, 1))) if couple else None,
        nb_enfants_moins_14=kids_young,
        nb_enfants_14_plus=kids_old,
        nb_autres_personnes_a_charge=others,
        naissances_attendues=draw(st.integers(0, 1)),
        nb_personnes_handicapees=draw(st.integers(0, min(size, 2))),
        revenus_mensuels=draw(st.floats(0, 6000, allow_nan=False).map(lambda x: round(x, 2))),
        revenu_fiscal_reference=draw(st.none() | st.floats(0, 80000, allow_nan=False).map(round)),
        situation_logement=situation,
        loyer_actuel=rent,
        aide_logement=aid,
        surface_actuelle=draw(st.floats(9, 150).map(lambda x: round(x, 1))) if housed else None,
        pieces_actuelles=draw(st.integers(1, 6)) if housed else None,
        motifs=draw(st.lists(st.sampled_from(list(MOTIFS)), max_size=3, unique=True)),
        date_decision_dalo=draw(st.none() | _dates(date(2018, 1, 1), date(2026, 6, 1))),
        categories_prioritaires=draw(st.lists(st.sampled_from(list(CATEGORIES_PRIORITAIRES)), max_size=2, unique=True)),
        pdalhpd=draw(st.booleans()),
        relogement_anru=draw(st.booleans()),
        communes_souhaitees=draw(st.lists(st.sampled_from(["69123", "69266", "69259"]), max_size=2, unique=True)),
        typologies_souhaitees=draw(st.lists(st.sampled_from(list(TYPOLOGIES)), max_size=2, unique=True)),
        besoin_accessibilite=draw(st.booleans()),
        propositions=proposals,
    )


@st.composite
def lots_de_demandes(draw, min_size: int = 1, max_size: int = 12) -> list[Demande]:
    """Several applications with distinct registration numbers."""
    n = draw(st.integers(min_size, max_size))
    numbers = draw(st.lists(st.from_regex(r"069[0-9]{9}", fullmatch=True), min_size=n, max_size=n, unique=True))
    return [draw(demandes(numero=x)) for x in numbers]
