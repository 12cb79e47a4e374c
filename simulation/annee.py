"""A year of monthly CALs replayed on a synthetic territory: what a grid or a policy does.

One replica, for one or several arms (a grid, a policy and a matching method each) on the same
territory and the same random draws: the applications present at the start, those arriving
each month, the units falling vacant each month, the anniversaries at which an application is
not renewed and each household's willingness to accept an offer are drawn once per replica and
shared by every arm, so that the differences between arms come from the arms alone.

Each month, for each arm: applications reaching their anniversary are renewed or struck off;
the waiting pool is scored at the CAL date (seniority and refusal penalties move with it); the
vacant units (this month's and those left over) get their candidates from the optimizer under
the policy, with the year to date as `realise` so a late year catches up, or from today's
greedy practice; candidates are asked in rank order and the first who accepts signs the lease;
a refusal is written into the applicant's history, where the grid's penalty can see it.

Every parameter of the dynamics is in `dynamique.yaml` with its source.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from cotation.derivees import Contexte, ajouter_mois, mois_entre
from cotation.moteur import compiler, evaluer
from matching.bilan import avec_realise, compter_baux, parts
from matching.eligibilite import candidats
from matching.optimiseur import glouton, resoudre
from matching.propositions import construire_instance, logements_sans_plafond, options_eligibilite
from rules.grille import Grille
from rules.parametres import Parametres
from rules.politique import Politique
from simulation.territoire import EPCI_DEFAUT, generer_demandes, generer_logements

CHEMIN_DYNAMIQUE = Path(__file__).with_name("dynamique.yaml")
# Groups whose waiting times and housing counts are reported (variables of the vocabulary).
GROUPES_SUIVIS = ("prioritaire", "dalo", "premier_quartile", "mutation")


class _Valeur(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    statut: Literal["P", "S", "D", "hypothèse"]


class _Taux(_Valeur):
    valeur: float = Field(ge=0, le=1)


class _TauxQpv(_Valeur):
    valeur: dict[Literal["hors_qpv", "qpv"], float]


class _Jour(_Valeur):
    valeur: int = Field(ge=1, le=28)


class Dynamique(BaseModel):
    """The year's flows: arrivals, non-renewals, vacancies and refusals (see dynamique.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    arrivees_par_an: _Taux
    non_renouvellement: _Taux
    logements_par_an_du_stock: _Taux
    refus: _TauxQpv
    refus_legitimes: _Taux
    jour_cal: _Jour


@cache
def charger_dynamique(chemin: Path = CHEMIN_DYNAMIQUE) -> Dynamique:
    return Dynamique.model_validate(yaml.safe_load(chemin.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Bras:
    """One way of allocating: a grid, a policy and a matching method."""

    libelle: str
    grille: Grille
    politique: Politique
    methode: Literal["optimiseur", "glouton"] = "optimiseur"


@dataclass(frozen=True)
class Scenario:
    """A territory, a year and the arms to compare on it."""

    bras: tuple[Bras, ...]
    demandes: int = 50_000
    logements_par_an: int | None = None  # None: the stock times dynamique.logements_par_an_du_stock
    debut: date = date(2026, 1, 1)
    mois: int = 12
    epci: str = EPCI_DEFAUT
    departement: str | None = "69"
    communes: tuple[str, ...] | None = None
    dynamique: Dynamique | None = None
    limite_temps_s: float | None = None  # per CAL; None: the policy's
    ecart_cible: float | None = None  # per CAL; None: the policy's

    @property
    def flux(self) -> Dynamique:
        return self.dynamique or charger_dynamique()

    @property
    def logements_annuels(self) -> float:
        if self.logements_par_an is not None:
            return float(self.logements_par_an)
        return self.demandes * self.flux.logements_par_an_du_stock.valeur

    def dates_cal(self) -> list[date]:
        first = date(self.debut.year, self.debut.month, self.flux.jour_cal.valeur)
        if first < self.debut:
            first = ajouter_mois(first, 1)
        return [ajouter_mois(first, m) for m in range(self.mois)]


def _seed(graine: int, *stream: int) -> int:
    return int(np.random.SeedSequence([graine, *stream]).generate_state(1)[0])


@dataclass
class _Territoire:
    """What every arm of a replica shares: households, arrivals, units and random draws."""

    menages: pd.DataFrame  # stock then arrivals, one row per household (its id is the row)
    arrivee: np.ndarray  # int per household: month of arrival, -1 for the stock
    logements: list[pd.DataFrame]  # per month, the units falling vacant
    tirage_refus: np.ndarray  # (months, households): uniform, compared with the refusal rate
    tirage_legitime: np.ndarray  # (months, households): uniform, legitimate refusal below the share
    tirage_sortie: np.ndarray  # (months, households): uniform, struck off at the anniversary below the rate


def _territoire(sc: Scenario, graine: int) -> _Territoire:
    flux = sc.flux
    dates = sc.dates_cal()
    communes = list(sc.communes) if sc.communes else None
    stock = generer_demandes(sc.demandes, graine, sc.debut, sc.epci, sc.departement, communes)
    parts, months = [stock], [np.full(len(stock), -1)]
    rng = np.random.default_rng([graine, 11])
    units = []
    previous = sc.debut
    for m, cal in enumerate(dates):
        n_new = int(rng.poisson(flux.arrivees_par_an.valeur * sc.demandes / 12))
        new = generer_demandes(n_new, _seed(graine, 12, m), cal, sc.epci, sc.departement, communes)
        parts.append(_arrivees(new, rng, previous, cal, sc.departement))
        months.append(np.full(n_new, m))
        n_units = int(rng.poisson(sc.logements_annuels / 12))
        lots = generer_logements(n_units, _seed(graine, 13, m), cal, sc.epci, communes)
        lots["identifiant"] = [f"L{cal:%Y%m}-{i:05d}" for i in range(1, n_units + 1)]
        units.append(lots)
        previous = cal
    households = pd.concat(parts, ignore_index=True)
    n, n_months = len(households), len(dates)
    draws = np.random.default_rng([graine, 14]).random((3, n_months, n))
    return _Territoire(households, np.concatenate(months), units, draws[0], draws[1], draws[2])


def _arrivees(new: pd.DataFrame, rng: np.random.Generator, after: date, until: date,
              departement: str | None) -> pd.DataFrame:
    """New applications, registered between two CALs, with no history yet."""
    span = max((until - after).days, 1)
    days = rng.integers(1, span + 1, len(new))
    new = new.copy()
    new["date_depot"] = (np.datetime64(after, "D") + days.astype("timedelta64[D]")).astype("datetime64[s]")
    new["date_renouvellement"] = np.datetime64("NaT", "s")
    new["date_decision_dalo"] = np.datetime64("NaT", "s")
    new["propositions"] = ""
    prefix = (departement or "000").zfill(3)
    new["numero_unique"] = [f"{prefix}N{until:%Y%m}{i:06d}" for i in range(len(new))]
    return new


@dataclass
class _Etat:
    """One arm's state during the year."""

    table: pd.DataFrame  # the households, with their renewals and refusals of this arm
    statut: np.ndarray  # per household: 0 not arrived, 1 waiting, 2 housed, 3 struck off
    vacants: pd.DataFrame  # units left vacant, carried to the next CAL
    realise: dict[str, dict[str, list[int]]]  # objective -> group -> [attributions, public]
    ecartes: int = 0  # units set aside: income ceiling unknown at the CAL date


def simuler(sc: Scenario, graine: int) -> dict[str, Any]:
    """One replica: month by month and for the year, per arm (JSON-ready)."""
    start = time.perf_counter()
    terr = _territoire(sc, graine)
    parametres = Parametres.charger()
    out = {"graine": graine, "bras": {}}
    for arm in sc.bras:
        out["bras"][arm.libelle] = _simuler_bras(sc, arm, terr, parametres)
    out["secondes"] = time.perf_counter() - start
    return out


def _simuler_bras(sc: Scenario, arm: Bras, terr: _Territoire, parametres: Parametres) -> dict[str, Any]:
    flux = sc.flux
    grid = compiler(arm.grille)
    n = len(terr.menages)
    state = _Etat(terr.menages.copy(), np.where(terr.arrivee < 0, 1, 0).astype(np.int8),
                  terr.logements[0].iloc[0:0].copy(), {o.id: {} for o in arm.politique.objectifs})
    waits: dict[str, list[np.ndarray]] = {g: [] for g in ("tous", *GROUPES_SUIVIS)}
    months = []
    totals = {"refus": 0, "sans_trois_candidats": 0, "sorties": 0, "baux": 0}
    for m, cal in enumerate(sc.dates_cal()):
        state.statut[terr.arrivee == m] = 1
        struck = _anniversaires(state, cal, terr.tirage_sortie[m], flux.non_renouvellement.valeur)
        batch = pd.concat([state.vacants, terr.logements[m]], ignore_index=True)
        month = _cal(sc, arm, grid, state, batch, cal, m, terr, parametres, waits)
        month.update({"arrivees": int((terr.arrivee == m).sum()), "sorties": struck,
                      "nouveaux_logements": len(terr.logements[m])})
        for key in ("refus", "sans_trois_candidats", "baux"):
            totals[key] += month[key]
        totals["sorties"] += struck
        months.append(month)
    housed = np.concatenate(waits["tous"]) if waits["tous"] else np.zeros(0)
    objectives = parts(arm.politique, state.realise)
    new_units = sum(len(x) for x in terr.logements)
    return {
        "libelle": arm.libelle,
        "mois": months,
        "annee": {
            "objectifs": objectives,
            "menages_loges": int(totals["baux"]),
            "refus": int(totals["refus"]),
            "logements_sans_trois_candidats": int(totals["sans_trois_candidats"]),
            "logements_restes_vacants": len(state.vacants),
            "logements_sans_plafond": state.ecartes,
            "demandes_en_attente_fin": int((state.statut == 1).sum()),
            "loges_par_groupe": {g: int(sum(len(x) for x in v)) for g, v in waits.items()},
            "attente_jours": {g: np.concatenate(v).astype(int).tolist() if v else [] for g, v in waits.items()},
            "conservation": {
                "demandes_initiales": int((terr.arrivee < 0).sum()),
                "arrivees": int((terr.arrivee >= 0).sum()),
                "logees": int((state.statut == 2).sum()),
                "radiees": int((state.statut == 3).sum()),
                "en_attente": int((state.statut == 1).sum()),
                "pas_encore_arrivees": int((state.statut == 0).sum()),
                "logements_liberes": int(new_units),
                "baux_signes": int(totals["baux"]),
                "logements_vacants_fin": len(state.vacants),
                "logements_sans_plafond": state.ecartes,
                "menages": n,
                "attente_moyenne_jours": float(housed.mean()) if len(housed) else None,
            },
        },
    }


def _anniversaires(state: _Etat, cal: date, draw: np.ndarray, rate: float) -> int:
    """Applications a year past their last renewal: renewed at the CAL date, or struck off."""
    waiting = np.flatnonzero(state.statut == 1)
    table = state.table
    depot = table["date_depot"].to_numpy(dtype="datetime64[D]")[waiting]
    renewed = table["date_renouvellement"].to_numpy(dtype="datetime64[D]")[waiting]
    last = np.where(np.isnat(renewed), depot, renewed)
    due = waiting[mois_entre(last, np.datetime64(cal, "D")) >= 12]
    leave = due[draw[due] < rate]
    stay = due[draw[due] >= rate]
    state.statut[leave] = 3
    column = table["date_renouvellement"].to_numpy(copy=True)
    column[stay] = np.datetime64(cal, "s")
    table["date_renouvellement"] = column
    return len(leave)


def _cal(sc: Scenario, arm: Bras, grid, state: _Etat, batch: pd.DataFrame, cal: date, m: int,
         terr: _Territoire, parametres: Parametres, waits: dict[str, list[np.ndarray]]) -> dict[str, Any]:
    """One CAL: score, propose, ask candidates in rank order, sign leases, record refusals."""
    ids = np.flatnonzero(state.statut == 1)
    pool = state.table.iloc[ids].reset_index(drop=True)
    policy = avec_realise(arm.politique, state.realise)
    # units whose ceiling is unknown: set aside when the policy says so, else eligibility raises
    if policy.eligibilite.plafond_inconnu == "ecarter_logement" and len(batch):
        unknown = logements_sans_plafond(batch, cal, parametres)
    else:
        unknown = np.zeros(len(batch), dtype=bool)
    units = batch[~unknown].reset_index(drop=True)
    month: dict[str, Any] = {"mois": f"{cal:%Y-%m}", "date_cal": cal.isoformat(), "logements": len(batch),
                             "logements_sans_plafond": int(unknown.sum())}
    k = policy.optimisation.candidats_par_logement
    if not len(units) or not len(pool):
        chosen = np.full((len(units), k), -1)
        solver = {"statut": "sans_objet", "ecart": None, "secondes": 0.0}
        publics: dict[str, np.ndarray] = {}
        ctx = Contexte(pool, cal, parametres)
    else:
        cot = evaluer(grid, pool, cal, parametres)
        cand = candidats(units, pool, cal, options_eligibilite(policy), parametres)
        inst, publics, _labels = construire_instance(units, pool, cot, cand, policy, cal, parametres)
        changes = {}
        if sc.limite_temps_s is not None:
            changes["limite_temps_s"] = sc.limite_temps_s
        if sc.ecart_cible is not None:
            changes["ecart_cible"] = sc.ecart_cible
        inst = dataclasses.replace(inst, **changes)
        res = resoudre(inst) if arm.methode == "optimiseur" else glouton(inst)
        chosen = np.full((len(units), k), -1)
        chosen[:, 0] = res.titulaire
        for u, alternates in enumerate(res.suppleants):
            chosen[u, 1:1 + len(alternates)] = alternates[: k - 1]
        solver = {"statut": res.statut, "ecart": None if np.isnan(res.ecart) else float(res.ecart),
                  "secondes": round(res.secondes, 3)}
        ctx = cot.contexte
    lease, refusals = _reponses(chosen, units["qpv"].to_numpy(dtype=bool), ids, m, terr, sc.flux)
    _noter_refus(state, ids, chosen, refusals, cal, terr.tirage_legitime[m], sc.flux.refus_legitimes.valeur)
    signed = np.flatnonzero(lease >= 0)
    rows = lease[signed]
    state.statut[ids[rows]] = 2
    depot = pool["date_depot"].to_numpy(dtype="datetime64[D]")[rows]
    wait = (np.datetime64(cal, "D") - depot).astype(int)
    waits["tous"].append(wait)
    for g in GROUPES_SUIVIS:
        waits[g].append(wait[np.asarray(ctx[g], dtype=bool)[rows]])
    compter_baux(policy, units.iloc[signed].reset_index(drop=True), {k: v[rows] for k, v in publics.items()},
                 state.realise)
    # units whose ceiling is unknown cannot be let: reported, not carried from month to month
    left = ~unknown
    left[np.flatnonzero(~unknown)[signed]] = False
    state.vacants = batch[left].reset_index(drop=True)
    state.ecartes += int(unknown.sum())
    month.update({
        "candidats_proposes": int((chosen >= 0).sum()),
        "sans_trois_candidats": int(((chosen >= 0).sum(axis=1) < k).sum()),
        "baux": len(signed), "refus": int(refusals.sum()), "reportes": len(state.vacants),
        "en_attente": int((state.statut == 1).sum()), "optimiseur": solver,
        "objectifs": parts(arm.politique, state.realise),
    })
    return month


def _reponses(chosen: np.ndarray, qpv: np.ndarray, ids: np.ndarray, m: int, terr: _Territoire,
              flux: Dynamique) -> tuple[np.ndarray, np.ndarray]:
    """Who signs each unit (pool row, -1 if nobody) and a refusal flag per (unit, rank).

    Candidates are asked in rank order; the first who accepts signs. A household's answer
    depends on its own draw for the month, so the same household answers alike in every arm.
    """
    rate = np.where(qpv, flux.refus.valeur["qpv"], flux.refus.valeur["hors_qpv"])
    present = chosen >= 0
    draw = np.where(present, terr.tirage_refus[m][ids[np.maximum(chosen, 0)]], 1.0)
    accepts = present & (draw >= rate[:, None])
    first = np.where(accepts.any(axis=1), accepts.argmax(axis=1), chosen.shape[1])
    asked = np.arange(chosen.shape[1])[None, :] < first[:, None]
    refusals = present & asked & ~accepts
    lease = np.where(first < chosen.shape[1], chosen[np.arange(len(chosen)), np.minimum(first, chosen.shape[1] - 1)],
                     -1)
    # a household proposed on two units (when the policy allows it) signs only the first
    _, once = np.unique(np.where(lease >= 0, lease, -np.arange(1, len(lease) + 1)), return_index=True)
    duplicate = np.ones(len(lease), dtype=bool)
    duplicate[once] = False
    lease[duplicate] = -1
    return lease, refusals


def _noter_refus(state: _Etat, ids: np.ndarray, chosen: np.ndarray, refusals: np.ndarray, cal: date,
                 draw: np.ndarray, share: float) -> None:
    """Append each refusal to the applicant's history ('AAAA-MM-JJ:refus_...')."""
    if not refusals.any():
        return
    households = ids[chosen[refusals]]
    issue = np.where(draw[households] < share, "refus_legitime", "refus_non_legitime")
    event = pd.Series(f"{cal.isoformat()}:", index=households) + issue
    column = state.table["propositions"]
    before = column.iloc[households].fillna("").astype(str).to_numpy()
    joined = np.where(before == "", event.to_numpy(), before + ";" + event.to_numpy())
    values = column.to_numpy(dtype=object, copy=True)
    values[households] = joined
    state.table["propositions"] = values
