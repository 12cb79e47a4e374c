"""Synthetic territories: social-housing applications and vacant units drawn from public statistics.

Why: the demo, the tests and the benchmarks need pools of any size that look like a real
territory, without any personal data. Every distribution is a parameter of `calibration.yaml`,
where each figure names its source (a section of statistiques.md and the publication quoted
there) and its status (P, S, D or hypothèse). `marges` measures the published marginals back on
a generated table, so the calibration is checked, not just asserted.

How: one numpy draw per column (no Python loop over rows), so a million applications take a few
seconds; a fixed seed gives the same frame bit for bit. The application table has exactly the
columns and dtypes of `cotation.table.typer_demandes`, so it is valid input for the scorer, and
`ecrire_territoire` writes files that `cotation.table.lire_demandes` reads back identically.

Amounts are in euros of `annee_base` and indexed yearly up to the reference date's year.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cotation.demande import colonnes_table
from cotation.table import en_texte, forme_fichier
from rules.vocabulaire import (
    CATEGORIES_PRIORITAIRES,
    ISSUES_PROPOSITION,
    MOTIFS,
    SITUATIONS_LOGEMENT,
    TYPOLOGIES,
)

CHEMIN_CALIBRATION = Path(__file__).with_name("calibration.yaml")
EPCI_DEFAUT = "200046977"  # Métropole de Lyon

TYPES_MENAGE = ("personne_seule", "monoparentale", "couple", "autre")
# Situation groups share a motif distribution and an income multiplier.
GROUPES_SITUATION: dict[str, tuple[str, ...]] = {
    "sans_logement": ("sans_abri", "habitat_precaire", "hotel", "structure_hebergement", "logement_foyer"),
    "heberge": ("hebergement_tiers", "chez_parents"),
    "loge": ("locataire_parc_prive", "logement_fonction", "proprietaire", "autre"),
    "mutation": ("locataire_parc_social",),
}
SITUATIONS = tuple(SITUATIONS_LOGEMENT)
GROUPES = tuple(GROUPES_SITUATION)
GROUPE_DE_SITUATION = np.array(
    [next(i for i, g in enumerate(GROUPES) if s in GROUPES_SITUATION[g]) for s in SITUATIONS]
)
MOTIFS_CODES = tuple(MOTIFS)
LETTRES = tuple(CATEGORIES_PRIORITAIRES)
ISSUES = tuple(ISSUES_PROPOSITION)
FINANCEMENTS = ("PLAI", "PLUS", "PLS")
RESERVATAIRES = ("prefet", "action_logement", "collectivite", "bailleur")
JOURS_AN = 365
JOURS_MOIS = 30.44
ANNEE_PLAFONDS_PLAI = 2022  # year of `plafonds_plai_2022` in calibration.yaml
SEUIL_INDECOSA_2019 = 9720  # €/UC/an, "1er quartile national" of 2019 (statistiques.md §1a)

assert sorted(s for g in GROUPES_SITUATION.values() for s in g) == sorted(SITUATIONS)


# Calibration -----------------------------------------------------------------------------------

Statut = Literal["P", "S", "D", "hypothèse"]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(min_length=3)
    statut: Statut
    note: str = ""


class Chiffre(_Source):
    valeur: float


class Table(_Source):
    valeur: dict[str, float]


def _normalise(v: dict[str, float]) -> dict[str, float]:
    if any(x < 0 for x in v.values()):
        raise ValueError("probabilité négative")
    total = sum(v.values())
    if abs(total - 1) > 0.002:
        raise ValueError(f"les probabilités doivent sommer à 1 (somme {total:.4f})")
    return {k: x / total for k, x in v.items()}


class Repartition(_Source):
    """Probabilities over named outcomes (sum 1 up to rounding, renormalised)."""

    valeur: dict[str, float]

    @field_validator("valeur")
    @classmethod
    def _somme(cls, v: dict[str, float]) -> dict[str, float]:
        return _normalise(v)


class Repartitions(_Source):
    """One `Repartition` per group."""

    valeur: dict[str, dict[str, float]]

    @field_validator("valeur")
    @classmethod
    def _sommes(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return {g: _normalise(p) for g, p in v.items()}


class Cible(_Source):
    """A marginal the generated table must show, within an absolute tolerance."""

    valeur: float
    tolerance: float = Field(gt=0)


class Controle(_Source):
    """A published figure the generator deliberately does not reproduce, and why."""

    valeur: float
    raison: str = Field(min_length=3)


def _cles(rep: _Source, attendues: tuple[str, ...], nom: str, toutes: bool = True) -> None:
    keys = set(rep.valeur)  # type: ignore[attr-defined]
    unknown = keys - set(attendues)
    if unknown:
        raise ValueError(f"{nom} : clés inconnues {sorted(unknown)}")
    if toutes and keys != set(attendues):
        raise ValueError(f"{nom} : clés manquantes {sorted(set(attendues) - keys)}")


class ParametresCommuns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    indexation_annuelle: Chiffre
    surfaces_par_pieces: Table
    dispersion_surface: Chiffre
    dispersion_loyer: Chiffre
    charges_m2: Chiffre
    communes_defaut: Table


class ParametresDemandes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    types_menage: Repartition
    part_couples_avec_enfants: Chiffre
    nombre_enfants: Repartition
    part_enfants_moins_14: Chiffre
    adultes_menage_autre: Repartition
    part_menage_autre_avec_enfants: Chiffre
    part_autres_personnes_a_charge: Chiffre
    situations: Repartition
    age_demandeur: Table
    age_chez_parents: Table
    ecart_age_conjoint: Chiffre
    naissances_attendues: Table
    handicap: Table
    motif_principal: Repartitions
    part_motif_secondaire: Chiffre
    motifs_secondaires: Repartitions
    seuil_q1_base: Chiffre
    part_sous_q1: Chiffre
    sigma_revenu: Chiffre
    multiplicateurs_revenu_situation: Table
    multiplicateurs_revenu_menage: Table
    rfr: Table
    plafonds_plai_2022: Table
    anciennete_part_plus_un_an: Chiffre
    anciennete_moyenne_jours: Chiffre
    anciennete_maximum_annees: Chiffre
    part_expirees: Chiffre
    part_dalo: Chiffre
    poids_dalo_situation: Table
    delai_legal_dalo_mois: Chiffre
    part_dalo_au_dela_delai: Chiffre
    anciennete_decision_dalo_mois: Chiffre
    prioritaires: Table
    pdalhpd: Table
    relogement_anru_mutation: Chiffre
    part_t1_personne_seule: Chiffre
    typologie_superieure: Table
    ecart_pieces_actuelles: Repartition
    loyer_m2_social: Chiffre
    loyer_m2_prive: Chiffre
    redevance_foyer: Chiffre
    aide_logement: Table
    nombre_communes: Repartition
    propositions: Table
    nombre_propositions: Repartition
    issues_propositions: Repartition

    def model_post_init(self, _context) -> None:
        _cles(self.types_menage, TYPES_MENAGE, "types_menage")
        _cles(self.situations, SITUATIONS, "situations")
        _cles(self.poids_dalo_situation, SITUATIONS, "poids_dalo_situation")
        _cles(self.multiplicateurs_revenu_situation, GROUPES, "multiplicateurs_revenu_situation")
        _cles(self.multiplicateurs_revenu_menage, TYPES_MENAGE, "multiplicateurs_revenu_menage")
        _cles(self.prioritaires, LETTRES, "prioritaires")
        _cles(self.issues_propositions, ISSUES, "issues_propositions")
        if not 0 < self.anciennete_maximum_annees.valeur <= 100:
            raise ValueError("anciennete_maximum_annees : entre 0 et 100 ans")
        if set(self.motif_principal.valeur) != set(GROUPES):
            raise ValueError(f"motif_principal : un groupe par situation attendu {GROUPES}")
        if set(self.motifs_secondaires.valeur) != {"primo", "mutation"}:
            raise ValueError("motifs_secondaires : groupes « primo » et « mutation » attendus")
        for rep in (*self.motif_principal.valeur.values(), *self.motifs_secondaires.valeur.values()):
            unknown = set(rep) - set(MOTIFS_CODES)
            if unknown:
                raise ValueError(f"motifs inconnus : {sorted(unknown)}")


class ParametresLogements(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pieces: Repartition
    part_t6_parmi_5_plus: Chiffre
    part_qpv: Chiffre
    loyer_m2: Chiffre
    coefficients_loyer_financement: Table
    financement: Repartition
    reservataire: Repartition
    part_adapte_handicap: Chiffre
    bailleurs: Repartition
    delai_disponibilite_jours: Chiffre

    def model_post_init(self, _context) -> None:
        _cles(self.pieces, ("1", "2", "3", "4", "5+"), "pieces")
        _cles(self.financement, FINANCEMENTS, "financement")
        _cles(self.coefficients_loyer_financement, FINANCEMENTS, "coefficients_loyer_financement")
        _cles(self.reservataire, RESERVATAIRES, "reservataire")


class _Fichier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    annee_base: int = Field(ge=2000, le=2100)
    commun: ParametresCommuns
    demandes: ParametresDemandes
    logements: ParametresLogements
    cibles: dict[str, Cible]
    cibles_logements: dict[str, Cible]
    controles: dict[str, Controle]


@dataclass(frozen=True)
class Calibration:
    """The validated content of calibration.yaml: generator parameters and target marginals."""

    annee_base: int
    commun: ParametresCommuns
    demandes: ParametresDemandes
    logements: ParametresLogements
    cibles: Mapping[str, Cible]
    cibles_logements: Mapping[str, Cible]
    controles: Mapping[str, Controle]
    chemin: Path

    def indexation(self, annee: int) -> float:
        """Factor from euros of `annee_base` to euros of `annee`."""
        return (1 + self.commun.indexation_annuelle.valeur) ** (annee - self.annee_base)


def charger_calibration(chemin: Path | None = None) -> Calibration:
    """Read and validate a calibration file (the shipped one by default, read once)."""
    return _lire_calibration(Path(chemin) if chemin is not None else CHEMIN_CALIBRATION)


@cache
def _lire_calibration(chemin: Path) -> Calibration:
    with open(chemin, encoding="utf-8") as f:
        data = _Fichier.model_validate(yaml.safe_load(f))
    return Calibration(
        annee_base=data.annee_base,
        commun=data.commun,
        demandes=data.demandes,
        logements=data.logements,
        cibles=MappingProxyType(dict(data.cibles)),
        cibles_logements=MappingProxyType(dict(data.cibles_logements)),
        controles=MappingProxyType(dict(data.controles)),
        chemin=chemin,
    )


# Drawing helpers -------------------------------------------------------------------------------


def _probas(valeur: Mapping[str, float], cles: tuple[str, ...]) -> np.ndarray:
    p = np.array([valeur.get(k, 0.0) for k in cles], dtype=float)
    return p / p.sum()


def _tirer(rng: np.random.Generator, n: int, valeur: Mapping[str, float], cles: tuple[str, ...]) -> np.ndarray:
    """Indices into `cles`, drawn with the given probabilities."""
    return rng.choice(len(cles), size=n, p=_probas(valeur, cles))


def _tirer_par_groupe(u: np.ndarray, groupe: np.ndarray, matrice: np.ndarray) -> np.ndarray:
    """Categorical draw whose probabilities depend on the row's group (one uniform per row)."""
    cum = np.cumsum(matrice, axis=1)
    out = np.empty(len(u), dtype=np.int64)
    for g in range(matrice.shape[0]):  # loop over a handful of groups, not over rows
        rows = groupe == g
        out[rows] = np.searchsorted(cum[g], u[rows], side="right")
    return np.minimum(out, matrice.shape[1] - 1)


def _bruit(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Log-normal noise of mean 1."""
    return np.exp(rng.normal(-sigma * sigma / 2, sigma, n))


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _mediane_revenu(p: ParametresDemandes) -> float:
    """Median income per UC (euros of annee_base) such that `part_sous_q1` falls below Q1.

    Income per UC is log-normal with a multiplier per situation group and per household type, so
    the overall share below the threshold is a mixture of normal CDFs; solved by bisection.
    """
    sigma, q = p.sigma_revenu.valeur, math.log(p.seuil_q1_base.valeur)
    groups = {g: sum(p.situations.valeur.get(s, 0) for s in GROUPES_SITUATION[g]) for g in GROUPES}
    mix = [
        (wg * wt, math.log(p.multiplicateurs_revenu_situation.valeur[g] * p.multiplicateurs_revenu_menage.valeur[t]))
        for g, wg in groups.items()
        for t, wt in p.types_menage.valeur.items()
    ]
    lo, hi = q - 5, q + 5
    for _ in range(100):
        mid = (lo + hi) / 2
        share = sum(w * _phi((q - mid - shift) / sigma) for w, shift in mix)
        lo, hi = (mid, hi) if share > p.part_sous_q1.valeur else (lo, mid)
    return math.exp((lo + hi) / 2)


def _surfaces(rng: np.random.Generator, pieces: np.ndarray, commun: ParametresCommuns) -> np.ndarray:
    table = commun.surfaces_par_pieces.valeur
    base = np.array([table[str(k)] for k in range(1, 7)], dtype=float)
    r = np.clip(pieces, 1, None)
    mean = np.where(r <= 6, base[np.minimum(r, 6) - 1], base[5] + 15.0 * (r - 6))
    return np.maximum(9.0, np.round(mean * _bruit(rng, len(r), commun.dispersion_surface.valeur)))


def _codes_communes(communes: list[str] | None, cal: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """INSEE codes and their weights (calibrated for the default list, uniform otherwise)."""
    if communes is None:
        table = cal.commun.communes_defaut.valeur
        return np.array(list(table), dtype=object), _probas(table, tuple(table))
    if not communes:
        raise ValueError("la liste des communes est vide")
    return np.array(communes, dtype=object), np.full(len(communes), 1 / len(communes))


def _constante(n: int, valeur: object) -> np.ndarray:
    """An object column holding one shared value (np.full would build n separate strings)."""
    out = np.empty(n, dtype=object)
    out[:] = valeur
    return out


def _jours(dates_: np.ndarray) -> np.ndarray:
    return dates_.astype("datetime64[D]").astype("datetime64[s]")


# Applications ----------------------------------------------------------------------------------
#
# Each helper draws one aspect of the applications from the shared generator, reading what earlier
# helpers drew from `h` (household and intermediate arrays) and adding its own. The order of the
# calls is part of the contract: changing it changes every seeded territory.


def generer_demandes(
    n: int,
    graine: int,
    date_reference: date,
    epci: str = EPCI_DEFAUT,
    departement: str | None = "69",
    communes: list[str] | None = None,
    calibration: Calibration | None = None,
) -> pd.DataFrame:
    """`n` pending applications on `date_reference`, typed as `typer_demandes` returns them."""
    _verifier_territoire(n, epci, departement, communes)
    cal = calibration or charger_calibration()
    p = cal.demandes
    rng = np.random.default_rng([graine, 1])  # stream 1: applications, stream 2: units
    ref = np.datetime64(date_reference, "D")
    idx = cal.indexation(date_reference.year)
    h: dict[str, np.ndarray] = {}
    _menages(rng, n, p, h)
    _motifs_et_handicap(rng, n, p, h)
    _revenus(rng, n, p, cal, idx, h)
    _anciennete_et_dalo(rng, n, p, h)
    _logement_actuel(rng, n, p, cal, idx, h)
    _priorites(rng, n, p, h)
    _typologies(rng, n, p, h)
    communes_text = _communes_souhaitees(rng, n, communes, cal, p)
    proposals = _propositions(rng, n, h["age_days"], ref, p)

    def born(age: np.ndarray) -> np.ndarray:
        return _jours(ref - np.ceil(age * 365.25).astype(np.int64).astype("timedelta64[D]"))

    nat = np.datetime64("NaT", "s")
    depot = ref - h["age_days"].astype("timedelta64[D]")
    renew = depot + (h["renewals"] * JOURS_AN).astype("timedelta64[D]")
    c: dict[str, object] = {
        "numero_unique": _numeros("000" if departement is None else departement.zfill(3), h["age_days"]),
        "date_depot": _jours(depot),
        "date_renouvellement": np.where(h["renewals"] >= 1, _jours(renew), nat),
        "epci": _constante(n, epci),
        "departement": _constante(n, departement),
        "nb_adultes": h["adults"].astype(np.int16),
        "couple": h["couple"],
        "date_naissance_demandeur": born(h["age"]),
        "date_naissance_conjoint": np.where(h["couple"], born(h["age_spouse"]), nat),
        "nb_enfants_moins_14": h["under14"].astype(np.int16),
        "nb_enfants_14_plus": (h["children"] - h["under14"]).astype(np.int16),
        "nb_autres_personnes_a_charge": h["others"].astype(np.int16),
        "naissances_attendues": h["births"].astype(np.int16),
        "nb_personnes_handicapees": h["disabled"].astype(np.int16),
        "revenus_mensuels": h["monthly"],
        "revenu_fiscal_reference": h["rfr"],
        "situation_logement": pd.Categorical.from_codes(h["situation"], categories=list(SITUATIONS)),
        "loyer_actuel": h["rent"],
        "aide_logement": h["aid"],
        "surface_actuelle": np.where(h["dwelling"], h["surface"], np.nan),
        "pieces_actuelles": np.where(h["dwelling"], h["rooms"], np.nan).astype(float),
        **{f"motif_{m}": h[f"motif_{m}"] for m in MOTIFS_CODES},
        "date_decision_dalo": np.where(h["dalo"], _jours(ref - h["decision_age"].astype("timedelta64[D]")), nat),
        **{f"prioritaire_{k}": h[f"prioritaire_{k}"] for k in LETTRES},
        "pdalhpd": h["pdalhpd"],
        "relogement_anru": h["anru"],
        "communes_souhaitees": communes_text,
        **{f"typologie_T{i}": (h["typology"] == i) | (h["wider"] & (h["typology"] + 1 == i)) for i in range(1, 7)},
        "besoin_accessibilite": h["access"],
        "propositions": proposals,
    }
    return pd.DataFrame(c, columns=colonnes_table())


def _verifier_territoire(n: int, epci: str, departement: str | None, communes: list[str] | None) -> None:
    if n < 0:
        raise ValueError("le nombre à générer doit être positif ou nul")
    if not re.fullmatch(r"\d{9}", epci):
        raise ValueError(f"code EPCI invalide « {epci} » : 9 chiffres (SIREN) attendus")
    if departement is not None and not re.fullmatch(r"\d{2,3}|2A|2B", departement):
        raise ValueError(f"département invalide « {departement} »")
    bad = [x for x in communes or [] if not re.fullmatch(r"\d{5}|2[AB]\d{3}", x)]
    if bad or (communes is not None and len(set(communes)) != len(communes)):
        raise ValueError(f"communes invalides ou en double : {bad or communes}")


def _moyenne(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else 0.0


def _menages(rng: np.random.Generator, n: int, p: ParametresDemandes, h: dict) -> None:
    """Household type and size, current housing situation, ages and expected births."""
    kind = _tirer(rng, n, p.types_menage.valeur, TYPES_MENAGE)
    seule, mono, couple, autre = (kind == i for i in range(4))
    children = _tirer(rng, n, p.nombre_enfants.valeur, ("1", "2", "3", "4", "5")) + 1
    has_children = mono | (couple & (rng.random(n) < p.part_couples_avec_enfants.valeur))
    has_children |= autre & (rng.random(n) < p.part_menage_autre_avec_enfants.valeur)
    children = np.where(has_children, children, 0)
    under14 = rng.binomial(children, p.part_enfants_moins_14.valeur)
    extra_adults = _tirer(rng, n, p.adultes_menage_autre.valeur, ("2", "3"))
    adults = np.select([couple, autre], [2, 2 + extra_adults], 1)
    others = (~seule & (rng.random(n) < p.part_autres_personnes_a_charge.valeur)).astype(int)
    situation = _tirer(rng, n, p.situations.valeur, SITUATIONS)

    # Ages serve only the jeune-ménage rule; kept plausible against the children's ages.
    a, hp = p.age_demandeur.valeur, p.age_chez_parents.valeur
    age = rng.normal(a["moyenne"], a["ecart_type"], n)
    young = np.clip(rng.normal(hp["moyenne"], hp["ecart_type"], n), hp["minimum"], hp["maximum"])
    age = np.where(situation == SITUATIONS.index("chez_parents"), young, age)
    age = np.where(under14 > 0, np.clip(age, 19, 58), age)
    age = np.where(children > under14, np.maximum(age, 32), age)
    age = np.clip(age, a["minimum"], a["maximum"])
    age_spouse = np.clip(age + rng.normal(0, p.ecart_age_conjoint.valeur, n), 18, 90)
    b = p.naissances_attendues.valeur
    births = ((age < b["age_maximum"]) & (rng.random(n) < b["probabilite"])).astype(int)
    group = GROUPE_DE_SITUATION[situation]
    h.update(
        kind=kind,
        couple=couple,
        adults=adults,
        children=children,
        under14=under14,
        others=others,
        size=adults + children + others,
        situation=situation,
        group=group,
        mutation=group == GROUPES.index("mutation"),
        age=age,
        age_spouse=age_spouse,
        births=births,
        is_={k: situation == i for i, k in enumerate(SITUATIONS)},
    )


def _motifs_et_handicap(rng: np.random.Generator, n: int, p: ParametresDemandes, h: dict) -> None:
    """A main motif by situation group, sometimes a second one; disability and accessibility.

    The second motif is drawn outside the group's calibrated motifs so the sourced shares hold.
    """
    main = _tirer_par_groupe(
        rng.random(n), h["group"], np.array([_probas(p.motif_principal.valeur[g], MOTIFS_CODES) for g in GROUPES])
    )
    seconds = np.array([_probas(p.motifs_secondaires.valeur[g], MOTIFS_CODES) for g in ("primo", "mutation")])
    second = _tirer_par_groupe(rng.random(n), h["mutation"].astype(int), seconds)
    second = np.where(rng.random(n) < p.part_motif_secondaire.valeur, second, -1)
    for i, m in enumerate(MOTIFS_CODES):
        h[f"motif_{m}"] = (main == i) | (second == i)
    h["anru"] = h["mutation"] & (rng.random(n) < p.relogement_anru_mutation.valeur)
    h["motif_demolition"] = h["motif_demolition"] | h["anru"]

    d = p.handicap.valeur
    disabled = ((rng.random(n) < d["part_base"]) | h["motif_handicap"]).astype(int)
    h["disabled"] = np.minimum(disabled * (1 + (rng.random(n) < d["part_deux_personnes"])), h["size"])
    p_access = np.where(h["disabled"] > 0, d["accessibilite_si_handicap"], d["accessibilite_sinon"])
    h["access"] = rng.random(n) < p_access


def _revenus(rng: np.random.Generator, n: int, p: ParametresDemandes, cal: Calibration, idx: float, h: dict) -> None:
    """Log-normal income per UC; monthly resources include benefits, the RFR (year N-2) does not."""
    over14 = h["children"] - h["under14"]
    uc = 1 + 0.5 * (h["adults"] - 1 + over14 + h["others"]) + 0.3 * h["under14"]
    mult_g = np.array([p.multiplicateurs_revenu_situation.valeur[g] for g in GROUPES])
    mult_t = np.array([p.multiplicateurs_revenu_menage.valeur[t] for t in TYPES_MENAGE])
    noise = np.exp(rng.normal(0, p.sigma_revenu.valeur, n))
    # In euros of annee_base.
    h["per_uc"] = _mediane_revenu(p) * mult_g[h["group"]] * mult_t[h["kind"]] * noise
    h["monthly"] = np.round(h["per_uc"] * uc * idx / 12)
    r = p.rfr.valeur
    taxable = np.clip(rng.normal(r["part_imposable_moyenne"], r["ecart_type"], n), 0, r["maximum"])
    lag = (1 + cal.commun.indexation_annuelle.valeur) ** r["decalage_annees"]
    missing = rng.random(n) < r["part_manquante"]
    h["rfr"] = np.where(missing, np.nan, np.round(12 * h["monthly"] * taxable / lag))
    h["taxable"] = taxable


def _anciennete_et_dalo(rng: np.random.Generator, n: int, p: ParametresDemandes, h: dict) -> None:
    """Seniority, DALO decisions and renewals.

    Seniority is uniform over the first year, then 365 days plus an exponential tail (see
    calibration.yaml). DALO is more likely without housing and, since most decisions are past the
    legal delay, for applications old enough to hold such a decision: ages stay untouched, so
    seniority keeps its calibration, and the decision always follows the deposit.
    """
    over = p.anciennete_part_plus_un_an.valeur
    tail = (p.anciennete_moyenne_jours.valeur - (1 - over) * JOURS_AN / 2) / over - JOURS_AN
    first_year = rng.random(n) >= over
    age_days = np.where(first_year, rng.random(n) * JOURS_AN, JOURS_AN + rng.exponential(tail, n))
    age_days = np.minimum(age_days.astype(np.int64), int(p.anciennete_maximum_annees.valeur * JOURS_AN))

    delay = int(round(p.delai_legal_dalo_mois.valeur * JOURS_MOIS))
    old_enough = age_days > delay + 30
    weights = np.array([p.poids_dalo_situation.valeur[s] for s in SITUATIONS])[h["situation"]]
    beyond = p.part_dalo_au_dela_delai.valeur
    w_old, w_young = _moyenne(weights * old_enough), _moyenne(weights * ~old_enough)
    rho = w_old * (1 / beyond - 1) / max(w_young, 1e-12)  # relative weight of young applications
    weights = weights * np.where(old_enough, 1.0, rho)
    h["dalo"] = rng.random(n) < p.part_dalo.valeur * weights / max(_moyenne(weights), 1e-12)
    past_delay = delay + 1 + rng.exponential(p.anciennete_decision_dalo_mois.valeur * JOURS_MOIS, n)
    within = rng.random(n) * np.minimum(delay, age_days)
    h["decision_age"] = np.where(old_enough, np.minimum(past_delay, age_days - 30), within).astype(np.int64)

    # Renewal on each anniversary of the deposit; a few applications missed their last one.
    old = age_days >= JOURS_AN
    expired = old & (rng.random(n) < p.part_expirees.valeur / max(_moyenne(old), 1e-9))
    h["age_days"], h["renewals"] = age_days, age_days // JOURS_AN - expired


def _logement_actuel(
    rng: np.random.Generator, n: int, p: ParametresDemandes, cal: Calibration, idx: float, h: dict
) -> None:
    """Rooms from the household's needs and motif, surface, rent charges included, housing aid."""
    is_, size = h["is_"], h["size"]
    h["t1"] = rng.random(n) < p.part_t1_personne_seule.valeur  # a single person's T1/T2 choice
    need = np.where(size == 1, np.where(h["t1"], 1, 2), size)
    shift = _tirer(rng, n, p.ecart_pieces_actuelles.valeur, ("-1", "0", "1")) - 1
    rooms = np.clip(need + shift, 1, 7)
    rooms = np.where(h["motif_logement_trop_petit"], np.maximum(1, need - 1 - (rng.random(n) < 0.3)), rooms)
    rooms = np.where(h["motif_logement_trop_grand"], size + 2 + (rng.random(n) < 0.3), rooms)
    foyer = is_["logement_foyer"]
    h["rooms"] = np.where(foyer, 1, rooms)
    surface = _surfaces(rng, h["rooms"], cal.commun)
    foyer_room = np.round(18 * _bruit(rng, n, cal.commun.dispersion_surface.valeur))
    h["surface"] = np.where(foyer, foyer_room, surface)
    h["dwelling"] = (
        is_["locataire_parc_social"]
        | is_["locataire_parc_prive"]
        | is_["logement_fonction"]
        | is_["proprietaire"]
        | foyer
    )
    noise = _bruit(rng, n, cal.commun.dispersion_loyer.valeur)
    charges = cal.commun.charges_m2.valeur
    rent = np.select(
        [is_["locataire_parc_social"], is_["locataire_parc_prive"], foyer],
        [
            h["surface"] * (p.loyer_m2_social.valeur * noise + charges),
            h["surface"] * (p.loyer_m2_prive.valeur * noise + charges),
            p.redevance_foyer.valeur * noise,
        ],
        np.nan,
    )
    h["rent"] = np.round(rent * idx)
    h["aid"] = _aide_logement(h["rent"], h["monthly"] * h["taxable"], size, p, idx)


def _aide_logement(
    rent: np.ndarray, taxable: np.ndarray, size: np.ndarray, p: ParametresDemandes, idx: float
) -> np.ndarray:
    """Simplified APL: min(rent, ceiling) minus a personal share growing with taxable resources.

    Like the real scale, it reads taxable resources: minima and family benefits do not reduce it.
    """
    a = p.aide_logement.valeur
    ceiling = (
        np.select(
            [size == 1, size == 2],
            [a["loyer_plafond_1"], a["loyer_plafond_2"]],
            a["loyer_plafond_3"] + a["plafond_par_personne"] * np.maximum(size - 3, 0),
        )
        * idx
    )
    exempt = (a["revenu_exonere_1"] + a["revenu_exonere_par_personne"] * (size - 1)) * idx
    share = a["participation_fixe"] * idx + a["taux_participation"] * np.maximum(taxable - exempt, 0)
    aid = np.clip(np.fmin(rent, ceiling) - share, 0, None)
    return np.where(np.isnan(rent), 0.0, np.round(np.fmin(aid, rent)))


def _priorites(rng: np.random.Generator, n: int, p: ParametresDemandes, h: dict) -> None:
    """Each L.441-1 letter is recognised with some probability when its condition holds."""
    is_ = h["is_"]
    bad = h["motif_logement_insalubre"] | h["motif_logement_non_decent"]
    everyone = np.ones(n, dtype=bool)
    conditions = {
        "a": h["disabled"] > 0,
        "a_bis": everyone,
        "b": h["per_uc"] < 0.8 * p.seuil_q1_base.valeur,
        "c": is_["hotel"] | is_["structure_hebergement"] | is_["logement_foyer"],
        "d": ~h["mutation"],
        "e": bad,
        "f": h["motif_violences_familiales"],
        "g": everyone,
        "h": everyone,
        "i": everyone,
        "j": (h["children"] > 0) & (bad | h["motif_logement_trop_petit"]),
        "k": is_["sans_abri"] | is_["habitat_precaire"] | is_["hebergement_tiers"],
        "l": h["motif_procedure_expulsion"],
        "m": h["age"] < 21,
    }
    for k in LETTRES:
        h[f"prioritaire_{k}"] = conditions[k] & (rng.random(n) < p.prioritaires.valeur[k])
    priority = np.logical_or.reduce([h[f"prioritaire_{k}"] for k in LETTRES]) | h["dalo"]
    d = p.pdalhpd.valeur
    h["pdalhpd"] = rng.random(n) < np.where(priority, d["si_prioritaire"], d["sinon"])


def _typologies(rng: np.random.Generator, n: int, p: ParametresDemandes, h: dict) -> None:
    """The DRIHL rule (statistiques.md §5), sometimes widened to the next size up."""
    persons = h["size"] + h["births"]
    single_parent_one = (h["adults"] == 1) & (h["children"] + h["others"] == 1) & (h["births"] == 0)
    base = np.select([persons == 1, single_parent_one], [np.where(h["t1"], 1, 2), 3], np.minimum(persons, 6))
    up = p.typologie_superieure.valeur
    p_up = np.select([persons == 1, persons == 2], [up["1"], up["2"]], up["3+"])
    h["typology"], h["wider"] = base, (rng.random(n) < p_up) & (base < 6)


def _communes_souhaitees(
    rng: np.random.Generator, n: int, communes: list[str] | None, cal: Calibration, p: ParametresDemandes
) -> np.ndarray:
    """Up to three distinct communes, drawn by weight without replacement, joined by ';'."""
    codes, weights = _codes_communes(communes, cal)
    count = np.minimum(_tirer(rng, n, p.nombre_communes.valeur, ("0", "1", "2", "3")), len(codes))
    picks = np.full((n, 3), -1)
    for j in range(3):
        rows = np.flatnonzero(count > j)
        picks[rows, j] = rng.choice(len(codes), size=len(rows), p=weights)
        rows = rows[(picks[rows, j : j + 1] == picks[rows, :j]).any(axis=1)]
        while len(rows):  # rejection: redraws only the rows that repeated a commune
            picks[rows, j] = rng.choice(len(codes), size=len(rows), p=weights)
            rows = rows[(picks[rows, j : j + 1] == picks[rows, :j]).any(axis=1)]
    m = len(codes) + 1
    key = (picks[:, 0] + 1) + m * (picks[:, 1] + 1) + m * m * (picks[:, 2] + 1)
    uniq, inverse = np.unique(key, return_inverse=True)
    texts = []
    for k in uniq.tolist():  # one string per distinct combination, not per row
        parts = [(k // m**j) % m - 1 for j in range(3)]
        texts.append(";".join(codes[i] for i in parts if i >= 0))
    return np.array(texts, dtype=object)[inverse]


def _propositions(
    rng: np.random.Generator, n: int, age_days: np.ndarray, ref: np.datetime64, p: ParametresDemandes
) -> np.ndarray:
    """Past proposals in the last months, after the deposit, as 'AAAA-MM-JJ:issue;...'."""
    out = _constante(n, "")
    cfg = p.propositions.valeur
    chosen = np.flatnonzero((rng.random(n) < cfg["part"]) & (age_days >= 1))
    k = len(chosen)
    if k == 0:
        return out
    count = _tirer(rng, k, p.nombre_propositions.valeur, ("1", "2", "3")) + 1
    window = np.minimum(age_days[chosen], int(cfg["fenetre_mois"] * JOURS_MOIS))
    days_ago = 1 + (rng.random((k, 3)) * window[:, None]).astype(np.int64)
    days_ago = -np.sort(-days_ago, axis=1)  # oldest first
    when = np.datetime_as_string(ref - days_ago.astype("timedelta64[D]"), unit="D")
    issue = np.array(ISSUES)[_tirer(rng, 3 * k, p.issues_propositions.valeur, ISSUES).reshape(k, 3)]
    items = np.char.add(np.char.add(when, ":"), issue.astype(str))
    text = items[:, 0]
    for j in (1, 2):
        text = np.where(count > j, np.char.add(np.char.add(text, ";"), items[:, j]), text)
    out[chosen] = text.astype(object)
    return out


def _numeros(prefix: str, age_days: np.ndarray) -> np.ndarray:
    """Registration numbers in deposit order (older applications get smaller numbers)."""
    key = (age_days.max(initial=0) - age_days).astype(np.uint16)  # < 65,536 days: radix sort
    rank = np.empty(len(age_days), dtype=np.int64)
    rank[np.argsort(key, kind="stable")] = np.arange(1, len(age_days) + 1)
    return _serie(prefix, rank, 10)


def _serie(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """prefix + zero-padded numbers, built as bytes (numpy's string functions are slower)."""
    digits = (numbers[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10 + ord("0")
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    raw = np.hstack([np.broadcast_to(head, (len(numbers), len(head))), digits.astype(np.uint8)])
    return np.ascontiguousarray(raw).view(f"S{raw.shape[1]}").ravel().astype(str).astype(object)


# Units -----------------------------------------------------------------------------------------


def generer_logements(
    n: int,
    graine: int,
    date_reference: date,
    epci: str = EPCI_DEFAUT,
    communes: list[str] | None = None,
    calibration: Calibration | None = None,
) -> pd.DataFrame:
    """`n` vacant units available within three months of `date_reference` (RPLS-like stock)."""
    _verifier_territoire(n, epci, None, communes)
    cal = calibration or charger_calibration()
    p = cal.logements
    rng = np.random.default_rng([graine, 2])
    ref = np.datetime64(date_reference, "D")
    idx = cal.indexation(date_reference.year)

    rooms = _tirer(rng, n, p.pieces.valeur, ("1", "2", "3", "4", "5+")) + 1
    rooms = np.where((rooms == 5) & (rng.random(n) < p.part_t6_parmi_5_plus.valeur), 6, rooms)
    surface = _surfaces(rng, rooms, cal.commun)
    financing = _tirer(rng, n, p.financement.valeur, FINANCEMENTS)
    coef = np.array([p.coefficients_loyer_financement.valeur[f] for f in FINANCEMENTS])
    coef = coef / (coef @ _probas(p.financement.valeur, FINANCEMENTS))
    rent_m2 = p.loyer_m2.valeur * coef[financing] * _bruit(rng, n, cal.commun.dispersion_loyer.valeur)
    codes, weights = _codes_communes(communes, cal)
    bailleurs = tuple(p.bailleurs.valeur)
    frame = {
        "identifiant": _serie("LGT", np.arange(1, n + 1), 7),
        "bailleur": np.array(bailleurs, dtype=object)[_tirer(rng, n, p.bailleurs.valeur, bailleurs)],
        "commune": codes[rng.choice(len(codes), size=n, p=weights)],
        "epci": _constante(n, epci),
        "qpv": rng.random(n) < p.part_qpv.valeur,
        "typologie": np.array(list(TYPOLOGIES), dtype=object)[rooms - 1],
        "pieces": rooms.astype(np.int16),
        "surface": surface,
        "loyer": np.round(surface * rent_m2 * idx, 2),
        "charges": np.round(surface * cal.commun.charges_m2.valeur * idx, 2),
        "financement": np.array(FINANCEMENTS, dtype=object)[financing],
        "reservataire": np.array(RESERVATAIRES, dtype=object)[_tirer(rng, n, p.reservataire.valeur, RESERVATAIRES)],
        "adapte_handicap": rng.random(n) < p.part_adapte_handicap.valeur,
        "date_disponibilite": _jours(
            ref + rng.integers(0, int(p.delai_disponibilite_jours.valeur) + 1, n).astype("timedelta64[D]")
        ),
    }
    return pd.DataFrame(frame)


# Files -----------------------------------------------------------------------------------------


def ecrire_territoire(
    dossier: Path,
    n_demandes: int,
    n_logements: int,
    graine: int,
    date_reference: date,
    format: str = "csv",
    **kw,
) -> dict[str, Path]:
    """Write demandes.<format> and logements.<format> into `dossier`; return their paths.

    `kw` may hold epci, departement (applications only), communes and calibration. Applications
    are written in file form (`forme_fichier`: list fields as ';'-joined codes) so that
    `cotation.table.lire_demandes` reads back the generated table identically. CSV is UTF-8 with a
    header (ISO dates, true/false, empty cells for missing values); Parquet keeps scalar dtypes.
    """
    if format not in ("csv", "parquet"):
        raise ValueError(f"format inconnu « {format} » : csv ou parquet attendu")
    unknown = set(kw) - {"epci", "departement", "communes", "calibration"}
    if unknown:
        raise TypeError(f"arguments inconnus : {sorted(unknown)}")
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    units_kw = {k: v for k, v in kw.items() if k != "departement"}
    frames = {
        "demandes": generer_demandes(n_demandes, graine, date_reference, **kw),
        "logements": generer_logements(n_logements, graine, date_reference, **units_kw),
    }
    frames["demandes"] = forme_fichier(frames["demandes"])
    paths = {}
    for name, frame in frames.items():
        path = dossier / f"{name}.{format}"
        if format == "csv":
            en_texte(frame).to_csv(path, index=False, encoding="utf-8")
        else:
            frame.to_parquet(path, index=False)
        paths[name] = path
    return paths


# Measured marginals ----------------------------------------------------------------------------


def _composition(d: pd.DataFrame) -> dict[str, np.ndarray]:
    adults = d["nb_adultes"].to_numpy(int)
    under14 = d["nb_enfants_moins_14"].to_numpy(int)
    over14 = d["nb_enfants_14_plus"].to_numpy(int)
    others = d["nb_autres_personnes_a_charge"].to_numpy(int)
    dependants = under14 + over14 + others
    return {
        "adultes": adults,
        "enfants": under14 + over14,
        "charges": dependants,
        "personnes": adults + dependants,
        "uc": 1 + 0.5 * (adults - 1 + over14 + others) + 0.3 * under14,
    }


def categorie_menage(d: pd.DataFrame, date_reference: date) -> np.ndarray:
    """Household category of the arrêté of 29 July 1987 (règles §5.2), as used for the ceilings.

    One person per category step, a lone adult with dependants one step up, a jeune ménage
    (couple without dependants, ages adding up to at most 55) in category 3, and a disabled
    member one step up. Local to the generator's checks until `cotation` exposes its own.
    """
    k = _composition(d)
    ref = np.datetime64(date_reference, "s")

    def years(col: str) -> np.ndarray:
        days = (ref - d[col].to_numpy()).astype("timedelta64[D]").astype(float)
        return np.floor(days / 365.25)

    ages = years("date_naissance_demandeur") + years("date_naissance_conjoint")
    young = d["couple"].to_numpy() & (k["charges"] == 0) & (ages <= 55)
    base = np.where((k["adultes"] == 1) & (k["charges"] > 0), k["personnes"] + 1, k["personnes"])
    disabled = d["nb_personnes_handicapees"].to_numpy() > 0
    return np.where(young, 3, base + disabled).astype(int)


def _plafond_plai(cat: np.ndarray, cal: Calibration, annee: int) -> np.ndarray:
    t = cal.demandes.plafonds_plai_2022.valeur
    table = np.array([t[str(i)] for i in range(1, 7)], dtype=float)
    ceiling = table[np.clip(cat, 1, 6) - 1] + t["par_personne_supplementaire"] * np.maximum(cat - 6, 0)
    return ceiling * (1 + cal.commun.indexation_annuelle.valeur) ** (annee - ANNEE_PLAFONDS_PLAI)


def _mesures_demandes(d: pd.DataFrame, ref_date: date, cal: Calibration) -> dict[str, float]:
    k = _composition(d)
    ref = np.datetime64(ref_date, "s")
    sit = d["situation_logement"].to_numpy(dtype=object)
    mutation = sit == "locataire_parc_social"
    primo = ~mutation
    to_base = cal.indexation(ref_date.year)
    per_uc = d["revenus_mensuels"].to_numpy() * 12 / k["uc"] / to_base
    rfr = d["revenu_fiscal_reference"].to_numpy()
    plai = _plafond_plai(categorie_menage(d, ref_date), cal, ref_date.year)
    has_rfr = ~np.isnan(rfr)
    age = (ref - d["date_depot"].to_numpy()).astype("timedelta64[D]").astype(float)
    renew = d["date_renouvellement"].to_numpy()
    last = np.where(np.isnat(renew), d["date_depot"].to_numpy(), renew)
    since_renewal = (ref - last).astype("timedelta64[D]").astype(float)
    decision = d["date_decision_dalo"].to_numpy()
    dalo = ~np.isnat(decision)
    since_decision = (ref - decision[dalo]).astype("timedelta64[D]").astype(float)
    delay = cal.demandes.delai_legal_dalo_mois.valeur * JOURS_MOIS
    letters = d[[f"prioritaire_{x}" for x in LETTRES]].to_numpy().any(axis=1)
    big = d[[f"typologie_T{i}" for i in range(3, 7)]].to_numpy().any(axis=1)
    m = {x: d[f"motif_{x}"].to_numpy() for x in MOTIFS_CODES}
    rent_m2 = d["loyer_actuel"].to_numpy() / d["surface_actuelle"].to_numpy() / to_base
    q1_2019 = SEUIL_INDECOSA_2019 * (1 + cal.commun.indexation_annuelle.valeur) ** (cal.annee_base - 2019)

    def share(mask: np.ndarray, among: np.ndarray | None = None) -> float:
        return _moyenne(mask[among] if among is not None else mask)

    return {
        "part_personnes_seules": share((k["adultes"] == 1) & (k["charges"] == 0)),
        "part_familles_monoparentales": share((k["adultes"] == 1) & (k["enfants"] > 0)),
        "part_couples": share(d["couple"].to_numpy()),
        "part_un_seul_adulte": share(k["adultes"] == 1),
        "part_mutation": share(mutation),
        "part_locataires_prive": share(sit == "locataire_parc_prive"),
        "part_heberges": share((sit == "hebergement_tiers") | (sit == "chez_parents")),
        "part_dalo": share(dalo),
        "part_dalo_au_dela_delai": _moyenne(since_decision > delay),
        "part_prioritaire": share(letters),
        "part_pdalhpd": share(d["pdalhpd"].to_numpy()),
        "part_relogement_anru": share(d["relogement_anru"].to_numpy()),
        "part_sous_seuil_q1": share(per_uc < cal.demandes.seuil_q1_base.valeur),
        "part_rfr_sous_plafond_plai": share(rfr < plai, has_rfr),
        "part_revenus_sous_plafond_plai": share(d["revenus_mensuels"].to_numpy() * 12 < plai),
        "part_primo_sous_9720_euros_2019": share(per_uc < q1_2019, primo),
        "anciennete_moyenne_jours": float(age.mean()),
        "part_anciennete_plus_un_an": share(age > JOURS_AN),
        "part_demandes_expirees": share(since_renewal >= JOURS_AN),
        "part_primo_motif_sans_logement": share(m["sans_logement"], primo),
        "part_primo_motif_trop_cher": share(m["logement_trop_cher"], primo),
        "part_mutation_motif_trop_petit": share(m["logement_trop_petit"], mutation),
        "part_mutation_motif_sante_handicap": share(m["handicap"] | m["raisons_sante"], mutation),
        "part_mutation_motif_environnement": share(m["environnement_voisinage"], mutation),
        "part_t1_t2": share(~big),
        "part_menages_handicap": share(d["nb_personnes_handicapees"].to_numpy() > 0),
        "part_naissances_attendues": share(d["naissances_attendues"].to_numpy() > 0),
        "part_avec_propositions": share(d["propositions"].to_numpy(dtype=object) != ""),
        "loyer_cc_m2_parc_social": float(np.nanmean(rent_m2[mutation])),
        "loyer_cc_m2_parc_prive": float(np.nanmean(rent_m2[sit == "locataire_parc_prive"])),
    }


def marges(demandes: pd.DataFrame, date_reference: date, calibration: Calibration | None = None) -> dict[str, float]:
    """The marginals of an application table, keyed like the calibration's cibles and controles.

    The calibration's targets are in its `cibles` (checked by the tests) and `controles`
    (published figures deliberately not reproduced, measured for information).
    """
    cal = calibration or charger_calibration()
    return _mesures_demandes(demandes, date_reference, cal)


def marges_logements(
    logements: pd.DataFrame, date_reference: date, calibration: Calibration | None = None
) -> dict[str, float]:
    """The marginals of a unit table, keyed like the calibration's cibles_logements."""
    cal = calibration or charger_calibration()
    rooms = logements["pieces"].to_numpy()
    to_base = cal.indexation(date_reference.year)
    rent_m2 = logements["loyer"].to_numpy() / logements["surface"].to_numpy() / to_base
    return {
        "part_qpv": float(logements["qpv"].mean()),
        "part_1_piece": float((rooms == 1).mean()),
        **{f"part_{i}_pieces": float((rooms == i).mean()) for i in range(2, 5)},
        "part_5_pieces_et_plus": float((rooms >= 5).mean()),
        "loyer_m2_moyen": float(rent_m2.mean()),
        "part_plus": float((logements["financement"] == "PLUS").mean()),
        "part_prefet": float((logements["reservataire"] == "prefet").mean()),
        "part_adapte_handicap": float(logements["adapte_handicap"].mean()),
    }


__all__ = [
    "Calibration",
    "Cible",
    "Controle",
    "charger_calibration",
    "generer_demandes",
    "generer_logements",
    "ecrire_territoire",
    "marges",
    "marges_logements",
    "categorie_menage",
]
