"""Eligibility of (unit, application) pairs, checked by hand against the official tables.

Ceilings: rules/parametres/plafonds_ressources.yaml, PLUS on 1 January 2026 (arrêté du
19 décembre 2025). Surfaces: R.822-25 (9, 16, 25, 34, 43... m²).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules.parametres
from cotation.demande import Demande
from cotation.table import table_depuis_demandes
from matching.eligibilite import (
    ETAPES,
    NOTE_OUVERT_A_TOUS,
    Eligibilite,
    OptionsEligibilite,
    candidats,
    motifs_inegibilite,
)
from matching.logement import Logement, table_depuis_logements
from rules.parametres import ParametreManquant, Parametres
from simulation.territoire import generer_demandes, generer_logements

CAL = date(2026, 3, 1)
LYON, PARIS_15, CRETEIL, BOULOGNE, VILLEURBANNE = "69123", "75115", "94028", "92012", "69266"


def demande(numero: int = 1, **kw) -> Demande:
    data = dict(
        numero_unique=f"0690000{numero:05d}", date_depot=date(2025, 6, 1), epci="200046977", nb_adultes=1,
        revenus_mensuels=1500, revenu_fiscal_reference=15000, situation_logement="locataire_parc_prive",
    )
    data.update(kw)
    return Demande(**data)


def logement(numero: int = 1, **kw) -> Logement:
    data = dict(
        identifiant=f"LGT{numero}", bailleur="Bailleur A", commune=LYON, epci="200046977", qpv=False,
        typologie="T2", pieces=2, surface=45, loyer=400, charges=50, financement="PLUS", reservataire="bailleur",
    )
    data.update(kw)
    return Logement(**data)


def tables(units: list[Logement], apps: list[Demande]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return table_depuis_logements(units), table_depuis_demandes(apps)


def eligible(cand, u: int) -> list[int]:
    return cand.demande[cand.de(u)].tolist()


def check(units, apps, options: OptionsEligibilite | None = None):
    """Candidates, with every pair's motifs checked against them."""
    logements, demandes = tables(units, apps)
    e = Eligibilite(logements, demandes, CAL, options)
    cand = e.candidats()
    for i in range(len(units)):
        for j in range(len(apps)):
            assert (e.motifs(i, j) == []) == (j in eligible(cand, i)), (i, j, e.motifs(i, j))
    return cand, e


COUPLE_AGE = dict(nb_adultes=2, couple=True, date_naissance_demandeur=date(1970, 1, 1),
                  date_naissance_conjoint=date(1972, 1, 1))  # 56 + 54 = 110 > 55: not a jeune ménage

# (commune, zone, household, unit, category, PLUS 2026 ceiling)
CAS_PLAFONDS = [
    (PARIS_15, 1, dict(), dict(), 1, 26920),
    (BOULOGNE, 1, dict(**COUPLE_AGE, nb_enfants_moins_14=1), dict(typologie="T3", pieces=3, surface=60), 3, 52740),
    (CRETEIL, 2, dict(**COUPLE_AGE, nb_enfants_moins_14=1), dict(typologie="T3", pieces=3, surface=60), 3, 48362),
    (CRETEIL, 2, dict(), dict(), 1, 26920),
    (LYON, 3, dict(**COUPLE_AGE, nb_enfants_moins_14=2), dict(typologie="T3", pieces=3, surface=60), 4, 45374),
    (LYON, 3, dict(), dict(), 1, 23403),
    (LYON, 3, dict(nb_enfants_moins_14=1), dict(), 3, 37584),  # one person with one dependant
    (LYON, 3, dict(nb_adultes=5, nb_enfants_14_plus=3, nb_enfants_moins_14=0),
     dict(typologie="T6", pieces=8, surface=120), 6, 60156 + 2 * 6710),  # 8 persons: category 6 + 2
]


@pytest.mark.parametrize(("commune", "zone", "menage", "unite", "categorie", "plafond"), CAS_PLAFONDS)
def test_income_just_under_and_just_over_the_plus_2026_ceiling(commune, zone, menage, unite, categorie, plafond):
    apps = [demande(1, revenu_fiscal_reference=plafond, **menage),
            demande(2, revenu_fiscal_reference=plafond + 1, **menage)]
    cand, e = check([logement(commune=commune, **unite)], apps)
    assert eligible(cand, 0) == [0]
    assert cand.plafond.tolist() == [plafond] and cand.revenu.tolist() == [plafond]
    [reason] = e.motifs(0, 1)
    expected = f"{plafond + 1:,}".replace(",", " ")
    assert reason == (f"revenu fiscal de référence de {expected} € supérieur au plafond PLUS zone {zone} catégorie "
                      f"{categorie} de {plafond:,} € au 2026-03-01".replace(",", " ")
                      .replace("catégorie 6 de", "catégorie 6 + 2 personne(s) supplémentaire(s) de"))
    assert cand.exclusions.loc[0, "revenus"] == 1 and cand.exclusions.loc[0, "eligibles"] == 1


def test_jeune_menage_gets_the_category_3_ceiling():
    young = dict(nb_adultes=2, couple=True, date_naissance_demandeur=date(1999, 1, 1),
                 date_naissance_conjoint=date(2000, 1, 1))  # 27 + 26 = 53 <= 55
    older = {**young, "date_naissance_conjoint": date(1990, 1, 1)}  # 27 + 36 = 63
    apps = [demande(1, revenu_fiscal_reference=35000, **young), demande(2, revenu_fiscal_reference=35000, **older)]
    cand, e = check([logement()], apps)
    assert eligible(cand, 0) == [0]
    assert cand.plafond.tolist() == [37584]  # category 3, autres régions
    assert e.motifs(0, 1) == ["revenu fiscal de référence de 35 000 € supérieur au plafond PLUS zone 3 catégorie 2 de "
                              "31 254 € au 2026-03-01"]


def test_a_disabled_member_moves_the_category_up():
    apps = [demande(1, revenu_fiscal_reference=30000, nb_personnes_handicapees=1),
            demande(2, revenu_fiscal_reference=30000)]
    cand, e = check([logement(commune=PARIS_15)], apps)
    assert eligible(cand, 0) == [0] and cand.plafond.tolist() == [40233]  # category 2, zone 1
    assert "catégorie 1 de 26 920 €" in e.motifs(0, 1)[0]


def test_over_occupation_r822_25():
    family = dict(**COUPLE_AGE, nb_enfants_moins_14=2, revenu_fiscal_reference=30000)  # 4 persons
    expecting = dict(**COUPLE_AGE, nb_enfants_moins_14=1, naissances_attendues=1, revenu_fiscal_reference=30000)
    units = [logement(1, surface=30), logement(2, surface=34)]
    cand, e = check(units, [demande(1, **family), demande(2, **expecting)])
    assert eligible(cand, 0) == [] and eligible(cand, 1) == [0, 1]
    assert e.motifs(0, 0) == ["sur-occupation : 30 m² pour 4 personne(s), minimum 34 m² (art. R.822-25)"]
    assert e.motifs(0, 1) == e.motifs(0, 0)  # the expected birth counts
    assert cand.exclusions.loc[0, "taille_sur_occupation"] == 2


def test_under_occupation_l621_2():
    units = [logement(1, typologie="T4", pieces=4, surface=80), logement(2), logement(3, typologie="T3", pieces=3)]
    cand, e = check(units, [demande(1)])
    assert [eligible(cand, u) for u in range(3)] == [[], [0], []]
    assert e.motifs(0, 0) == ["sous-occupation : 4 pièces pour 1 personne(s), au plus 2 (personnes + 1, art. L.621-2)"]
    assert cand.exclusions["taille_sous_occupation"].tolist() == [1, 0, 1]
    loose, _ = check(units, [demande(1)], OptionsEligibilite(sous_occupation_max=3))
    assert [eligible(loose, u) for u in range(3)] == [[0], [0], [0]]


def test_missing_plai_2026_and_pli_ceilings_raise():
    for financing in ("PLAI", "PLI"):
        logements, demandes = tables([logement(), logement(2, financement=financing)], [demande()])
        with pytest.raises(ParametreManquant, match=f"plafond de ressources {financing}.*LGT2"):
            candidats(logements, demandes, CAL)
        with pytest.raises(ParametreManquant):
            motifs_inegibilite(logements, demandes, 1, 0, CAL)


def test_pls_2025_zone_1_published_ceiling():
    logements, demandes = tables([logement(financement="PLS", commune=PARIS_15)],
                                 [demande(revenu_fiscal_reference=34693, date_depot=date(2024, 6, 1)),
                                  demande(2, revenu_fiscal_reference=34694, date_depot=date(2024, 6, 1))])
    cand = candidats(logements, demandes, date(2025, 3, 1))
    assert eligible(cand, 0) == [0] and cand.plafond.tolist() == [34693]


def test_a_missing_category_raises_only_when_an_active_household_needs_it(tmp_path):
    folder = tmp_path / "parametres"
    source = Path(rules.parametres.__file__).parent
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / "plafonds_ressources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["financements"]["PLUS"]["tables"][date(2026, 1, 1)]["zones"][3]["categorie_4"] = None
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    parametres = Parametres.charger(folder)
    family = dict(**COUPLE_AGE, nb_enfants_moins_14=2)  # category 4
    unit = logement()  # T2, 45 m²: fits both households
    logements, demandes = tables([unit], [demande(1), demande(2, date_depot=date(2026, 5, 1), **family)])
    assert eligible(candidats(logements, demandes, CAL, parametres=parametres), 0) == [0]  # the family is inactive
    logements, demandes = tables([unit], [demande(1), demande(2, **family)])
    with pytest.raises(ParametreManquant, match="zone 3 .*catégorie 4.*LGT1"):
        candidats(logements, demandes, CAL, parametres=parametres)


def test_contingent_prefet():
    options = OptionsEligibilite(contingents={"prefet": "dalo or prioritaire"})
    apps = [demande(1, date_decision_dalo=date(2025, 9, 1)), demande(2), demande(3, categories_prioritaires=["k"])]
    units = [logement(1, reservataire="prefet"), logement(2, reservataire="bailleur")]
    cand, e = check(units, apps, options)
    assert eligible(cand, 0) == [0, 2] and eligible(cand, 1) == [0, 1, 2]
    assert e.motifs(0, 1) == ["hors du contingent préfet : la condition « dalo or prioritaire » n'est pas remplie"]
    assert cand.exclusions["contingent"].tolist() == [1, 0]


def test_options_are_checked():
    with pytest.raises(ValueError, match="réservataire"):
        OptionsEligibilite(contingents={"mairie": "dalo"})
    with pytest.raises(ValueError, match="revenu_fiscal_manquant"):
        OptionsEligibilite(revenu_fiscal_manquant="deviner")
    with pytest.raises(ValueError, match="sous_occupation_max"):
        OptionsEligibilite(sous_occupation_max=-1)


def test_desired_communes_and_typologies():
    apps = [demande(1, communes_souhaitees=[VILLEURBANNE]), demande(2, typologies_souhaitees=["T1", "T3"]),
            demande(3, communes_souhaitees=[LYON, VILLEURBANNE], typologies_souhaitees=["T2"]), demande(4)]
    cand, e = check([logement()], apps)
    assert eligible(cand, 0) == [2, 3]
    assert e.motifs(0, 0) == ["commune 69123 hors des communes souhaitées (69266)"]
    assert e.motifs(0, 1) == ["typologie T2 hors des typologies souhaitées (T1, T3)"]
    assert cand.exclusions.loc[0, ["communes", "typologie"]].tolist() == [1, 1]
    free, _ = check([logement()], apps, OptionsEligibilite(communes_souhaitees=False, typologies_souhaitees=False))
    assert eligible(free, 0) == [0, 1, 2, 3]


def test_adapted_unit_is_reserved_when_a_needing_applicant_is_eligible():
    apps = [demande(1, besoin_accessibilite=True), demande(2), demande(3, nb_personnes_handicapees=1)]
    units = [logement(1, adapte_handicap=True), logement(2)]
    cand, e = check(units, apps)
    assert eligible(cand, 0) == [0, 2]  # the adapted unit: those who need it
    assert eligible(cand, 1) == [1, 2]  # accessibility need: only adapted units; a disabled member is no need
    assert e.motifs(0, 1) == ["logement adapté réservé aux demandeurs éligibles ayant besoin d'un logement adapté "
                              "(art. R.441-4)"]
    assert e.motifs(1, 0) == ["besoin d'un logement adapté : ce logement ne l'est pas"]
    assert cand.exclusions.loc[0, "reserve_handicap"] == 1 and cand.exclusions.loc[1, "accessibilite"] == 1
    assert "réservé aux 2 demandeur(s)" in cand.notes[0][0] and cand.notes[1] == []
    relaxed, _ = check(units, apps, OptionsEligibilite(accessibilite_exigee=False, adapte_handicap_prioritaire=False))
    assert eligible(relaxed, 0) == eligible(relaxed, 1) == [0, 1, 2]


def test_adapted_unit_is_open_to_all_when_no_needing_applicant_is_eligible():
    apps = [demande(1, besoin_accessibilite=True, revenu_fiscal_reference=90000), demande(2)]
    cand, e = check([logement(adapte_handicap=True)], apps)
    assert eligible(cand, 0) == [1]
    assert cand.notes[0] == [NOTE_OUVERT_A_TOUS]
    assert cand.exclusions.loc[0, "reserve_handicap"] == 0


def test_inactive_applications_are_never_eligible():
    apps = [demande(1), demande(2, date_depot=date(2026, 4, 1)),  # not yet registered
            demande(3, date_depot=date(2024, 1, 10), date_renouvellement=date(2025, 1, 10)),  # struck off
            demande(4, date_depot=date(2024, 1, 10), date_renouvellement=date(2025, 3, 10))]
    cand, e = check([logement(), logement(2, adapte_handicap=True)], apps)
    assert eligible(cand, 0) == [0, 3]
    assert e.motifs(0, 1) == ["demande déposée après le 2026-03-01 : pas encore enregistrée à la date de la CAL"]
    assert e.motifs(0, 2) == ["demande non active au 2026-03-01 : non renouvelée depuis plus d'un an"]
    counts = cand.exclusions[[*ETAPES]].sum(axis=1) + cand.exclusions["eligibles"]
    assert counts.tolist() == [2, 2]  # only active applications are counted


def test_missing_rfr_excluded_or_replaced_by_monthly_income():
    apps = [demande(1, revenu_fiscal_reference=None, revenus_mensuels=1900),  # 22 800 <= 23 403
            demande(2, revenu_fiscal_reference=None, revenus_mensuels=2000)]  # 24 000 > 23 403
    cand, e = check([logement()], apps)
    assert eligible(cand, 0) == [] and cand.exclusions.loc[0, "revenu_inconnu"] == 2
    assert e.motifs(0, 0) == ["revenu fiscal de référence inconnu (l'option « revenu_fiscal_manquant » exclut la "
                              "demande)"]
    options = OptionsEligibilite(revenu_fiscal_manquant="revenus_mensuels")
    cand, e = check([logement()], apps, options)
    assert eligible(cand, 0) == [0] and cand.revenu.tolist() == [22800]
    assert e.motifs(0, 1) == ["revenus annuels estimés (12 × revenus mensuels) de 24 000 € supérieur au plafond PLUS "
                              "zone 3 catégorie 1 de 23 403 € au 2026-03-01"]


def test_effort_rate_and_reste_a_vivre_are_information_only():
    apps = [demande(1, revenus_mensuels=1500, aide_logement=100, loyer_actuel=500),
            demande(2, revenus_mensuels=100, revenu_fiscal_reference=1200),
            demande(3, revenus_mensuels=0, revenu_fiscal_reference=0),
            demande(4, **COUPLE_AGE, nb_enfants_moins_14=1, revenus_mensuels=3000)]
    unit = logement(loyer=400, charges=50, typologie="T3", pieces=3, surface=60)
    cand, _ = check([unit], apps, OptionsEligibilite(sous_occupation_max=2))
    assert eligible(cand, 0) == [0, 1, 2, 3]
    assert cand.taux_effort[:3].tolist() == pytest.approx([350 / 1500, 450 / 100, np.inf])
    # UC (presumed modified OECD scale): 1 for one adult, 1.5 + 0.3 for a couple with a child under 14
    assert cand.reste_a_vivre_uc.tolist() == pytest.approx([1150, -350, -450, 2550 / 1.8])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    sous=st.integers(0, 2),
    rfr=st.sampled_from(["exclure", "revenus_mensuels"]),
    flags=st.tuples(*[st.booleans()] * 4),
    contingent=st.sampled_from([{}, {"prefet": "dalo or prioritaire"},
                                {"action_logement": "revenus_mensuels < 2500", "prefet": "not mutation"}]),
)
def test_candidats_agree_with_motifs_on_generated_pools(seed, sous, rfr, flags, contingent):
    communes = [PARIS_15, BOULOGNE, CRETEIL, LYON, VILLEURBANNE]
    demandes = generer_demandes(120, seed, CAL, communes=communes)
    logements = generer_logements(14, seed, CAL, communes=communes)
    logements["financement"] = "PLUS"
    logements["adapte_handicap"] = np.arange(14) % 3 == 0
    options = OptionsEligibilite(sous_occupation_max=sous, revenu_fiscal_manquant=rfr, accessibilite_exigee=flags[0],
                                 adapte_handicap_prioritaire=flags[1], communes_souhaitees=flags[2],
                                 typologies_souhaitees=flags[3], contingents=contingent)
    e = Eligibilite(logements, demandes, CAL, options)
    cand = e.candidats()
    active = int(e.active.sum())
    assert cand.debut[0] == 0 and cand.debut[-1] == len(cand.demande) and np.all(np.diff(cand.debut) >= 0)
    for i in range(len(logements)):
        mine = cand.demande[cand.de(i)]
        assert np.all(np.diff(mine) > 0) and e.active[mine].all()
        assert int(cand.exclusions.loc[i].sum()) == active
        for j in range(len(demandes)):
            reasons = e.motifs(i, j)
            assert (reasons == []) == (j in set(mine.tolist())), (i, j, reasons)
    assert np.all(cand.revenu <= cand.plafond)
    assert motifs_inegibilite(logements, demandes, 1, 2, CAL, options) == e.motifs(1, 2)
