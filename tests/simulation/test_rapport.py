"""The HTML/JSON report of a simulated year of CALs: files, JSON round trip, French formatting,
embedded plots, A/B summary sentences, escaping and byte-for-byte determinism."""

from __future__ import annotations

import copy
import html as html_
import json
import math
import re

import numpy as np
import pytest

from simulation.rapport import (
    duree_fr,
    ecrire_rapport,
    nombre_fr,
    phrases_comparaison,
    pourcentage_fr,
    rapport_html,
)

MOIS = [f"2026-{m:02d}" for m in range(1, 13)]
PNG = "data:image/png;base64,"


def _stat(moyenne, ecart):
    return {"moyenne": moyenne, "bas": moyenne - ecart, "haut": moyenne + ecart}


def _objectif(ident, libelle, groupe, cible, finale, nan_janvier=False):
    """An objective whose year-to-date share climbs towards `finale`; January may have no lease yet."""
    par_mois = []
    for i, mois in enumerate(MOIS):
        if nan_janvier and i == 0:
            par_mois.append({"mois": mois, "moyenne": float("nan"), "bas": None, "haut": None})
        else:
            m = finale - 0.04 + 0.04 * i / 11
            par_mois.append({"mois": mois, **_stat(round(m, 4), 0.03)})
    return {
        "id": ident,
        "libelle": libelle,
        "groupe": groupe,
        "cible": cible,
        "par_mois": par_mois,
        "annee": _stat(finale, 0.02),
        "probabilite_atteinte": 0.85 if finale >= cible else 0.1,
    }


def _attente(rng, centre):
    groupes = {"prioritaire": 0.8, "dalo": 0.6, "premier_quartile": 1.1, "mutation": 1.3, "tous": 1.0}
    sortie = {}
    for groupe, facteur in groupes.items():
        valeurs = rng.gamma(4.0, centre * facteur / 4.0, size=300).round().astype(int).tolist()
        moyenne = float(np.mean(valeurs))
        sortie[groupe] = {
            "moyenne": _stat(moyenne, 15.0),
            "mediane": _stat(float(np.median(valeurs)), 15.0),
            "valeurs": valeurs,
        }
    return sortie


def _bras(libelle, q1, prioritaire_pref, centre, seed):
    rng = np.random.default_rng(seed)
    return {
        "libelle": libelle,
        "objectifs": [
            _objectif("q1_hors_qpv", "Attributions hors QPV au premier quartile", "200046977", 0.25, q1, True),
            _objectif("prioritaires", "Attributions aux ménages prioritaires", "prefet", 0.25, prioritaire_pref),
            _objectif("prioritaires", "Attributions aux ménages prioritaires", "action_logement", 0.25, 0.27),
            _objectif("prioritaires", "Attributions aux ménages prioritaires", "collectivite", 0.25, 0.22),
        ],
        "indicateurs": {
            "menages_loges": _stat(4800.0, 100.0),
            "refus": _stat(1500.0, 60.0),
            "logements_sans_trois_candidats": _stat(120.0, 20.0),
            "logements_restes_vacants": _stat(35.0, 8.0),
            "demandes_en_attente_fin": _stat(51200.0, 300.0),
        },
        "loges_par_groupe": {
            "prioritaire": _stat(1200.0, 40.0),
            "dalo": _stat(300.0, 20.0),
            "premier_quartile": _stat(1100.0, 40.0),
            "mutation": _stat(1400.0, 50.0),
            "tous": _stat(4800.0, 100.0),
        },
        "attente_jours": _attente(rng, centre),
    }


@pytest.fixture
def resultats():
    return {
        "titre": "Simulation d'une année de CAL",
        "scenario": {
            "territoire": {"epci": "200046977", "demandes": 50000, "logements_par_an": 5000},
            "mois": 12,
            "debut": "2026-01-01",
            "repliques": 20,
            "graine": 0,
            "execution": "local, 2 processus",
        },
        "bras": {
            "A": _bras("Pratique actuelle (glouton)", 0.17, 0.21, 600, 1),
            "B": _bras("Grille exemple_complet, politique defaut, optimiseur", 0.26, 0.26, 560, 2),
        },
        "comparaison": {
            "objectifs": [
                {"id": "q1_hors_qpv", "groupe": "200046977", "libelle": "Attributions hors QPV au premier quartile",
                 "difference": {"moyenne": 0.09, "bas": 0.07, "haut": 0.11}},
                {"id": "prioritaires", "groupe": "prefet", "libelle": "Attributions aux ménages prioritaires",
                 "difference": {"moyenne": 0.05, "bas": 0.02, "haut": 0.08}},
                {"id": "prioritaires", "groupe": "action_logement", "libelle": "Attributions aux ménages prioritaires",
                 "difference": {"moyenne": 0.0, "bas": -0.02, "haut": 0.02}},
                {"id": "prioritaires", "groupe": "collectivite", "libelle": "Attributions aux ménages prioritaires",
                 "difference": {"moyenne": float("nan"), "bas": None, "haut": None}},
            ],
            "loges_par_groupe": {
                "prioritaire": {"moyenne": 30.0, "bas": 10.0, "haut": 50.0},
                "dalo": {"moyenne": -12.0, "bas": -20.0, "haut": -3.0},
                "premier_quartile": {"moyenne": 5.0, "bas": -8.0, "haut": 18.0},
                "mutation": {"moyenne": -20.0, "bas": -40.0, "haut": 2.0},
                "tous": {"moyenne": 0.0, "bas": -5.0, "haut": 5.0},
            },
            "attente_jours": {
                "prioritaire": {"moyenne": -20.0, "bas": -35.0, "haut": -5.0},
                "dalo": {"moyenne": 2.0, "bas": -6.0, "haut": 9.0},
                "premier_quartile": {"moyenne": -4.0, "bas": -10.0, "haut": 1.0},
                "mutation": {"moyenne": 25.0, "bas": 12.0, "haut": 40.0},
                "tous": {"moyenne": -3.0, "bas": -7.0, "haut": 0.5},
            },
        },
        "validation": [
            {"libelle": "Part Q1 hors QPV, pratique actuelle (glouton)", "valeur": 0.17,
             "attendu": "15 % à 20 % (Ancols 2019 : 15,5 %)", "conforme": True},
            {"libelle": "Ménages logés par an", "valeur": 4800, "attendu": "environ 5 000", "conforme": False},
        ],
        "secondes": 123.4,
    }  # fmt: skip


def _un_bras(resultats):
    seul = copy.deepcopy(resultats)
    del seul["bras"]["B"]
    seul["comparaison"] = None
    return seul


def _sans_nan(objet):
    """What the JSON must hold: the input with NaN replaced by null."""
    if isinstance(objet, float) and math.isnan(objet):
        return None
    if isinstance(objet, dict):
        return {k: _sans_nan(v) for k, v in objet.items()}
    if isinstance(objet, list):
        return [_sans_nan(v) for v in objet]
    return objet


def _texte(html):
    """Visible text, tags removed, to search sentences that span inline markup."""
    return html_.unescape(re.sub(r"<[^>]+>", "", html))


def test_ecrit_les_deux_fichiers(resultats, tmp_path):
    chemin = ecrire_rapport(resultats, tmp_path / "sortie" / "annee")
    assert chemin == tmp_path / "sortie" / "annee" / "rapport.html"
    assert chemin.is_file()
    assert (chemin.parent / "resultats.json").is_file()


def test_json_relu_egal_a_l_entree(resultats, tmp_path):
    chemin = ecrire_rapport(resultats, tmp_path)
    brut = (chemin.parent / "resultats.json").read_text(encoding="utf-8")
    assert "NaN" not in brut
    assert "année" in brut  # ensure_ascii=False
    assert json.loads(brut) == _sans_nan(resultats)


def test_json_accepte_numpy(resultats, tmp_path):
    resultats["bras"]["A"]["attente_jours"]["dalo"]["valeurs"] = np.array([400, 410], dtype=np.int64)
    resultats["secondes"] = np.float64("nan")
    chemin = ecrire_rapport(resultats, tmp_path)
    relu = json.loads((chemin.parent / "resultats.json").read_text(encoding="utf-8"))
    assert relu["bras"]["A"]["attente_jours"]["dalo"]["valeurs"] == [400, 410]
    assert relu["secondes"] is None


def test_html_objectifs_cibles_et_graphiques(resultats, tmp_path):
    html = ecrire_rapport(resultats, tmp_path).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html
    assert "Attributions hors QPV au premier quartile" in html
    assert "Attributions aux ménages prioritaires" in html
    assert "25 %" in html
    assert "action_logement" in html  # several groups: the group is shown
    # 2 objectives + waiting-time distributions + A/B differences
    assert html.count(PNG) == 4
    assert "<script" not in html and "http" not in html  # self-contained
    texte = _texte(html)
    assert "non atteint" in texte and "atteint" in texte
    assert "4\u202f800" in texte  # thousands the French way
    assert "26,0 %" in texte  # comma decimal
    assert "5e et 95e centiles des répliques" in texte
    assert "2 min 03 s" in texte
    assert "Validation" in texte and "non conforme" in texte
    assert "17,0 %" in texte


def test_phrase_de_comparaison(resultats, tmp_path):
    html = ecrire_rapport(resultats, tmp_path).read_text(encoding="utf-8")
    texte = _texte(html)
    assert 'id="comparaison"' in html
    assert "Le bras B loge davantage de ménages prioritaires (30 de plus, intervalle à 90 % : 10 à 50)" in texte
    assert "Le bras A loge davantage de ménages reconnus DALO (12 de plus, intervalle à 90 % : 3 à 20)" in texte
    assert (
        "Avec le bras B, attendent moins longtemps qu'avec le bras A : ménages prioritaires "
        "(20 jours de moins en moyenne, intervalle à 90 % : 5 à 35)"
    ) in texte
    assert (
        "Avec le bras B, attendent plus longtemps qu'avec le bras A : demandeurs de mutation "
        "(25 jours de plus en moyenne, intervalle à 90 % : 12 à 40)"
    ) in texte
    assert "Pas de différence nette du nombre de ménages logés pour" in texte
    assert "Le bras B fait mieux sur « Attributions hors QPV au premier quartile (200046977) »" in texte


def test_phrases_suivent_les_intervalles(resultats):
    """Only the interval decides: a large mean whose interval crosses 0 is not called a gain."""
    comparaison = {
        "loges_par_groupe": {"dalo": {"moyenne": 80.0, "bas": -1.0, "haut": 160.0}},
        "attente_jours": {"mutation": {"moyenne": 3.0, "bas": 0.5, "haut": 6.0}},
    }
    (question, reponse), (question_attente, reponse_attente) = phrases_comparaison(comparaison, "A", "B")
    assert question == "Qui gagne ?"
    assert "davantage" not in reponse
    assert "Pas de différence nette" in reponse
    assert question_attente == "Qui attend plus longtemps ?"
    assert reponse_attente.startswith("Avec le bras B, attendent plus longtemps qu'avec le bras A : demandeurs")


def test_un_seul_bras_sans_comparaison(resultats, tmp_path):
    html = ecrire_rapport(_un_bras(resultats), tmp_path).read_text(encoding="utf-8")
    assert 'id="comparaison"' not in html
    assert "Comparaison" not in html
    assert "Écart" not in html
    assert html.count(PNG) == 3


def test_sans_valeurs_individuelles(resultats, tmp_path):
    for bras in resultats["bras"].values():
        for stats in bras["attente_jours"].values():
            stats["valeurs"] = []
    html = ecrire_rapport(resultats, tmp_path).read_text(encoding="utf-8")
    assert html.count(PNG) == 3
    assert "pas de graphique de distribution" in html


def test_texte_echappe(resultats, tmp_path):
    libelle = 'Quota <script>alert("x")</script> & co'
    resultats["bras"]["A"]["objectifs"][0]["libelle"] = libelle
    resultats["bras"]["B"]["libelle"] = "Bras <b>B</b>"
    resultats["scenario"]["execution"] = "<i>local</i>"
    html = ecrire_rapport(resultats, tmp_path).read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>B</b>" not in html and "<i>local</i>" not in html
    assert "Quota &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert "Bras &lt;b&gt;B&lt;/b&gt;" in html


def test_deterministe(resultats, tmp_path):
    premier = ecrire_rapport(resultats, tmp_path / "un").read_bytes()
    second = ecrire_rapport(copy.deepcopy(resultats), tmp_path / "deux").read_bytes()
    assert premier == second
    assert rapport_html(resultats).encode("utf-8") == premier


def test_formats_francais():
    assert pourcentage_fr(0.25) == "25 %"
    assert pourcentage_fr(0.255) == "25,5 %"
    assert pourcentage_fr(0.2, 1) == "20,0 %"
    assert pourcentage_fr(None) == pourcentage_fr(float("nan")) == "—"
    assert nombre_fr(1234567.891, 2) == "1\u202f234\u202f567,89"
    assert nombre_fr(-20.0) == "\u221220"
    assert nombre_fr(30.0, signe=True) == "+30"
    assert nombre_fr(-0.004, 2) == "0,00"
    assert duree_fr(12.34) == "12,3 s"
    assert duree_fr(3725) == "1 h 02 min"
