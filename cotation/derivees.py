"""Derived quantities of the applications at a reference date, computed as vectors on demand.

A `Contexte` wraps the application table, the reference date and the regulatory parameters;
asking it for a variable computes the vector once and caches it. Only what a grid reads is
computed, so a grid that never mentions the first quartile never needs the EPCI thresholds.
Missing inputs give NaN (numbers) or False (conditions): a quantity that cannot be computed
earns no points, it never invents a value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from rules.parametres import Parametres
from rules.vocabulaire import CATEGORIES_PRIORITAIRES

DEPARTEMENTS_ILE_DE_FRANCE = ("75", "77", "78", "91", "92", "93", "94", "95")

Derivation = Callable[["Contexte"], np.ndarray]
DERIVATIONS: dict[str, Derivation] = {}


def _derive(fn: Derivation) -> Derivation:
    DERIVATIONS[fn.__name__] = fn
    return fn


class Contexte:
    """The application table seen at one reference date; variables are computed lazily."""

    def __init__(self, table: pd.DataFrame, date_reference: date, parametres: Parametres | None = None):
        self.table = table
        self.jour = date_reference
        self.jour64 = np.datetime64(date_reference, "D")
        self._parametres = parametres
        self.n = len(table)
        self._cache: dict[str, np.ndarray] = {}

    @property
    def parametres(self) -> Parametres:
        if self._parametres is None:
            self._parametres = Parametres.charger()
        return self._parametres

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name in DERIVATIONS:
                self._cache[name] = DERIVATIONS[name](self)
            elif name in self.table.columns:
                self._cache[name] = _column(self.table[name])
            else:
                raise KeyError(name)
            self._cache[name].setflags(write=False)
        return self._cache[name]

    def categories(self, name: str) -> list[str]:
        """Category labels whose positions are the codes returned for a categorical variable."""
        return list(self.table[name].cat.categories)

    def memo(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Cache a vector computed by a criterion (e.g. a refusal count over a window)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


def _column(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy()
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.to_numpy(dtype="datetime64[D]")
    return series.to_numpy(dtype=object)


def mois_entre(debut: np.ndarray, fin: np.datetime64 | np.ndarray) -> np.ndarray:
    """Whole months elapsed from `debut` to `fin` (a month counts once its day is reached); NaN if NaT.

    2024-01-15 -> 2024-02-14 is 0 month, -> 2024-02-15 is 1 month; 2024-01-31 -> 2024-02-29 is 0.
    """
    debut = np.asarray(debut, dtype="datetime64[D]")
    fin = np.asarray(fin, dtype="datetime64[D]")
    m1, d1 = _month_and_day(debut)
    m2, d2 = _month_and_day(fin)  # usually the scalar reference date: converted once
    out = (m2 - m1 - (d2 < d1)).astype(np.float64)
    out[np.isnat(debut) | np.isnat(fin)] = np.nan
    return out


def _month_and_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Months since 1970-01 and day of month (0-based) of each date."""
    months = days.astype("datetime64[M]")
    return months.view(np.int64), (days - months).view(np.int64)


def ajouter_mois(jour: date, mois: int) -> date:
    """The calendar date `mois` months after `jour` (negative goes back), day clipped to the month end."""
    total = jour.year * 12 + (jour.month - 1) + mois
    year, month = divmod(total, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(jour.day, last))


# Household -------------------------------------------------------------------------------------


@_derive
def taille_menage(c: Contexte) -> np.ndarray:
    return c["nb_adultes"] + c["enfants"] + c["nb_autres_personnes_a_charge"]


@_derive
def enfants(c: Contexte) -> np.ndarray:
    return c["nb_enfants_moins_14"] + c["nb_enfants_14_plus"]


@_derive
def personnes_a_charge(c: Contexte) -> np.ndarray:
    births = c["naissances_attendues"] if c.parametres.menage(c.jour)["naissances_attendues_a_charge"] else 0
    return c["enfants"] + c["nb_autres_personnes_a_charge"] + births


@_derive
def parent_isole(c: Contexte) -> np.ndarray:
    return (c["nb_adultes"] == 1) & (c["enfants"] > 0)


@_derive
def handicap(c: Contexte) -> np.ndarray:
    return c["nb_personnes_handicapees"] > 0


def _age(c: Contexte, column: str) -> np.ndarray:
    born = c.table[column].to_numpy(dtype="datetime64[D]")
    return np.floor(mois_entre(born, c.jour64) / 12)


@_derive
def jeune_menage(c: Contexte) -> np.ndarray:
    """Couple without dependants whose ages add up to at most 55 (arrêté du 29 juillet 1987)."""
    limit = c.parametres.menage(c.jour)["age_max_cumule_jeune_menage"]
    ages = _age(c, "date_naissance_demandeur") + _age(c, "date_naissance_conjoint")
    with np.errstate(invalid="ignore"):
        young = ages <= limit
    return c["couple"] & (c["nb_adultes"] == 2) & (c["personnes_a_charge"] == 0) & young


@_derive
def rang_categorie(c: Contexte) -> np.ndarray:
    """Category before the cap at 6: beyond 6, each step is one 'personne supplémentaire'."""
    births_count = c.parametres.menage(c.jour)["naissances_attendues_a_charge"]
    size = c["taille_menage"] + (c["naissances_attendues"] if births_count else 0)
    alone_with_dependants = (c["nb_adultes"] == 1) & (c["personnes_a_charge"] > 0)
    k = size + alone_with_dependants
    k = np.where((size == 2) & c["jeune_menage"], 3, k)
    step = c.parametres.menage(c.jour)["handicap_categorie_supplementaire"]
    return k + step * c["handicap"]


@_derive
def categorie_menage(c: Contexte) -> np.ndarray:
    return np.minimum(c["rang_categorie"], 6)


@_derive
def personnes_supplementaires(c: Contexte) -> np.ndarray:
    return np.maximum(c["rang_categorie"] - 6, 0)


# Resources -------------------------------------------------------------------------------------


@_derive
def unites_consommation(c: Contexte) -> np.ndarray:
    scale = c.parametres.echelle_uc(c.jour)
    others = c["nb_adultes"] - 1 + c["nb_enfants_14_plus"] + c["nb_autres_personnes_a_charge"]
    return (scale["premier_adulte"] + scale["autre_14_ans_et_plus"] * others
            + scale["moins_14_ans"] * c["nb_enfants_moins_14"])


@_derive
def revenu_annuel_par_uc(c: Contexte) -> np.ndarray:
    return c["revenus_mensuels"] * 12 / c["unites_consommation"]


@_derive
def seuil_premier_quartile(c: Contexte) -> np.ndarray:
    """The EPCI's threshold at the date; Île-de-France EPCIs fall back on the regional value."""
    codes, epcis = pd.factorize(c.table["epci"])
    first = np.unique(codes, return_index=True)[1]
    departements = c.table["departement"].iloc[first].to_numpy(dtype=object)
    regions = np.where(np.isin(departements, DEPARTEMENTS_ILE_DE_FRANCE), "11", None)
    values = c.parametres.seuils_premier_quartile(np.asarray(epcis, dtype=object), c.jour, regions)
    return values[codes]


@_derive
def premier_quartile(c: Contexte) -> np.ndarray:
    """Income per UC at or below the EPCI's threshold ('le plus haut niveau de ressources du quartile')."""
    return c["revenu_annuel_par_uc"] <= c["seuil_premier_quartile"]


# Current housing -------------------------------------------------------------------------------


def _situation(c: Contexte, *values: str) -> np.ndarray:
    codes = c["situation_logement"]
    wanted = [c.categories("situation_logement").index(v) for v in values]
    return np.isin(codes, wanted)


@_derive
def mutation(c: Contexte) -> np.ndarray:
    return _situation(c, "locataire_parc_social")


@_derive
def taux_effort(c: Contexte) -> np.ndarray:
    """(rent - housing aid) / income; infinite when a rent is due on no income, NaN without rent."""
    net = c["loyer_actuel"] - c["aide_logement"]
    income = c["revenus_mensuels"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = net / income
    rate = np.where((income == 0) & (net == 0), 0.0, rate)
    return np.where(np.isnan(c["loyer_actuel"]), np.nan, rate)


@_derive
def surface_par_personne(c: Contexte) -> np.ndarray:
    return c["surface_actuelle"] / c["taille_menage"]


@_derive
def personnes_par_piece(c: Contexte) -> np.ndarray:
    return c["taille_menage"] / c["pieces_actuelles"]


@_derive
def sur_occupation(c: Contexte) -> np.ndarray:
    """Living area below the R.822-25 minimum for the household size (False when unknown)."""
    minimum = c.parametres.surfaces_minimales(c.jour)
    size = np.clip(c["taille_menage"], 1, len(minimum) - 1).astype(np.int64)
    with np.errstate(invalid="ignore"):
        return c["surface_actuelle"] < minimum[size]


@_derive
def sous_occupation(c: Contexte) -> np.ndarray:
    """More habitable rooms than persons + 1 (L.621-2 reading, unconfirmed: see regles-du-domaine 5.8)."""
    with np.errstate(invalid="ignore"):
        return c["pieces_actuelles"] > c["taille_menage"] + 1


# Priorities and procedure ----------------------------------------------------------------------


@_derive
def dalo(c: Contexte) -> np.ndarray:
    decided = c.table["date_decision_dalo"].to_numpy(dtype="datetime64[D]")
    return ~np.isnat(decided) & (decided <= c.jour64)


@_derive
def mois_depuis_dalo(c: Contexte) -> np.ndarray:
    decided = c.table["date_decision_dalo"].to_numpy(dtype="datetime64[D]")
    months = mois_entre(decided, c.jour64)
    return np.where(c["dalo"], months, np.nan)


@_derive
def prioritaire(c: Contexte) -> np.ndarray:
    return np.logical_or.reduce([c[f"prioritaire_{k}"] for k in CATEGORIES_PRIORITAIRES])


@_derive
def anciennete_mois(c: Contexte) -> np.ndarray:
    """Whole months since the initial registration, which renewals keep (CCH; SNE)."""
    months = mois_entre(c.table["date_depot"].to_numpy(dtype="datetime64[D]"), c.jour64)
    return np.maximum(months, 0)


@_derive
def demande_active(c: Contexte) -> np.ndarray:
    """Registered by the reference date and renewed within the last year (otherwise struck off)."""
    depot = c.table["date_depot"].to_numpy(dtype="datetime64[D]")
    renewed = c.table["date_renouvellement"].to_numpy(dtype="datetime64[D]")
    last = np.where(np.isnat(renewed), depot, renewed)
    return (depot <= c.jour64) & (mois_entre(last, c.jour64) < 12)
