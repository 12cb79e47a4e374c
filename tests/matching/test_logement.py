"""The unit record and table: typed columns, every bad cell reported in French, zones of communes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from cotation.table import ErreurDonnees, en_texte
from matching.logement import (
    COMMUNES_LIMITROPHES_PARIS,
    CommuneHorsZone,
    Logement,
    colonnes_logement,
    lire_logements,
    logements_depuis_table,
    table_depuis_logements,
    typer_logements,
    zone_de_commune,
)
from simulation.territoire import generer_logements

HEADER = ("identifiant,bailleur,commune,epci,qpv,typologie,pieces,surface,loyer,charges,financement,"
          "reservataire,adapte_handicap,date_disponibilite")
GOOD = "LGT1,Bailleur A,69123,200046977,non,T3,3,62.5,480.20,90,PLUS,prefet,oui,2026-03-15"


def write(tmp_path: Path, *lines: str, name: str = "logements.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def errors(path: Path) -> ErreurDonnees:
    with pytest.raises(ErreurDonnees) as caught:
        lire_logements(path)
    return caught.value


def test_good_file_gives_the_typed_table(tmp_path):
    table = lire_logements(write(tmp_path, HEADER, GOOD, GOOD.replace("LGT1", "LGT2").replace("69123", "75115")))
    assert list(table.columns) == colonnes_logement()
    row = table.iloc[0]
    assert (row["identifiant"], row["commune"], row["typologie"], row["financement"]) == ("LGT1", "69123", "T3", "PLUS")
    assert row["pieces"] == 3 and row["surface"] == 62.5 and row["loyer"] == 480.20 and row["charges"] == 90
    assert not row["qpv"] and row["adapte_handicap"] and not row["quartier_veille"]
    assert row["date_disponibilite"] == pd.Timestamp("2026-03-15")
    assert table["zone"].tolist() == [3, 1] and table["zone"].dtype == np.int8  # derived from the commune


def test_every_bad_cell_is_reported_in_french_and_nothing_is_imported(tmp_path):
    lines = [
        HEADER,
        GOOD.replace("69123", "6912"),  # line 2: bad commune
        GOOD.replace("LGT1", "LGT2").replace("PLUS", "PLX"),  # line 3: unknown financing
        GOOD.replace("LGT1", "LGT3").replace("62.5", "-20"),  # line 4: negative surface
        GOOD.replace("LGT1", "LGT3"),  # line 5: duplicate identifier
        GOOD.replace("LGT1", "LGT5").replace("T3,3", "T3,4"),  # line 6: typology vs rooms
        GOOD.replace("LGT1", "LGT6").replace("T3,3", "T6,5"),  # line 7: T6 needs 6 rooms or more
        GOOD.replace("LGT1", "LGT7").replace("T3,3", "T6,7"),  # line 8: fine
    ]
    exc = errors(write(tmp_path, *lines))
    found = {(e.ligne, e.colonne): e.message for e in exc.erreurs}
    assert found[(2, "commune")] == "format invalide, reçu « 6912 »"
    assert found[(3, "financement")].startswith("valeur inconnue ; valeurs possibles : PLAI, PLUS, PLS, PLI")
    assert found[(4, "surface")] == "valeur hors limites (doit être > 0), reçu « -20 »"
    duplicate = "identifiant en double dans le fichier, reçu « LGT3 »"
    assert found[(4, "identifiant")] == found[(5, "identifiant")] == duplicate
    assert found[(6, "typologie")] == "typologie T3 incohérente avec le nombre de pièces (T3 = 3 pièces), reçu « T3 »"
    assert found[(7, "typologie")].startswith(
        "typologie T6 incohérente avec le nombre de pièces (T6 = 6 pièces ou plus)")
    assert not any(line == 8 for line, _ in found)
    assert len(exc.erreurs) == 7 and exc.total == 7
    assert "aucune ligne importée" in str(exc)
    assert "ligne 2, logement LGT1, colonne « commune » : format invalide" in str(exc)


def test_missing_and_unknown_columns(tmp_path):
    exc = errors(write(tmp_path, HEADER.replace(",loyer", ",loyers"), GOOD))
    found = {(e.colonne, e.message) for e in exc.erreurs}
    assert ("loyer", "colonne obligatoire manquante") in found
    assert ("loyers", "colonne inconnue (vouliez-vous dire « loyer » ?)") in found


def test_zone_column_is_optional_but_checked_against_the_commune(tmp_path):
    table = lire_logements(write(tmp_path, HEADER + ",zone", GOOD + ",3"))
    assert table["zone"].tolist() == [3]
    exc = errors(write(tmp_path, HEADER + ",zone", GOOD + ",1"))
    [e] = exc.erreurs
    assert e.colonne == "zone" and e.message.startswith("zone incohérente avec la commune, qui est en zone 3")
    exc = errors(write(tmp_path, HEADER + ",zone", GOOD + ",4"))
    assert exc.erreurs[0].message.startswith("valeur trop grande (maximum 3)")


def test_corsica_and_overseas_units_are_rejected(tmp_path):
    exc = errors(write(tmp_path, HEADER, GOOD.replace("69123", "2A004"), GOOD.replace("LGT1", "LGT2").replace(
        "69123", "97411")))
    messages = {(e.ligne, e.colonne): e.message for e in exc.erreurs}
    assert "Corse" in messages[(2, "commune")]
    assert "outre-mer" in messages[(3, "commune")]


def test_parquet_file(tmp_path):
    table = lire_logements(write(tmp_path, HEADER, GOOD))
    path = tmp_path / "logements.parquet"
    table.to_parquet(path, index=False)
    again = lire_logements(path)
    pd.testing.assert_frame_equal(again, table)


def test_generated_units_are_valid_and_round_trip():
    generated = generer_logements(200, 3, date(2026, 3, 1))
    table = typer_logements(en_texte(generated))
    assert len(table) == 200 and set(table["zone"]) == {3}
    records = logements_depuis_table(table)
    assert all(isinstance(x, Logement) for x in records)
    pd.testing.assert_frame_equal(table_depuis_logements(records), table)


def test_record_derives_the_zone_and_checks_typology():
    unit = Logement(identifiant="L1", bailleur="B", commune="92012", epci="200054781", qpv=False, typologie="T2",
                    pieces=2, surface=40, loyer=500, financement="PLUS", reservataire="prefet")
    assert unit.zone == 1 and unit.charges == 0 and unit.adapte_handicap is False
    with pytest.raises(ValidationError, match="typologie T2 incohérente"):
        Logement(**{**unit.model_dump(), "pieces": 3})
    with pytest.raises(ValidationError, match="zone incohérente"):
        Logement(**{**unit.model_dump(), "zone": 2})
    with pytest.raises(ValidationError):
        Logement(**{**unit.model_dump(), "financement": "PLX"})
    with pytest.raises(ValidationError, match="Corse"):
        Logement(**{**unit.model_dump(), "commune": "2B033", "zone": None})


@pytest.mark.parametrize(("code", "zone"), [
    ("75056", 1), ("75115", 1), ("75101", 1), ("92012", 1), ("93001", 1), ("94080", 1), ("92040", 1),
    ("94028", 2), ("92050", 2), ("77288", 2), ("95127", 2), ("93008", 2),
    ("69123", 3), ("13055", 3), ("60088", 3),
])
def test_zone_de_commune(code, zone):
    assert zone_de_commune([code]).tolist() == [zone]


def test_zone_de_commune_is_vectorized():
    codes = np.array(["75056", "94028", "69123", "92012"] * 1000, dtype=object)
    assert zone_de_commune(codes).tolist() == [1, 2, 3, 1] * 1000


def test_paris_limitrophes_list():
    assert len(COMMUNES_LIMITROPHES_PARIS) == 29
    assert {c[:2] for c in COMMUNES_LIMITROPHES_PARIS} == {"92", "93", "94"}
    assert COMMUNES_LIMITROPHES_PARIS["92012"] == "Boulogne-Billancourt"
    assert COMMUNES_LIMITROPHES_PARIS["93001"] == "Aubervilliers"


@pytest.mark.parametrize("code", ["2A004", "2B033", "97411", "97101", "98714"])
def test_corsica_and_overseas_raise(code):
    with pytest.raises(CommuneHorsZone, match=code):
        zone_de_commune(["69123", code])


def test_malformed_code_raises():
    with pytest.raises(CommuneHorsZone, match="code INSEE invalide"):
        zone_de_commune(["6912"])
