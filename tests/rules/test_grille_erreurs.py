"""Bad grids: every problem is reported in French with its file, line, criterion and field."""

from __future__ import annotations

import pytest

from rules.chargement import ErreurGrille, charger_grille
from rules.expression import ErreurExpression, analyser

HEAD = """\
grille:
  territoire: Test
  version: "1"
  valide_du: 2024-01-01
  statut: exemple
criteres:
"""

DALO = """\
  - id: dalo
    libelle: Reconnu DALO
    type: drapeau
    condition: dalo
    points: 50
"""


def problems(text: str) -> list:
    with pytest.raises(ErreurGrille) as caught:
        charger_grille("grille.yaml", texte=text)
    return caught.value.problemes


def test_valid_minimal_grid_loads():
    grid = charger_grille("grille.yaml", texte=HEAD + DALO)
    assert grid.criteres[0].points == 50


def test_malformed_yaml_names_the_line():
    [p] = problems(HEAD + "  - id: dalo\n    libelle: [non fermé\n")
    assert p.fichier == "grille.yaml" and p.ligne == 9
    assert p.message == ("YAML mal formé : fin de fichier inattendue (crochet, accolade ou guillemet non fermé)"
                         " (élément commencé ligne 8)")


def test_duplicate_key_is_an_error_not_an_overwrite():
    [p] = problems(HEAD + DALO + "    points: 40\n")
    assert "clé « points » en double" in p.message and p.ligne == 12


def test_unknown_field_with_suggestion():
    [p] = problems(HEAD + DALO + "    pont: 3\n")
    assert (p.ligne, p.critere, p.champ) == (12, "dalo", "pont")
    assert p.message.startswith("champ inconnu") and "points" in p.message


def test_wrong_type_names_line_criterion_and_field():
    [p] = problems(HEAD + DALO.replace("points: 50", "points: cinquante"))
    assert (p.ligne, p.critere, p.champ) == (11, "dalo", "points")
    assert p.message == "nombre attendu, reçu 'cinquante'"
    assert str(p) == "grille.yaml, ligne 11, critère « dalo », champ « points » : nombre attendu, reçu 'cinquante'"


def test_unknown_criterion_kind():
    [p] = problems(HEAD + DALO.replace("type: drapeau", "type: drapau"))
    assert p.critere == "dalo" and "type de critère inconnu « drapau »" in p.message
    assert "drapeau, categorie, duree" in p.message


def test_missing_field():
    [p] = problems(HEAD + DALO.replace("    points: 50\n", ""))
    assert (p.critere, p.champ, p.message) == ("dalo", "points", "champ obligatoire manquant")


def test_bad_date_in_metadata():
    [p] = problems(HEAD.replace("2024-01-01", "2024-13-01") + DALO)
    assert p.ligne == 4 and p.champ == "grille.valide_du" and "date attendue" in p.message


@pytest.mark.parametrize("condition, expected", [
    ("__import__('os').system('rm -rf /')", "fonction non autorisée"),
    ("dalo.__class__.__bases__", "accès à un attribut"),
    ("().__class__", "accès à un attribut"),
    ("open('/etc/passwd')", "fonction non autorisée « open »"),
    ("[x for x in (1,)]", "compréhensions sont interdites"),
    ("nationalite == 'x'", "art. 225-1 du Code pénal"),
    ("dalo and", "syntaxe invalide"),
    ("situation_logement == 'hotell'", "vouliez-vous dire « hotel »"),
    ("revenus_mensuels", "doit donner un booléen"),
    ("lambda: 1", "lambda"),
    ("2 ** 1000000000", "puissance"),
])
def test_expressions_cannot_run_code(condition, expected):
    [p] = problems(HEAD + DALO.replace("condition: dalo", f'condition: "{condition}"'))
    assert p.critere == "dalo" and p.champ == "condition"
    assert expected in p.message


def test_every_problem_is_listed_at_once():
    text = HEAD + DALO.replace("points: 50", "points: x") + DALO.replace("id: dalo", "id: autre").replace(
        "type: drapeau", "type: inconnu")
    assert len(problems(text)) == 2


def test_cross_references_are_checked():
    text = HEAD + DALO.replace("points: 50", "points: 50\n    groupe: inexistant")
    [p] = problems(text)
    assert "groupe « inexistant » non déclaré" in p.message


def test_unknown_variable_and_forbidden_ground_in_category_table():
    text = HEAD + """\
  - id: origine
    libelle: Origine
    type: categorie
    variable: nationalite
    points: {a: 1}
"""
    [p] = problems(text)
    assert "motif de discrimination interdit" in p.message and p.critere == "origine"


def test_expression_checker_directly():
    assert analyser("min(anciennete_mois, 24) * 2", "nombre").noms == {"anciennete_mois"}
    with pytest.raises(ErreurExpression, match="« in » s'écrit"):
        analyser("dalo in ['a']")
    with pytest.raises(ErreurExpression, match="trop longue"):
        analyser("dalo or " * 200 + "dalo")
