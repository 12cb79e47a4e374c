"""Dated regulatory parameters: hand-checked values from the reference tables and the date rule."""

from __future__ import annotations

import pickle
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.parametres import (
    DOSSIER_PAR_DEFAUT,
    ParametreInvalide,
    ParametreManquant,
    Parametres,
    date_en_vigueur,
    valeur_en_vigueur,
)

LYON = "200046977"
TOULOUSE = "243100518"
GRAND_PARIS = "200054781"
JOUR_2026 = date(2026, 6, 15)


@pytest.fixture(scope="module")
def p() -> Parametres:
    return Parametres.charger()


# -- loading ---------------------------------------------------------------------------------


def test_charger_par_defaut_est_mis_en_cache() -> None:
    assert Parametres.charger() is Parametres.charger()
    assert Parametres.charger(DOSSIER_PAR_DEFAUT) is Parametres.charger()


def test_charger_un_autre_dossier(tmp_path: Path) -> None:
    copie = tmp_path / "parametres"
    shutil.copytree(DOSSIER_PAR_DEFAUT, copie, ignore=shutil.ignore_patterns("*.py", "__py*"))
    autres = Parametres.charger(copie)
    assert autres is not Parametres.charger()
    assert autres.plafond_ressources("PLUS", 3, 4, 0, JOUR_2026) == 45374


# -- the shared date rule --------------------------------------------------------------------


def test_valeur_en_vigueur_derniere_date_de_debut() -> None:
    valeurs = {date(2024, 1, 1): "a", date(2025, 1, 1): "b"}
    assert valeur_en_vigueur(valeurs, date(2024, 12, 31)) == "a"
    assert valeur_en_vigueur(valeurs, date(2025, 1, 1)) == "b"
    assert valeur_en_vigueur(valeurs, date(2030, 1, 1)) == "b"  # open-ended without an end


def test_valeur_en_vigueur_refuse_avant_la_premiere_et_apres_la_fin() -> None:
    valeurs = {date(2024, 1, 1): 1, date(2025, 1, 1): 2}
    fins = {date(2024, 1, 1): date(2024, 12, 31), date(2025, 1, 1): date(2025, 12, 31)}
    with pytest.raises(ParametreManquant, match="précède la première valeur connue"):
        valeur_en_vigueur(valeurs, date(2023, 12, 31), fins=fins)
    with pytest.raises(ParametreManquant, match="connue valide que jusqu'au 2025-12-31"):
        valeur_en_vigueur(valeurs, date(2026, 1, 1), fins=fins)
    with pytest.raises(ParametreManquant, match="aucune valeur"):
        valeur_en_vigueur({}, date(2026, 1, 1))


def test_valeur_en_vigueur_accepte_datetime_et_timestamp() -> None:
    valeurs = {date(2025, 1, 1): "b"}
    assert valeur_en_vigueur(valeurs, datetime(2025, 3, 1, 12, 0)) == "b"
    assert valeur_en_vigueur(valeurs, pd.Timestamp("2025-03-01")) == "b"


@given(
    debuts=st.sets(st.dates(date(2000, 1, 1), date(2040, 1, 1)), min_size=1, max_size=8),
    jour=st.dates(date(1999, 1, 1), date(2041, 1, 1)),
)
def test_date_en_vigueur_est_la_plus_recente_avant_le_jour(debuts: set[date], jour: date) -> None:
    anterieurs = [d for d in debuts if d <= jour]
    if not anterieurs:
        with pytest.raises(ParametreManquant):
            date_en_vigueur(debuts, jour)
    else:
        assert date_en_vigueur(debuts, jour) == max(anterieurs)


# -- income ceilings -------------------------------------------------------------------------


def test_plafonds_plus_2026_verifies_a_la_main(p: Parametres) -> None:
    assert p.plafond_ressources("PLUS", 3, 4, 0, JOUR_2026) == 45374
    assert p.plafond_ressources("PLUS", 1, 3, 0, JOUR_2026) == 52740
    # 7 persons in zone 2: category 6 plus one extra person.
    assert p.plafond_ressources("PLUS", 2, 6, 1, JOUR_2026) == 77171 + 8598
    assert p.plafond_ressources("plus", 2, 6, 3, JOUR_2026) == 77171 + 3 * 8598


def test_plafonds_plus_changent_au_premier_janvier(p: Parametres) -> None:
    assert p.plafond_ressources("PLUS", 3, 1, 0, date(2025, 12, 31)) == 23201
    assert p.plafond_ressources("PLUS", 3, 1, 0, date(2026, 1, 1)) == 23403
    assert p.plafond_ressources("PLUS", 1, 1, 0, date(2023, 7, 1)) == 25165
    assert p.plafond_ressources("PLUS", 2, 3, 0, date(2024, 7, 1)) == 46789


def test_plafonds_plus_hors_periode_connue(p: Parametres) -> None:
    with pytest.raises(ParametreManquant, match="précède la première valeur connue"):
        p.plafond_ressources("PLUS", 3, 1, 0, date(2022, 12, 31))
    with pytest.raises(ParametreManquant, match="jusqu'au 2026-12-31"):
        p.plafond_ressources("PLUS", 3, 1, 0, date(2027, 1, 1))


def test_plafond_plai_2026_manquant_message_en_francais(p: Parametres) -> None:
    with pytest.raises(ParametreManquant) as erreur:
        p.plafond_ressources("PLAI", 3, 1, 0, JOUR_2026)
    message = str(erreur.value)
    assert "plafond de ressources PLAI" in message
    assert "2026-06-15" in message
    assert "plafonds_ressources.yaml" in message
    assert "en citant l'arrêté" in message
    assert "2025-12-31" in message  # what is known


def test_plafonds_plai(p: Parametres) -> None:
    assert p.plafond_ressources("PLAI", 1, 2, 0, date(2022, 5, 1)) == 21805  # not OpenFisca's typo
    assert p.plafond_ressources("PLAI", 3, 6, 1, date(2022, 5, 1)) == 29886 + 3333
    assert p.plafond_ressources("PLAI", 1, 1, 0, date(2025, 5, 1)) == 14683
    # Single-source value, stored and marked as such.
    assert p.plafond_ressources("PLAI", 3, 1, 0, date(2025, 5, 1)) == 12759
    with pytest.raises(ParametreManquant, match="zone 3 .*catégorie 2"):
        p.plafond_ressources("PLAI", 3, 2, 0, date(2025, 5, 1))
    with pytest.raises(ParametreManquant, match="zone 2"):
        p.plafond_ressources("PLAI", 2, 1, 0, date(2025, 5, 1))
    # No table between the 2022 one (valid through 2022-12-31) and the 2025 one.
    with pytest.raises(ParametreManquant, match="jusqu'au 2022-12-31"):
        p.plafond_ressources("PLAI", 3, 1, 0, date(2023, 6, 1))


# Values below were read by hand in the OpenFisca-France parameter files (package version
# 176.1.8), prestations_sociales/aides_logement/logement_social/plu/... and .../plai/
# plafond_ressources/..., files categorie_N/{paris_communes_limitrophes,ile_de_france,
# autres_regions}.yaml and par_personne_supplementaire/*.yaml.


def test_plafonds_plus_2026_et_2024_conformes_a_openfisca(p: Parametres) -> None:
    jour = date(2026, 3, 1)
    assert p.plafond_ressources("PLUS", 1, 5, 0, jour) == 74919  # paris_communes_limitrophes
    assert p.plafond_ressources("PLUS", 2, 4, 0, jour) == 57930  # ile_de_france
    assert p.plafond_ressources("PLUS", 3, 2, 0, jour) == 31254  # autres_regions
    # 8 persons in zone 3: category 6 + 2 × par_personne_supplementaire/autres_regions.
    assert p.plafond_ressources("PLUS", 3, 6, 2, jour) == 60156 + 2 * 6710
    jour = date(2024, 3, 1)
    assert p.plafond_ressources("PLUS", 1, 6, 0, jour) == 81562
    assert p.plafond_ressources("PLUS", 2, 5, 0, jour) == 66347
    assert p.plafond_ressources("PLUS", 3, 4, 0, jour) == 43899
    assert p.plafond_ressources("PLUS", 1, 6, 1, jour) == 81562 + 9089


def test_plafonds_plai_2022_conformes_a_openfisca(p: Parametres) -> None:
    jour = date(2022, 3, 1)
    assert p.plafond_ressources("PLAI", 1, 5, 0, jour) == 37218
    assert p.plafond_ressources("PLAI", 2, 3, 0, jour) == 26210
    assert p.plafond_ressources("PLAI", 3, 4, 0, jour) == 22665
    assert p.plafond_ressources("PLAI", 2, 6, 1, jour) == 38339 + 4270


def test_plafonds_plai_2023_a_2026_absents_d_openfisca_restent_manquants(p: Parametres) -> None:
    # OpenFisca-France stops at 2022-01-01 for PLAI: nothing is stored for 2023, 2024 or 2026,
    # and nothing may be derived from the PLUS trend. The message says where to look.
    for jour in (date(2023, 3, 1), date(2024, 3, 1), date(2026, 3, 1)):
        for zone in (1, 2, 3):
            with pytest.raises(ParametreManquant) as erreur:
                p.plafond_ressources("PLAI", zone, 1, 0, jour)
            message = str(erreur.value)
            assert "OpenFisca-France s'arrête au 1er janvier 2022" in message
            assert "19 décembre 2025" in message and "annexe II" in message
    with pytest.raises(ParametreManquant, match="Zone 2 non retrouvée"):
        p.plafond_ressources("PLAI", 2, 1, 0, date(2025, 3, 1))


def test_plafonds_pls_published_values_and_plus_times_1_3(p: Parametres) -> None:
    # Published 2025 zone 1 values (arrêté du 23 décembre 2024)...
    assert p.plafond_ressources("PLS", 1, 1, 0, date(2025, 3, 1)) == 34693
    assert p.plafond_ressources("PLS", 1, 6, 1, date(2025, 3, 1)) == 108648 + 12107
    # ...are exactly PLUS × 1.3 rounded to the nearest euro, the rule the other tables follow.
    for year in (2024, 2025, 2026):
        for zone in (1, 2, 3):
            for cat in range(1, 7):
                jour = date(year, 3, 1)
                plus = p.plafond_ressources("PLUS", zone, cat, 0, jour)
                assert p.plafond_ressources("PLS", zone, cat, 0, jour) == int(plus * 1.3 + 0.5)
    assert p.plafond_ressources("PLS", 3, 4, 0, JOUR_2026) == 58986  # 45 374 × 1.3


def test_pls_2025_paris_vaut_plus_majore_de_30_pour_cent(p: Parametres) -> None:
    # A consistency check on stored values, not a rule used to derive PLS anywhere.
    jour = date(2025, 3, 1)
    for categorie in range(1, 7):
        plus = int(p.plafond_ressources("PLUS", 1, categorie, 0, jour))
        assert p.plafond_ressources("PLS", 1, categorie, 0, jour) == (plus * 13 + 5) // 10


def test_pli_inconnu(p: Parametres) -> None:
    with pytest.raises(ParametreManquant, match="PLI non retrouvés"):
        p.plafond_ressources("PLI", 1, 1, 0, JOUR_2026)
    with pytest.raises(ParametreManquant, match="OpenFisca-France n'a pas de paramètre PLI"):
        p.plafond_ressources("PLI", 3, 1, 0, date(2024, 3, 1))


def test_plafonds_arguments_invalides(p: Parametres) -> None:
    with pytest.raises(ValueError, match="Financement inconnu"):
        p.plafond_ressources("XYZ", 1, 1, 0, JOUR_2026)
    with pytest.raises(ValueError, match="zone invalide"):
        p.plafond_ressources("PLUS", 4, 1, 0, JOUR_2026)
    with pytest.raises(ValueError, match="catégorie de ménage invalide"):
        p.plafond_ressources("PLUS", 1, 7, 0, JOUR_2026)
    with pytest.raises(ValueError, match="seulement pour la catégorie 6"):
        p.plafond_ressources("PLUS", 1, 4, 1, JOUR_2026)


def test_plafonds_vectorises(p: Parametres) -> None:
    zones = np.array([3, 1, 2, 3, 2])
    categories = np.array([4, 3, 6, 1, 6])
    supplementaires = np.array([0, 0, 1, 0, 0])
    resultat = p.plafonds_ressources("PLUS", zones, categories, supplementaires, JOUR_2026)
    np.testing.assert_array_equal(resultat, [45374, 52740, 77171 + 8598, 23403, 77171])
    assert resultat.dtype == np.float64
    unitaires = [
        p.plafond_ressources("PLUS", int(z), int(c), int(n), JOUR_2026)
        for z, c, n in zip(zones, categories, supplementaires, strict=True)
    ]
    np.testing.assert_array_equal(resultat, unitaires)
    # Scalars broadcast; pandas inputs are accepted.
    diffuse = p.plafonds_ressources("PLUS", 3, pd.Series([1, 2]), 0, JOUR_2026)
    np.testing.assert_array_equal(diffuse, [23403, 31254])


def test_plafonds_vectorises_listent_les_cles_manquantes(p: Parametres) -> None:
    with pytest.raises(ParametreManquant) as erreur:
        p.plafonds_ressources(
            "PLAI",
            np.array([1, 3, 3, 2]),
            np.array([1, 1, 2, 4]),
            np.zeros(4, int),
            date(2025, 5, 1),
        )
    message = str(erreur.value)
    assert "zone 3 « Autres régions" in message and "catégorie 2" in message
    assert "zone 2 « Île-de-France" in message and "catégorie 4" in message


# -- first-quartile thresholds ---------------------------------------------------------------


def test_seuil_lyon(p: Parametres) -> None:
    assert p.seuil_premier_quartile(LYON, JOUR_2026) == 10800
    assert p.seuil_premier_quartile(LYON, date(2024, 1, 1)) == 10480
    assert p.seuil_premier_quartile(int(LYON), date(2025, 12, 31)) == 10740
    assert p.nom_epci(LYON) == "Métropole de Lyon"


def test_seuil_ile_de_france(p: Parametres) -> None:
    assert p.seuil_premier_quartile("200057958", JOUR_2026, region="11") == 12083
    assert p.seuil_premier_quartile(GRAND_PARIS, JOUR_2026) == 12083
    assert p.seuil_premier_quartile("region_ile_de_france", date(2024, 3, 1)) == 11615
    # A known EPCI keeps its own value whatever the region says.
    assert p.seuil_premier_quartile(LYON, JOUR_2026, region="84") == 10800


def test_seuil_epci_inconnu(p: Parametres) -> None:
    with pytest.raises(ParametreManquant, match="EPCI 999999999.*region='11'"):
        p.seuil_premier_quartile("999999999", JOUR_2026)
    with pytest.raises(ParametreManquant):
        p.seuil_premier_quartile("999999999", JOUR_2026, region="84")
    with pytest.raises(ParametreManquant, match="nom d'EPCI"):
        p.nom_epci("999999999")


def test_seuil_hors_periode_connue(p: Parametres) -> None:
    with pytest.raises(ParametreManquant, match="précède la première valeur connue"):
        p.seuil_premier_quartile(LYON, date(2023, 12, 31))
    with pytest.raises(ParametreManquant, match="jusqu'au 2026-12-31"):
        p.seuil_premier_quartile(LYON, date(2027, 1, 1))


def test_seuils_vectorises(p: Parametres) -> None:
    epcis = np.array([LYON, TOULOUSE, LYON, GRAND_PARIS, "200057958"], dtype=object)
    regions = np.array(["84", "76", "84", "11", "11"], dtype=object)
    resultat = p.seuils_premier_quartile(epcis, JOUR_2026, regions)
    np.testing.assert_array_equal(resultat, [10800, 9806, 10800, 12083, 12083])
    serie = p.seuils_premier_quartile(pd.Series([TOULOUSE, LYON]), date(2024, 6, 1))
    np.testing.assert_array_equal(serie, [9468, 10480])
    tous_idf = p.seuils_premier_quartile(np.array(["200057958", "200056232"]), JOUR_2026, "11")
    np.testing.assert_array_equal(tous_idf, [12083, 12083])


def test_seuils_vectorises_listent_tous_les_codes_manquants(p: Parametres) -> None:
    epcis = pd.Series([LYON, "111111111", "222222222", "111111111", None])
    with pytest.raises(ParametreManquant) as erreur:
        p.seuils_premier_quartile(epcis, JOUR_2026)
    message = str(erreur.value)
    assert "3 EPCI sans valeur" in message
    for code in ("111111111", "222222222", "(vide)"):
        assert code in message
    assert LYON not in erreur.value.cle


def test_epcis_connus(p: Parametres) -> None:
    connus = p.epcis_connus(JOUR_2026)
    assert LYON in connus and GRAND_PARIS in connus and TOULOUSE in connus
    assert all(len(code) == 9 and code.isdigit() for code in connus)
    assert connus == sorted(connus)
    assert p.epcis_connus(date(2023, 6, 1)) == []
    np.testing.assert_array_equal(p.seuils_premier_quartile(np.array(connus), JOUR_2026) > 0, True)


# -- other parameters ------------------------------------------------------------------------


def test_echelle_uc(p: Parametres) -> None:
    assert p.echelle_uc(JOUR_2026) == {
        "premier_adulte": 1.0,
        "autre_14_ans_et_plus": 0.5,
        "moins_14_ans": 0.3,
    }


def test_surfaces_minimales(p: Parametres) -> None:
    surfaces = p.surfaces_minimales(JOUR_2026)
    assert surfaces[2] == 16
    assert surfaces[8] == 70
    assert surfaces[1] == 9 and len(surfaces) == 9 and np.isnan(surfaces[0])
    surfaces[1] = 0  # the caller's copy; the parameters are unchanged
    assert p.surfaces_minimales(JOUR_2026)[1] == 9


def test_menage(p: Parametres) -> None:
    assert p.menage(JOUR_2026) == {
        "age_max_cumule_jeune_menage": 55,
        "naissances_attendues_a_charge": True,
        "handicap_categorie_supplementaire": 1,
    }


def test_delai_anormalement_long(p: Parametres) -> None:
    assert p.delai_anormalement_long("31", JOUR_2026) == 36
    assert p.delai_anormalement_long(31, JOUR_2026, typologie="T2") == 36
    assert p.delai_anormalement_long("35", JOUR_2026, typologie="T1") == 30
    assert p.delai_anormalement_long("35", JOUR_2026, typologie="T3") == 30
    assert p.delai_anormalement_long("35", JOUR_2026, typologie="T4") == 24
    assert p.delai_anormalement_long("35", JOUR_2026, typologie="T6+") == 24
    assert p.delai_anormalement_long("35", JOUR_2026, typologie=5) == 24
    with pytest.raises(ParametreManquant, match="préciser `typologie`"):
        p.delai_anormalement_long("35", JOUR_2026)
    with pytest.raises(ParametreManquant, match="département 75"):
        p.delai_anormalement_long("75", JOUR_2026)


def test_erreurs_picklables() -> None:
    erreur = ParametreManquant("seuil", "EPCI 1", date(2026, 1, 1), "rien", "f.yaml")
    copie = pickle.loads(pickle.dumps(erreur))
    assert str(copie) == str(erreur) and copie.cle == "EPCI 1"
    invalide = ParametreInvalide("f.yaml", "a.b", "champ inconnu")
    assert str(pickle.loads(pickle.dumps(invalide))) == str(invalide)


# -- malformed files -------------------------------------------------------------------------


def _copie(tmp_path: Path) -> Path:
    dossier = tmp_path / "parametres"
    shutil.copytree(DOSSIER_PAR_DEFAUT, dossier, ignore=shutil.ignore_patterns("*.py", "__py*"))
    return dossier


def _remplacer(fichier: Path, avant: str, apres: str) -> None:
    texte = fichier.read_text(encoding="utf-8")
    assert avant in texte
    fichier.write_text(texte.replace(avant, apres, 1), encoding="utf-8")


def test_yaml_illisible(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    (dossier / "menage.yaml").write_text("description: [non fermé\n", encoding="utf-8")
    with pytest.raises(ParametreInvalide, match="menage.yaml.*YAML illisible"):
        Parametres.charger(dossier)


def test_categorie_manquante(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(dossier / "plafonds_ressources.yaml", "            categorie_6: 60156\n", "")
    with pytest.raises(ParametreInvalide) as erreur:
        Parametres.charger(dossier)
    assert "plafonds_ressources.yaml" in str(erreur.value)
    assert erreur.value.cle == "financements.PLUS.tables.2026-01-01.zones.3.categorie_6"
    assert "champ obligatoire absent" in str(erreur.value)


def test_plafond_negatif(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(dossier / "plafonds_ressources.yaml", "categorie_4: 45374", "categorie_4: -45374")
    with pytest.raises(ParametreInvalide, match="zones.3.categorie_4 : doit être strictement"):
        Parametres.charger(dossier)


def test_date_invalide(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(dossier / "sur_occupation.yaml", "2019-09-01:", "2019-13-01:")
    with pytest.raises(ParametreInvalide, match="sur_occupation.yaml.*2019-13-01.*date AAAA-MM-JJ"):
        Parametres.charger(dossier)


def test_seuil_sans_arrete(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(
        dossier / "seuils_premier_quartile.yaml", "      2026-01-01: 10800", "      2027-01-01: 1"
    )
    with pytest.raises(ParametreInvalide, match="seuils_premier_quartile.yaml.*aucun arrêté"):
        Parametres.charger(dossier)


def test_code_siren_invalide(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(dossier / "seuils_premier_quartile.yaml", '"200046977":', '"20004697":')
    with pytest.raises(ParametreInvalide, match="epcis.20004697"):
        Parametres.charger(dossier)


def test_champ_inconnu_et_statut_inconnu(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(dossier / "delai_anormalement_long.yaml", "statut: source_secondaire", "statut: x")
    with pytest.raises(ParametreInvalide, match="delai_anormalement_long.yaml.*statut"):
        Parametres.charger(dossier)
    dossier = _copie(tmp_path / "b")
    _remplacer(dossier / "unites_consommation.yaml", "unite: UC", "unite: UC\n    unites: UC")
    with pytest.raises(ParametreInvalide, match="champ inconnu"):
        Parametres.charger(dossier)


def test_periodes_qui_se_chevauchent(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    _remplacer(
        dossier / "plafonds_ressources.yaml",
        "valable_jusqu_au: 2025-12-31",
        "valable_jusqu_au: 2026-03-31",
    )
    with pytest.raises(ParametreInvalide, match="chevauche"):
        Parametres.charger(dossier)


def test_fichier_absent(tmp_path: Path) -> None:
    dossier = _copie(tmp_path)
    (dossier / "menage.yaml").unlink()
    with pytest.raises(ParametreInvalide, match="menage.yaml.*fichier absent"):
        Parametres.charger(dossier)
