"""Allocation policies: the shipped default loads, and every bad input is reported in French, located."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from rules.chargement import ErreurGrille, ErreurRegles, charger_grille
from rules.politique import (
    PENALITE_OBJECTIF,
    POLITIQUES,
    ErreurPolitique,
    Politique,
    Realise,
    charger_politique,
)

MINIMAL = """\
politique:
  territoire: Test
  version: "1"
  valide_du: 2026-01-01
"""

OBJECTIF = """\
objectifs:
  - id: q1_hors_qpv
    libelle: Premier quartile hors QPV
    public: "premier_quartile or relogement_anru"
    logements: hors_qpv
    niveau: epci
    cible: 0.25
"""


def problems(text: str) -> list:
    with pytest.raises(ErreurPolitique) as caught:
        charger_politique("politique.yaml", texte=text)
    return caught.value.problemes


def test_default_policy_loads_by_name_and_by_path():
    policy = charger_politique("defaut")
    assert policy == charger_politique(POLITIQUES / "defaut.yaml")
    objectives = {o.id: o for o in policy.objectifs}
    assert set(objectives) == {"q1_hors_qpv", "q234_qpv", "prioritaires_reservataire"}
    q1, q234, prio = objectives["q1_hors_qpv"], objectives["q234_qpv"], objectives["prioritaires_reservataire"]
    assert (q1.public, q1.logements, q1.niveau, q1.cible) == (
        "premier_quartile or relogement_anru",
        "hors_qpv",
        "epci",
        0.25,
    )
    assert (q234.public, q234.logements, q234.cible) == ("not premier_quartile", "qpv", 0.5)
    assert (prio.public, prio.logements, prio.niveau, prio.cible) == (
        "dalo or prioritaire",
        "tous",
        "reservataire",
        0.25,
    )
    assert all(o.nature == "souple" and o.penalite == 1000 for o in policy.objectifs)
    assert [(r.logements, r.minimum, r.nature) for r in policy.regles_logement] == [
        ("hors_qpv", 1, "souple"),
        ("qpv", 1, "souple"),
    ]
    assert policy.realise == {}
    assert policy.eligibilite.contingents == {"prefet": "dalo or prioritaire or pdalhpd"}
    assert policy.eligibilite.taux_effort_max is None
    assert policy.optimisation.candidats_par_logement == 3
    assert policy.optimisation.poids_rang == [1.0, 0.5, 0.5]
    assert policy.applicable_a(date(2026, 6, 1)) and not policy.applicable_a(date(2017, 1, 27))


def test_minimal_policy_takes_the_defaults():
    policy = charger_politique("politique.yaml", texte=MINIMAL)
    assert policy.objectifs == [] and policy.regles_logement == [] and policy.realise == {}
    assert policy.eligibilite.sous_occupation_max == 1 and policy.eligibilite.revenu_fiscal_manquant == "exclure"
    assert policy.optimisation.largeur_flot == 5
    assert policy.realise_pour("q1_hors_qpv") == Realise(attributions=0, dont_public=0)


def test_round_trip_from_text():
    text = (
        MINIMAL
        + OBJECTIF
        + """\
  - id: prioritaires
    libelle: DALO ou prioritaires par réservataire
    public: "dalo or prioritaire"
    niveau: reservataire
    cible: 0.25
    nature: dure
realise:
  q1_hors_qpv:
    "*": {attributions: 120, dont_public: 21}
  prioritaires:
    action_logement: {attributions: 40, dont_public: 6}
optimisation:
  candidats_par_logement: 2
"""
    )
    policy = charger_politique("politique.yaml", texte=text)
    assert policy.objectif("q1_hors_qpv").penalite == PENALITE_OBJECTIF  # soft by default, default price
    assert policy.objectif("prioritaires").dure and policy.objectif("prioritaires").penalite is None
    assert policy.optimisation.poids_rang == [1.0, 0.5]  # one weight per rank by default
    assert policy.realise_pour("prioritaires", "action_logement").dont_public == 6
    dumped = yaml.safe_dump(policy.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    again = charger_politique("copie.yaml", texte=dumped)
    assert again == policy
    assert Politique.model_validate(policy.model_dump()) == policy


def test_unknown_key_with_suggestion():
    [p] = problems(MINIMAL + OBJECTIF + "    cibel: 0.3\n")
    assert (p.fichier, p.ligne, p.critere, p.champ) == ("politique.yaml", 12, "q1_hors_qpv", "cibel")
    assert p.message == "champ inconnu (vouliez-vous dire « cible » ?)"
    assert str(p) == (
        "politique.yaml, ligne 12, objectif « q1_hors_qpv », champ « cibel » : "
        "champ inconnu (vouliez-vous dire « cible » ?)"
    )


def test_unknown_section_points_at_its_key():
    [p] = problems(MINIMAL + "optimisaton:\n  graine: 1\n")
    assert (p.ligne, p.champ) == (5, "optimisaton")
    assert "vouliez-vous dire « optimisation »" in p.message


def test_unknown_key_in_a_section_is_suggested_from_that_section():
    [p] = problems(MINIMAL + "eligibilite:\n  sous_occupation: 1\n")
    assert (p.ligne, p.champ) == (6, "eligibilite.sous_occupation")
    assert "vouliez-vous dire « sous_occupation_max »" in p.message


@pytest.mark.parametrize(
    "line, value, expected",
    [
        ("cible", "moitié", "nombre attendu, reçu 'moitié'"),
        ("cible", "true", "nombre attendu, reçu True"),
        ("cible", "1.5", "valeur 1.5 refusée : doit être inférieur ou égal à 1"),
        (
            "niveau",
            "commune",
            "valeur non autorisée 'commune' ; valeurs possibles : 'epci', 'bailleur', 'reservataire'",
        ),
        ("logements", "hors_zus", "valeurs possibles : 'tous', 'hors_qpv', 'qpv'"),
    ],
)
def test_wrong_value_names_line_objective_and_field(line, value, expected):
    text = MINIMAL + OBJECTIF
    start = text.index(f"    {line}: ")
    end = text.index("\n", start)
    [p] = problems(text[:start] + f"    {line}: {value}" + text[end:])
    assert p.critere == "q1_hors_qpv" and p.champ == line
    assert p.ligne == text[:start].count("\n") + 1
    assert expected in p.message


def test_wrong_type_in_a_section():
    [p] = problems(MINIMAL + "optimisation:\n  candidats_par_logement: trois\n")
    assert (p.ligne, p.champ, p.message) == (
        6,
        "optimisation.candidats_par_logement",
        "nombre entier attendu, reçu 'trois'",
    )


@pytest.mark.parametrize(
    "public, expected",
    [
        ("__import__('os').system('ls')", "fonction non autorisée"),
        ("dalo.__class__", "accès à un attribut"),
        ("revenus_mensuels", "doit donner un booléen"),
        ("premier_quartil", "variable inconnue « premier_quartil » (vouliez-vous dire « premier_quartile » ?)"),
        ("nationalite == 'x'", "art. 225-1 du Code pénal"),
        ("dalo or", "syntaxe invalide"),
    ],
)
def test_public_must_be_a_safe_boolean_expression(public, expected):
    [p] = problems(MINIMAL + OBJECTIF.replace('"premier_quartile or relogement_anru"', f'"{public}"'))
    assert (p.ligne, p.critere, p.champ) == (8, "q1_hors_qpv", "public")
    assert expected in p.message


def test_practice_rule_is_named_as_a_rule():
    text = (
        MINIMAL
        + """\
regles_logement:
  - id: un_q1
    libelle: Un candidat Q1
    public: "open('x')"
"""
    )
    [p] = problems(text)
    assert (p.ligne, p.critere, p.element, p.champ) == (8, "un_q1", "règle", "public")
    assert str(p).startswith("politique.yaml, ligne 8, règle « un_q1 », champ « public » : fonction non autorisée")


def test_realise_for_an_unknown_objective():
    [p] = problems(MINIMAL + OBJECTIF + 'realise:\n  q1_hors_qpvv:\n    "*": {attributions: 10, dont_public: 2}\n')
    assert (p.ligne, p.champ) == (13, "realise.q1_hors_qpvv")
    assert p.message == (
        "objectif inconnu « q1_hors_qpvv » (vouliez-vous dire « q1_hors_qpv » ?) ; objectifs déclarés : q1_hors_qpv"
    )


def test_realise_group_keys_follow_the_level():
    [p] = problems(MINIMAL + OBJECTIF + "realise:\n  q1_hors_qpv:\n    lyon: {attributions: 10, dont_public: 2}\n")
    assert p.ligne == 14 and "une seule clé « * » attendue" in p.message
    text = MINIMAL + OBJECTIF.replace("niveau: epci", "niveau: reservataire")
    [p] = problems(text + "realise:\n  q1_hors_qpv:\n    action_logment: {attributions: 10, dont_public: 2}\n")
    assert "vouliez-vous dire « action_logement »" in p.message
    text = MINIMAL + OBJECTIF.replace("niveau: epci", "niveau: bailleur")
    assert charger_politique(
        "p.yaml", texte=text + "realise:\n  q1_hors_qpv:\n    OPH Lyon: {attributions: 3, dont_public: 1}\n"
    ).realise_pour("q1_hors_qpv", "OPH Lyon")


def test_dont_public_cannot_exceed_attributions():
    [p] = problems(MINIMAL + OBJECTIF + 'realise:\n  q1_hors_qpv:\n    "*": {attributions: 10, dont_public: 12}\n')
    assert (p.ligne, p.champ) == (14, "realise.q1_hors_qpv.*.dont_public")
    assert p.message == "dont_public (12) ne peut pas dépasser attributions (10)"


@pytest.mark.parametrize(
    "counts, expected",
    [
        ("{attributions: -1, dont_public: 0}", "valeur -1 refusée : doit être supérieur ou égal à 0"),
        ("{attributions: 10.5, dont_public: 0}", "nombre entier attendu, reçu 10.5"),
        ("{attributions: 10}", "champ obligatoire manquant"),
    ],
)
def test_realise_counts_are_non_negative_integers(counts, expected):
    [p] = problems(MINIMAL + OBJECTIF + f'realise:\n  q1_hors_qpv:\n    "*": {counts}\n')
    assert p.ligne == 14 and p.champ.startswith("realise.q1_hors_qpv.*.") and p.message == expected


@pytest.mark.parametrize(
    "weights, expected",
    [
        (
            "[1.0, 0.5, 0.7]",
            "poids_rang doit être décroissant ou constant : le rang 3 (0.7) pèse plus que le rang 2 (0.5)",
        ),
        ("[1.0, 0.5]", "poids_rang doit donner un poids par rang : 3 attendu(s) (candidats_par_logement), 2 donné(s)"),
    ],
)
def test_rank_weights_one_per_rank_non_increasing(weights, expected):
    [p] = problems(MINIMAL + f"optimisation:\n  candidats_par_logement: 3\n  poids_rang: {weights}\n")
    assert (p.ligne, p.champ, p.message) == (7, "optimisation.poids_rang", expected)


def test_rank_weights_must_be_positive():
    found = problems(MINIMAL + "optimisation:\n  poids_rang: [1.0, 0, 0]\n")
    assert [(p.ligne, p.champ) for p in found] == [(6, "optimisation.poids_rang.1"), (6, "optimisation.poids_rang.2")]
    assert all(p.message.startswith("valeur 0 refusée : doit être strictement supérieur à 0") for p in found)


def test_unknown_reservataire_in_contingents():
    [p] = problems(MINIMAL + 'eligibilite:\n  contingents:\n    prefet: "dalo"\n    prefett: "dalo"\n')
    assert (p.ligne, p.champ) == (8, "eligibilite.contingents.prefett")
    assert p.message.startswith(
        "réservataire inconnu « prefett » (vouliez-vous dire « prefet » ?) ; "
        "réservataires possibles : prefet, action_logement"
    )


def test_contingent_expression_is_checked():
    [p] = problems(MINIMAL + "eligibilite:\n  contingents:\n    prefet: \"dalo or __import__('os')\"\n")
    assert (p.ligne, p.champ) == (7, "eligibilite.contingents.prefet") and "fonction non autorisée" in p.message


def test_malformed_yaml():
    [p] = problems(MINIMAL + "optimisation:\n  poids_rang: [1.0, 0.5\n  graine: 0\n")
    assert p.fichier == "politique.yaml" and p.ligne == 7
    assert p.message.startswith("YAML mal formé : « , » ou « ] » attendu")
    [p] = problems(MINIMAL + "objectifs: [\n")
    assert p.message.startswith("YAML mal formé : fin de fichier inattendue")
    [p] = problems(MINIMAL + "politique: {}\n")
    assert "clé « politique » en double" in p.message and p.ligne == 5


def test_not_a_policy():
    [p] = problems("- a\n- b\n")
    assert p.message == "le fichier doit contenir une politique (clés politique, objectifs, eligibilite...)"
    [p] = problems("")
    assert p.message == "fichier vide"
    with pytest.raises(ErreurPolitique, match="fichier introuvable"):
        charger_politique("/nulle/part/politique.yaml")


def test_duplicate_ids_across_objectives_and_rules():
    text = (
        MINIMAL
        + OBJECTIF
        + """\
regles_logement:
  - id: q1_hors_qpv
    libelle: Un candidat Q1
    public: premier_quartile
"""
    )
    [p] = problems(text)
    assert (p.ligne, p.critere, p.element, p.champ) == (13, "q1_hors_qpv", "règle", "id")
    assert "identifiant « q1_hors_qpv » en double" in p.message


def test_hard_objective_has_no_penalty():
    [p] = problems(MINIMAL + OBJECTIF + "    nature: dure\n    penalite: 1000\n")
    assert (p.ligne, p.champ) == (13, "penalite")
    assert p.message.startswith("un objectif de nature « dure » est une contrainte et n'a pas de pénalité")


def test_penalty_must_be_positive():
    [p] = problems(MINIMAL + OBJECTIF + "    penalite: 0\n")
    assert p.champ == "penalite" and "strictement supérieur à 0" in p.message


def test_rule_minimum_cannot_exceed_candidates():
    text = (
        MINIMAL
        + """\
regles_logement:
  - id: deux_q1
    libelle: Deux candidats Q1
    public: premier_quartile
    minimum: 3
optimisation:
  candidats_par_logement: 2
"""
    )
    [p] = problems(text)
    assert (p.ligne, p.critere, p.champ) == (9, "deux_q1", "minimum") and "minimum (3) supérieur" in p.message


def test_dates_and_applicability():
    [p] = problems(MINIMAL + "  valide_au: 2025-12-31\n")
    assert (p.ligne, p.champ) == (5, "politique.valide_au")
    assert p.message == "valide_au doit être postérieure ou égale à valide_du"
    policy = charger_politique("p.yaml", texte=MINIMAL + "  valide_au: 2026-12-31\n")
    assert policy.applicable_a(date(2026, 12, 31)) and not policy.applicable_a(date(2027, 1, 1))


def test_effort_rate_weight_needs_a_threshold():
    [p] = problems(MINIMAL + "eligibilite:\n  poids_taux_effort: 5\n")
    assert p.champ == "eligibilite.poids_taux_effort" and "taux_effort_max" in p.message
    policy = charger_politique(
        "p.yaml", texte=MINIMAL + "eligibilite:\n  taux_effort_max: 0.33\n  poids_taux_effort: 5\n"
    )
    assert policy.eligibilite.taux_effort_max == 0.33


def test_several_problems_at_once():
    text = MINIMAL + OBJECTIF.replace("cible: 0.25", "cible: 2") + "optimisation:\n  graine: -1\n"
    assert {p.champ for p in problems(text)} == {"cible", "optimisation.graine"}


def test_errors_share_a_base_with_grid_errors():
    assert issubclass(ErreurPolitique, ErreurRegles) and issubclass(ErreurGrille, ErreurRegles)
    assert not issubclass(ErreurPolitique, ErreurGrille)
    with pytest.raises(ErreurGrille):  # a policy is not a grid
        charger_grille("politique.yaml", texte=MINIMAL)
