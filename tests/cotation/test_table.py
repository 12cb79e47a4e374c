"""Import of application files: typed table out, or every error in French and nothing imported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from strategies import lots_de_demandes

from cotation.demande import Demande, colonnes_table
from cotation.table import ErreurDonnees, demandes_depuis_table, lire_demandes, table_depuis_demandes

HEADER = "numero_unique,date_depot,epci,nb_adultes,revenus_mensuels,situation_logement"
GOOD = "069000000001,2024-01-15,200046977,1,1300,locataire_parc_prive"


def write(tmp_path: Path, *lines: str, name: str = "demandes.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def errors(path: Path) -> ErreurDonnees:
    with pytest.raises(ErreurDonnees) as caught:
        lire_demandes(path)
    return caught.value


def test_good_file_gives_the_typed_table(tmp_path):
    table = lire_demandes(write(tmp_path, HEADER + ",motifs,date_renouvellement",
                                GOOD + ",logement_trop_cher;procedure_expulsion,15/01/2025"))
    assert list(table.columns) == colonnes_table()
    row = table.iloc[0]
    assert row["motif_procedure_expulsion"] and row["motif_logement_trop_cher"] and not row["motif_handicap"]
    assert row["date_renouvellement"] == pd.Timestamp("2025-01-15")
    assert row["nb_enfants_moins_14"] == 0 and row["aide_logement"] == 0


def test_missing_column(tmp_path):
    line = "069000000001,2024-01-15,200046977,1,locataire_parc_prive"
    exc = errors(write(tmp_path, HEADER.replace(",revenus_mensuels", ""), line))
    assert [(e.colonne, e.message) for e in exc.erreurs] == [("revenus_mensuels", "colonne obligatoire manquante")]
    assert "aucune ligne importée" in str(exc)


def test_unknown_column_with_suggestion(tmp_path):
    exc = errors(write(tmp_path, HEADER + ",revenu_mensuel", GOOD + ",12"))
    assert exc.erreurs[0].colonne == "revenu_mensuel"
    assert "vouliez-vous dire « revenus_mensuels »" in exc.erreurs[0].message


def test_not_a_date(tmp_path):
    exc = errors(write(tmp_path, HEADER, GOOD.replace("2024-01-15", "15 janvier")))
    [e] = exc.erreurs
    assert (e.ligne, e.colonne, e.numero_unique) == (2, "date_depot", "069000000001")
    assert str(e) == ("ligne 2, demande 069000000001, colonne « date_depot » : date invalide "
                      "(AAAA-MM-JJ ou JJ/MM/AAAA attendu), reçu « 15 janvier »")


def test_negative_income(tmp_path):
    [e] = errors(write(tmp_path, HEADER, GOOD.replace(",1300,", ",-5,"))).erreurs
    assert e.colonne == "revenus_mensuels" and "négative refusée" in e.message


def test_duplicate_registration_number(tmp_path):
    exc = errors(write(tmp_path, HEADER, GOOD, GOOD))
    assert [(e.ligne, e.colonne) for e in exc.erreurs] == [(2, "numero_unique"), (3, "numero_unique")]
    assert "en double" in exc.erreurs[0].message


def test_every_bad_cell_is_reported_and_nothing_imported(tmp_path):
    bad = [
        "069000000002,2024-02-30,200046977,1,1300,locataire_parc_prive",  # no 30 February
        "069000000003,2024-01-15,2000469,0,abc,chateau",  # bad EPCI, 0 adult, income, situation
        GOOD,
    ]
    exc = errors(write(tmp_path, HEADER + ",motifs", *[b + ",voyage" for b in bad]))
    found = {(e.ligne, e.colonne) for e in exc.erreurs}
    assert {(2, "date_depot"), (3, "epci"), (3, "nb_adultes"), (3, "revenus_mensuels"),
            (3, "situation_logement"), (2, "motifs"), (4, "motifs")} <= found


def test_cross_field_rules(tmp_path):
    exc = errors(write(tmp_path, HEADER + ",date_renouvellement,couple,loyer_actuel,aide_logement",
                       GOOD + ",2023-01-01,oui,300,400"))
    assert {e.colonne for e in exc.erreurs} == {"date_renouvellement", "couple", "aide_logement"}


def test_proposals_format(tmp_path):
    exc = errors(write(tmp_path, HEADER + ",propositions", GOOD + ",2025-01-01:refus"))
    assert exc.erreurs[0].colonne == "propositions" and "AAAA-MM-JJ:issue" in exc.erreurs[0].message


def test_unreadable_and_unknown_formats(tmp_path):
    assert "introuvable" in str(errors(tmp_path / "absent.csv"))
    assert "format non reconnu" in str(errors(write(tmp_path, "x", name="demandes.xlsx")))
    (tmp_path / "latin1.csv").write_bytes((HEADER + "\n" + GOOD.replace("prive", "privé")).encode("latin-1"))
    assert "UTF-8" in str(errors(tmp_path / "latin1.csv"))


def test_parquet_is_validated_like_csv(tmp_path):
    frame = pd.read_csv(write(tmp_path, HEADER, GOOD), dtype=str)
    frame["date_depot"] = pd.to_datetime(frame["date_depot"])
    frame["revenus_mensuels"] = -1.0
    frame.to_parquet(tmp_path / "d.parquet")
    [e] = errors(tmp_path / "d.parquet").erreurs
    assert (e.ligne, e.colonne) == (1, "revenus_mensuels")
    frame["revenus_mensuels"] = 1300.0
    frame.to_parquet(tmp_path / "d.parquet")
    assert lire_demandes(tmp_path / "d.parquet")["date_depot"].iloc[0] == pd.Timestamp("2024-01-15")


def test_record_rejects_what_the_table_rejects():
    with pytest.raises(ValueError, match="date_renouvellement antérieure"):
        Demande(numero_unique="x", date_depot=date(2024, 1, 1), date_renouvellement=date(2023, 1, 1),
                epci="200046977", nb_adultes=1, revenus_mensuels=1, situation_logement="autre")


@settings(max_examples=40, deadline=None)
@given(lots_de_demandes())
def test_records_and_table_round_trip(demandes):
    table = table_depuis_demandes(demandes)
    assert demandes_depuis_table(table) == demandes
    pd.testing.assert_frame_equal(table_depuis_demandes(demandes_depuis_table(table)), table)


@settings(max_examples=15, deadline=None)
@given(lots_de_demandes(max_size=5))
def test_csv_written_by_pandas_reads_back(tmp_path_factory, demandes):
    table = table_depuis_demandes(demandes)
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    from cotation.table import _to_strings

    pd.DataFrame([_to_strings(d) for d in demandes]).to_csv(path, index=False)
    pd.testing.assert_frame_equal(lire_demandes(path), table)
