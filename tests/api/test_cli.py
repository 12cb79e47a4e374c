"""The `cotation` command line, end to end, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from api.cli import main

HEADER = "numero_unique,date_depot,date_renouvellement,epci,nb_adultes,nb_enfants_moins_14,revenus_mensuels," \
         "situation_logement,loyer_actuel,motifs"
ROWS = [
    "069000000001,2023-01-10,2026-01-10,200046977,1,2,1300,locataire_parc_prive,500,procedure_expulsion",
    "069000000002,2020-05-01,2025-06-01,200046977,2,0,2500,chez_parents,,",
    "069000000003,2024-02-01,2026-02-01,200046977,1,0,900,locataire_parc_social,450,logement_trop_petit",
]


@pytest.fixture
def demandes(tmp_path) -> Path:
    path = tmp_path / "demandes.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_valide_accepts_the_shipped_grids(capsys):
    assert main(["valide", "toulouse_metropole", "paris_2014", "rhone_primo_demandeurs", "exemple_complet"]) == 0
    assert capsys.readouterr().out.count("grille valide") == 4


def test_valide_reports_every_problem_and_fails(tmp_path, capsys):
    bad = tmp_path / "g.yaml"
    bad.write_text("grille:\n  territoire: X\ncriteres: []\n", encoding="utf-8")
    assert main(["valide", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "g.yaml, ligne 2, champ « grille.version » : champ obligatoire manquant" in err
    assert "au moins 1 élément" in err


def test_score_writes_scores_ranks_and_points(demandes, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(demandes), "--grille", "rhone_primo_demandeurs", "--date", "2026-03-01",
                 "--sortie", str(out)]) == 0
    scores = pd.read_csv(out, dtype={"numero_unique": str})
    first = scores.set_index("numero_unique").loc["069000000001"]
    assert first["score"] == 35 and first["rang"] == 1 and first["points_menace_expulsion"] == 20
    # the mutation request is outside the primo-demandeurs grid: not ranked
    assert scores.set_index("numero_unique").loc["069000000003", "rang"] == 0
    assert "3 demandes lues, 3 actives, 2 classées" in capsys.readouterr().out


def test_score_with_a_mutation_grid_and_a_primo_grid(demandes, tmp_path):
    mutation = tmp_path / "mutation.yaml"
    mutation.write_text(
        "grille: {territoire: T, version: m1, valide_du: 2024-01-01, statut: exemple, demandes: mutation}\n"
        "criteres:\n  - {id: trop_petit, libelle: Logement trop petit, type: drapeau, "
        "condition: motif_logement_trop_petit, points: 12}\n", encoding="utf-8")
    out = tmp_path / "scores.parquet"
    assert main(["score", str(demandes), "--grille", "rhone_primo_demandeurs", "--grille", str(mutation),
                 "--date", "2026-03-01", "--sortie", str(out)]) == 0
    scores = pd.read_parquet(out).set_index("numero_unique")
    assert scores.loc["069000000003", "score"] == 12 and scores.loc["069000000003", "rang"] == 1
    assert scores.loc["069000000001", "rang"] == 1  # ranked in its own grid
    assert scores.loc["069000000003", "grille"].endswith("(m1)")


def test_two_grids_of_the_same_scope_are_refused(demandes, capsys):
    assert main(["score", str(demandes), "--grille", "exemple_complet", "--grille", "toulouse_metropole",
                 "--date", "2026-03-01"]) == 1
    assert "séparer les demandes de mutation" in capsys.readouterr().err


def test_explique_prints_the_criteria(demandes, capsys):
    assert main(["explique", str(demandes), "--grille", "rhone_primo_demandeurs", "--date", "2026-03-01",
                 "--numero", "069000000001"]) == 0
    out = capsys.readouterr().out
    assert "+20 Menacé d'expulsion" in out and "Total : 35 points — rang 1 sur 2 demandes classées." in out


def test_explique_unknown_number(demandes, capsys):
    assert main(["explique", str(demandes), "--grille", "exemple_complet", "--date", "2026-03-01",
                 "--numero", "nope"]) == 1
    assert "demande « nope » absente" in capsys.readouterr().err


def test_bad_file_is_refused_whole(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text(HEADER + "\n" + ROWS[0].replace("1300", "-1") + "\n" + ROWS[0] + "\n", encoding="utf-8")
    assert main(["score", str(path), "--grille", "exemple_complet", "--date", "2026-03-01"]) == 1
    err = capsys.readouterr().err
    assert "aucune ligne importée" in err and "valeur négative refusée" in err and "en double" in err


def test_bad_date_argument_in_french(demandes, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["score", str(demandes), "--grille", "exemple_complet", "--date", "01/03/2026"])
    assert caught.value.code == 2
    assert "date invalide « 01/03/2026 » : format AAAA-MM-JJ attendu" in capsys.readouterr().err


def test_grid_out_of_force_and_missing_parameter(demandes, capsys):
    assert main(["score", str(demandes), "--grille", "paris_2014", "--date", "2026-03-01"]) == 1
    assert "n'est pas en vigueur le 2026-03-01" in capsys.readouterr().err
    assert main(["score", str(demandes), "--grille", "exemple_complet", "--date", "2027-03-01"]) == 1
    assert "seuil du premier quartile" in capsys.readouterr().err


def test_publie_html(tmp_path, capsys):
    out = tmp_path / "grille.html"
    assert main(["publie", "toulouse_metropole", "--sortie", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "+50 points" in page


def test_genere_then_propose_end_to_end(tmp_path, capsys):
    import json

    assert main(["genere", "--demandes", "1500", "--logements", "25", "--graine", "5", "--sortie", str(tmp_path)]) == 0
    policy = tmp_path / "politique.yaml"
    text = open("rules/politiques/defaut.yaml", encoding="utf-8").read()
    policy.write_text(text.replace("plafond_inconnu: erreur", "plafond_inconnu: ecarter_logement"), encoding="utf-8")
    out = tmp_path / "cal"
    args = ["propose", str(tmp_path / "demandes.csv"), str(tmp_path / "logements.csv"), "--grille", "exemple_complet",
            "--politique", str(policy), "--date", "2026-03-01", "--sortie", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "CAL du 2026-03-01" in printed and "Propositions :" in printed
    data = json.loads((out / "propositions.json").read_text(encoding="utf-8"))
    # within the default policy's target gap (0.01 %), or proven optimal
    assert data["resolution"]["statut"] in {"optimal", "realisable"} and data["resolution"]["ecart_relatif"] <= 1e-4
    numbers = [c["numero_unique"] for u in data["logements"] for c in u["candidats"]]
    assert len(numbers) == len(set(numbers))
    sheet = (out / "feuille_cal.md").read_text(encoding="utf-8")
    assert sheet.startswith("# Préparation de la CAL du 01/03/2026")
    first = (out / "propositions.json").read_bytes()
    assert main(args) == 0  # same input, same output (timings aside)
    again = json.loads((out / "propositions.json").read_text(encoding="utf-8"))
    data["resolution"].pop("secondes"), again["resolution"].pop("secondes")
    assert data == again and first


def test_propose_stops_on_an_unknown_ceiling_by_default(tmp_path, capsys):
    assert main(["genere", "--demandes", "300", "--logements", "40", "--graine", "5", "--sortie", str(tmp_path)]) == 0
    assert main(["propose", str(tmp_path / "demandes.csv"), str(tmp_path / "logements.csv"), "--grille",
                 "exemple_complet", "--date", "2026-03-01", "--sortie", str(tmp_path / "cal")]) == 1
    assert "plafond de ressources PLAI" in capsys.readouterr().err


def test_valide_recognises_shipped_policies(capsys):
    assert main(["valide", "rules/politiques/defaut.yaml", "pratique_actuelle"]) == 0
    out = capsys.readouterr().out
    assert out.count("politique valide") == 2


def test_simule_two_arms_writes_the_report(tmp_path, capsys):
    code = main(["simule", "--methode", "optimiseur", "--politique", "defaut", "--methode", "glouton",
                 "--politique", "pratique_actuelle", "--demandes", "1500", "--logements-par-an", "240",
                 "--mois", "2", "--repliques", "2", "--processus", "1", "--sortie", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "A : exemple_complet, defaut, optimiseur" in out and "B : exemple_complet, pratique_actuelle, glouton" in out
    html = (tmp_path / "rapport.html").read_text(encoding="utf-8")
    assert "Qui gagne" in html and "q1" in (tmp_path / "resultats.json").read_text(encoding="utf-8")
    assert (tmp_path / "repliques.json").exists()


def test_simule_refuses_three_arms_and_bad_probability(tmp_path, capsys):
    assert main(["simule", "--methode", "glouton", "--methode", "glouton", "--methode", "glouton",
                 "--sortie", str(tmp_path)]) == 1
    assert "au plus deux bras" in capsys.readouterr().err
    assert main(["simule", "--refus", "1.5", "--sortie", str(tmp_path)]) == 1
    assert "entre 0 et 1" in capsys.readouterr().err


def test_simule_national_covers_every_epci(tmp_path, capsys):
    code = main(["simule", "--national", "--methode", "glouton", "--demandes", "600", "--logements-par-an", "120",
                 "--mois", "1", "--repliques", "1", "--processus", "1", "--sortie", str(tmp_path)])
    assert code == 0
    summary = (tmp_path / "synthese.md").read_text(encoding="utf-8")
    assert "Métropole de Lyon" in summary and "Métropole du Grand Paris" in summary
    assert (tmp_path / "200046977" / "rapport.html").exists()
