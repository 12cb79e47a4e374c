"""Differential tests: the vectorized engine against the row-by-row reference in plain Python.

`cotation.reference` computes every derived quantity and every criterion one application at a
time, with `datetime.date` arithmetic and Python scalars; the engine computes them as vectors.
Both must give the same raw points per criterion and the same totals, on every shipped grid and
on a test grid that uses the options the shipped grids leave out.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import DATE_REFERENCE, lots_de_demandes

from cotation.demande import Demande
from cotation.derivees import Contexte
from cotation.moteur import ErreurCotation, compiler, evaluer
from cotation.reference import DERIVEES, Ligne, evaluer_ligne, evaluer_lignes, score_ligne
from cotation.table import table_depuis_demandes
from rules.chargement import charger_grille
from rules.grille import Grille
from rules.parametres import Parametres
from rules.vocabulaire import VARIABLES

GRILLES = Path(__file__).resolve().parents[2] / "rules" / "grilles"
PARAMETRES = Parametres.charger()
PARIS_2014_EN_VIGUEUR = date(2020, 3, 1)

# Options the shipped grids do not use: a measure of DALO months with a_partir_de, a fractional
# rate and both kinds of steps, ties inside a group, a one-member group, an open-below bracket
# with negative points, conditional expressions, refusals of every kind with and without a
# floor, both scopes, criterion validity dates, and combinations that count a penalty or an
# expired criterion.
GRILLE_ESSAI = """
grille:
  territoire: Grille d'essai du moteur de référence
  departement: "31"
  version: essai
  valide_du: 2024-01-01
  statut: exemple
groupes:
  - id: urgence
    libelle: Urgence
  - id: seul
    libelle: Groupe d'un seul critère
  - id: vide
    libelle: Groupe sans critère
criteres:
  - id: attente_dalo
    libelle: Attente DALO
    type: duree
    mesure: mois_depuis_dalo
    points_par_mois: 1.5
    a_partir_de: 3
    plafond: 40
    paliers:
      - {au_dela_de: 6, points: 5}
      - {au_dela_de: delai_anormalement_long, points: 7}
    groupe: urgence
  - id: situation
    libelle: Situation
    type: categorie
    variable: situation_logement
    points: {sans_abri: 30, hotel: 20, habitat_precaire: 20, locataire_parc_social: 1}
    groupe: urgence
  - id: precaire
    libelle: Précaire
    type: drapeau
    condition: "situation_logement in ['hotel', 'structure_hebergement'] or motif_sans_logement"
    points: 20
    groupe: urgence
  - id: effort
    libelle: Effort
    type: tranches
    mesure: taux_effort
    tranches:
      - {a: 0.1, points: -2}
      - {de: 0.25, a: 0.35, points: 4}
      - {de: 0.35, points: 9}
    groupe: seul
  - id: surface
    libelle: Surface
    type: expression
    condition: surface_actuelle > 0 and not sous_occupation
    valeur: max(0, 20 - surface_par_personne) / 2
  - id: menage
    libelle: Ménage
    type: expression
    valeur: "si(jeune_menage, 3, categorie_menage * 0.5) + (1 if premier_quartile else 0)"
  - id: ecart_revenus
    libelle: Écart de revenus
    type: tranches
    mesure: revenu_fiscal_reference / 12 - revenus_mensuels
    tranches:
      - {a: -1000, points: 3}
      - {de: 1000, points: -1}
  - id: personnes
    libelle: Personnes
    type: expression
    valeur: personnes_a_charge + personnes_par_piece - abs(taille_menage - 2 * nb_adultes)
  - id: famille
    libelle: Famille
    type: drapeau
    condition: handicap or parent_isole or (enfants >= 3 and nb_enfants_14_plus > 0)
    points: 2.5
  - id: age_effort
    libelle: Effort sans loyer connu
    type: expression
    condition: not (taux_effort >= 0)
    valeur: loyer_actuel + 1
  - id: refus_tous
    libelle: Refus récents
    type: penalite_refus
    points_par_refus: -4.5
    fenetre_mois: 1
    refus: tous
  - id: refus_longs
    libelle: Refus sur trois ans
    type: penalite_refus
    points_par_refus: -3
    fenetre_mois: 36
    plancher: -6
    demandes: hors_mutation
  - id: mutation_ancienne
    libelle: Ancienneté de mutation
    type: duree
    points_par_mois: 0.25
    paliers:
      - {au_dela_de: 12, points: 2}
    demandes: mutation
  - id: ancien_critere
    libelle: Critère expiré fin 2025
    type: drapeau
    condition: dalo
    points: 100
    valide_au: 2025-12-31
  - id: futur
    libelle: Critère en vigueur en 2026
    type: drapeau
    condition: prioritaire or pdalhpd or relogement_anru
    points: 7
    valide_du: 2026-01-01
  - id: tous_reunis
    libelle: Tous réunis
    type: combinaison
    criteres: [precaire, effort, surface]
    points: 6
  - id: un_sur_trois
    libelle: Un sur trois
    type: combinaison
    criteres: [situation, refus_tous, ancien_critere]
    minimum: 1
    points: 2
    demandes: hors_mutation
  - id: actif
    libelle: Demande active hors mutation
    type: drapeau
    condition: demande_active and not mutation and revenus_mensuels >= 0
    points: 1
"""


def _grille(nom: str) -> Grille:
    if nom == "essai":
        return charger_grille("grille_essai.yaml", GRILLE_ESSAI)
    return charger_grille(GRILLES / nom)


def _jour(nom: str) -> date:
    return PARIS_2014_EN_VIGUEUR if nom.startswith("paris_2014") else DATE_REFERENCE


CAS = [(p.name, _jour(p.name)) for p in sorted(GRILLES.glob("*.yaml"))]
CAS += [("essai", DATE_REFERENCE), ("essai", date(2025, 6, 30))]
COMPILEES = {nom: (_grille(nom), compiler(_grille(nom))) for nom, _ in CAS}


def _proches(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)


def _comparer(nom: str, jour: date, lot: list[Demande], table) -> None:
    grille, compilee = COMPILEES[nom]
    cotation = evaluer(compilee, table, jour, PARAMETRES)
    for i, demande in enumerate(lot):
        bruts = evaluer_ligne(grille, demande, jour, PARAMETRES)
        total, retenus = score_ligne(grille, demande, jour, PARAMETRES)
        assert list(bruts) == cotation.ids
        for j, cid in enumerate(cotation.ids):
            moteur = float(cotation.bruts[i, j])
            assert _proches(bruts[cid], moteur), (nom, jour, cid, bruts[cid], moteur, demande)
            assert _proches(retenus[cid], float(cotation.retenus[i, j])), (nom, jour, cid, demande)
        assert _proches(total, float(cotation.score[i])), (nom, jour, total, cotation.score[i], demande)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot=lots_de_demandes())
def test_moteur_et_reference_donnent_les_memes_points(lot: list[Demande]) -> None:
    """Each batch is scored by every grid of CAS (the table is built once per batch)."""
    table = table_depuis_demandes(lot)
    for nom, jour in CAS:
        _comparer(nom, jour, lot, table)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot=lots_de_demandes())
def test_chaque_variable_derivee_est_la_meme(lot: list[Demande]) -> None:
    """Every variable of the vocabulary (and the engine's intermediate ones), row by row."""
    table = table_depuis_demandes(lot)
    ctx = Contexte(table, DATE_REFERENCE, PARAMETRES)
    lignes = [Ligne.depuis(d, DATE_REFERENCE, PARAMETRES) for d in lot]
    for name in sorted(set(VARIABLES) | DERIVEES):
        vector = ctx[name]
        for i, ligne in enumerate(lignes):
            expected = vector[i]
            if name == "situation_logement":
                expected = ctx.categories(name)[expected] if expected >= 0 else None
            elif isinstance(expected, np.floating) and np.isnan(expected):
                expected = None
            assert ligne[name] == expected, (name, ligne[name], expected, lot[i])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot=lots_de_demandes())
def test_lignes_de_table_et_enregistrements_donnent_le_meme_total(lot: list[Demande]) -> None:
    grille, compilee = COMPILEES["exemple_complet.yaml"]
    table = table_depuis_demandes(lot)
    score = evaluer(compilee, table, DATE_REFERENCE, PARAMETRES).score.tolist()
    assert evaluer_lignes(grille, lot, DATE_REFERENCE, PARAMETRES) == pytest.approx(score, rel=1e-12)
    assert evaluer_lignes(grille, table.to_dict("records"), DATE_REFERENCE, PARAMETRES) == pytest.approx(
        score, rel=1e-12
    )
    dicts = [d.model_dump() for d in lot]
    assert evaluer_lignes(grille, dicts, DATE_REFERENCE, PARAMETRES) == pytest.approx(score, rel=1e-12)


def test_grille_hors_vigueur_refusee_comme_par_le_moteur() -> None:
    grille = _grille("paris_2014.yaml")
    with pytest.raises(ErreurCotation):
        evaluer_lignes(grille, [], DATE_REFERENCE, PARAMETRES)


# Targeted examples: both implementations and the expected value ------------------------------


def _demande(**champs) -> Demande:
    base = dict(
        numero_unique="069000000001",
        date_depot=date(2024, 1, 1),
        epci="200046977",
        departement="69",
        nb_adultes=1,
        revenus_mensuels=1500,
        situation_logement="locataire_parc_prive",
        loyer_actuel=300,
    )
    return Demande(**(base | champs))


def _points(nom: str, demande: Demande, jour: date) -> dict[str, float]:
    """Raw points of both implementations, checked equal."""
    grille, compilee = COMPILEES[nom]
    reference = evaluer_ligne(grille, demande, jour, PARAMETRES)
    cotation = evaluer(compilee, table_depuis_demandes([demande]), jour, PARAMETRES)
    moteur = dict(zip(cotation.ids, cotation.bruts[0].tolist(), strict=True))
    assert reference == moteur
    total, _ = score_ligne(grille, demande, jour, PARAMETRES)
    assert total == float(cotation.score[0])
    return reference


def test_31_janvier_au_29_fevrier_ne_fait_pas_un_mois() -> None:
    d = _demande(date_depot=date(2024, 1, 31), date_decision_dalo=date(2023, 7, 31))
    avant = _points("exemple_complet.yaml", d, date(2024, 2, 29))
    assert avant["anciennete"] == 0  # the 31st is not reached in February
    assert avant["attente_dalo"] == 2 * (6 - 6)  # 31 Jul -> 29 Feb: 6 months, none beyond 6
    apres = _points("exemple_complet.yaml", d, date(2024, 3, 1))
    assert apres["anciennete"] == 1
    assert apres["attente_dalo"] == 2 * (7 - 6)


def test_refus_le_jour_du_debut_de_fenetre_ne_compte_pas() -> None:
    jour = date(2026, 3, 1)
    refus = [
        {"date": date(2025, 3, 1), "issue": "refus_non_legitime"},  # window start: excluded
        {"date": date(2025, 3, 2), "issue": "refus_non_legitime"},
        {"date": date(2026, 3, 1), "issue": "refus_non_legitime"},  # reference date: included
        {"date": date(2026, 3, 2), "issue": "refus_non_legitime"},  # after: excluded
        {"date": date(2025, 6, 1), "issue": "refus_legitime"},
    ]
    assert _points("exemple_complet.yaml", _demande(propositions=refus), jour)["refus"] == -20


def test_fenetre_de_refus_au_dernier_jour_du_mois() -> None:
    # 31 March minus one month is 28 February (clipped); (28 Feb, 31 Mar] counts.
    refus = [
        {"date": date(2025, 2, 28), "issue": "refus_legitime"},
        {"date": date(2025, 3, 1), "issue": "sans_suite"},
        {"date": date(2025, 3, 1), "issue": "refus_legitime"},
    ]
    assert _points("essai", _demande(propositions=refus), date(2025, 3, 31))["refus_tous"] == -4.5


def test_dalo_decide_le_jour_de_reference() -> None:
    jour = date(2026, 3, 1)
    le_jour = _points("exemple_complet.yaml", _demande(date_decision_dalo=jour), jour)
    assert le_jour["dalo"] == 50 and le_jour["attente_dalo"] == 0
    lendemain = _points("exemple_complet.yaml", _demande(date_decision_dalo=date(2026, 3, 2)), jour)
    assert lendemain["dalo"] == 0 and lendemain["attente_dalo"] == 0


def test_revenus_nuls() -> None:
    jour = date(2026, 3, 1)
    # a rent due on no income: infinite effort rate, top bracket
    sans_aide = _points("exemple_complet.yaml", _demande(revenus_mensuels=0, loyer_actuel=500), jour)
    assert sans_aide["taux_effort"] == 15 and sans_aide["reste_a_vivre_faible"] == 8
    # rent fully covered by the aid: a rate of 0
    couvert = _points("exemple_complet.yaml", _demande(revenus_mensuels=0, loyer_actuel=300, aide_logement=300), jour)
    assert couvert["taux_effort"] == 0 and couvert["reste_a_vivre_faible"] == 8
    # no rent: no rate, no points
    sans_loyer = _points("exemple_complet.yaml", _demande(revenus_mensuels=0, loyer_actuel=None), jour)
    assert sans_loyer["taux_effort"] == 0 and sans_loyer["reste_a_vivre_faible"] == 0
    assert sans_loyer["ressources_premier_quartile"] == 5


# Expressions: the interpreter against the vector compiler ---------------------------------------

NOMBRES = sorted(n for n, v in VARIABLES.items() if v.type == "nombre")
BOOLEENS = sorted(n for n, v in VARIABLES.items() if v.type == "booleen")
_nombre = st.recursive(
    st.sampled_from(NOMBRES) | st.sampled_from(["0", "1", "2", "0.5", "12"]),
    lambda e: st.one_of(
        st.tuples(e, st.sampled_from(["+", "-", "*", "/"]), e).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["min", "max"]), e, e).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        e.map(lambda x: f"abs({x})"),
        e.map(lambda x: f"(-{x})"),
    ),
    max_leaves=5,
)
_comparaison = st.tuples(_nombre, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _nombre)
_booleen = st.recursive(
    st.sampled_from([*BOOLEENS, "vrai", "faux"]) | _comparaison.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    lambda b: st.one_of(
        st.tuples(b, st.sampled_from(["and", "or"]), b).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        b.map(lambda x: f"(not {x})"),
    ),
    max_leaves=4,
)
_valeur = _nombre | st.tuples(_booleen, _nombre, _nombre).map(
    lambda t: f"si({t[0]}, {t[1]}, {t[2]})" if len(t[0]) % 2 else f"({t[1]} if {t[0]} else {t[2]})"
)


def _grille_expressions(valeur: str, condition: str) -> Grille:
    return Grille.model_validate(
        {
            "grille": {"territoire": "essai", "version": "1", "valide_du": "2024-01-01", "statut": "exemple"},
            "criteres": [
                {"id": "v", "libelle": "valeur", "type": "expression", "valeur": valeur},
                {"id": "c", "libelle": "condition", "type": "drapeau", "condition": condition, "points": 1},
            ],
        }
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot=lots_de_demandes(max_size=4), valeur=_valeur, condition=_booleen)
def test_expressions_aleatoires(lot: list[Demande], valeur: str, condition: str) -> None:
    """Random expressions over the vocabulary: missing values, division by 0, constants."""
    grille = _grille_expressions(valeur, condition)
    cotation = evaluer(grille, table_depuis_demandes(lot), DATE_REFERENCE, PARAMETRES)
    for i, demande in enumerate(lot):
        bruts = evaluer_ligne(grille, demande, DATE_REFERENCE, PARAMETRES)
        assert _proches(bruts["v"], float(cotation.bruts[i, 0])), (valeur, bruts["v"], cotation.bruts[i, 0])
        assert bruts["c"] == cotation.bruts[i, 1], (condition, bruts["c"], cotation.bruts[i, 1])


# Two engine bugs this reference found (fixed in the engine since): regressions ------------------


@pytest.mark.parametrize(
    ("condition", "champs", "points"),
    [
        ("loyer_actuel != 500", {"loyer_actuel": None}, 0),  # a missing value: != is false too
        ("not (loyer_actuel == 500)", {"loyer_actuel": None}, 1),
        ("revenu_fiscal_reference != 0", {}, 0),
        ("pdalhpd and vrai", {"pdalhpd": True}, 1),  # a constant term in and/or used to crash
        ("pdalhpd or 1 > 2", {"pdalhpd": False}, 0),
        ("faux or dalo or vrai", {}, 1),
    ],
)
@pytest.mark.parametrize("n", [1, 3])
def test_cas_ou_le_moteur_differait(condition: str, champs: dict, points: int, n: int) -> None:
    grille = _grille_expressions("0", condition)
    lot = [_demande(numero_unique=f"06900000000{k}", **champs) for k in range(n)]
    assert [evaluer_ligne(grille, d, DATE_REFERENCE, PARAMETRES)["c"] for d in lot] == [points] * n
    cotation = evaluer(grille, table_depuis_demandes(lot), DATE_REFERENCE, PARAMETRES)
    assert cotation.bruts[:, 1].tolist() == [points] * n
