"""From tables and a policy to proposals: build the batch, solve it, and say why.

`proposer` scores nothing itself: it takes the cotation of the pool, the eligibility of each
(unit, application) pair and the policy, builds the optimizer's instance, solves it, solves it
again without objectives (to tell which choices the objectives changed), runs today's greedy
practice for comparison, and returns everything the CAL sheet and the JSON output need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cotation.derivees import Contexte
from cotation.expressions import compiler_expression
from cotation.moteur import Cotation
from matching.eligibilite import Candidats, OptionsEligibilite, candidats
from matching.optimiseur import Instance, Objectif, Regle, Resultat, glouton, resoudre
from rules.parametres import ParametreManquant, Parametres
from rules.politique import Politique


@dataclass
class Lot:
    """One CAL batch, solved, with what is needed to explain it."""

    date_cal: date
    politique: Politique
    logements: pd.DataFrame
    demandes: pd.DataFrame
    cotation: Cotation
    candidats: Candidats
    instance: Instance
    resultat: Resultat
    sans_objectifs: Resultat
    glouton: Resultat
    publics: dict[str, np.ndarray] = field(default_factory=dict)  # objective or rule id -> bool per application
    groupes: dict[str, list[str]] = field(default_factory=dict)  # objective id -> group labels
    ecartes: list[tuple[str, str]] = field(default_factory=list)  # units set aside: (identifiant, why)


def options_eligibilite(politique: Politique) -> OptionsEligibilite:
    e = politique.eligibilite
    return OptionsEligibilite(
        sous_occupation_max=e.sous_occupation_max,
        revenu_fiscal_manquant=e.revenu_fiscal_manquant,
        accessibilite_exigee=e.accessibilite_exigee,
        adapte_handicap_prioritaire=e.adapte_handicap_prioritaire,
        communes_souhaitees=e.communes_souhaitees,
        typologies_souhaitees=e.typologies_souhaitees,
        contingents=dict(e.contingents),
    )


def logements_vises(logements: pd.DataFrame, scope: str) -> np.ndarray:
    """The units an objective or a rule covers: all, those in QPV, or those outside."""
    qpv = logements["qpv"].to_numpy(dtype=bool)
    return {"tous": np.ones(len(qpv), dtype=bool), "qpv": qpv, "hors_qpv": ~qpv}[scope]


def groupes_de_niveau(logements: pd.DataFrame, niveau: str) -> tuple[np.ndarray, list[str]]:
    """Each unit's group at an objective's level (EPCI, bailleur, reservataire): codes and labels."""
    column = {"epci": "epci", "bailleur": "bailleur", "reservataire": "reservataire"}[niveau]
    codes, labels = pd.factorize(logements[column].astype(str), sort=True)
    return codes.astype(np.int64), [str(x) for x in labels]


def _realise(politique: Politique, objectif_id: str, labels: list[str]) -> np.ndarray:
    """Year-to-date (attributions, public attributions) per group; '*' applies to every group."""
    done = politique.realise.get(objectif_id, {})
    out = np.zeros((len(labels), 2))
    for g, label in enumerate(labels):
        entry = done.get(label) or done.get("*")
        if entry is not None:
            out[g] = (entry.attributions, entry.dont_public)
    return out


def construire_instance(
    logements: pd.DataFrame, demandes: pd.DataFrame, cotation: Cotation, cand: Candidats,
    politique: Politique, date_cal: date, parametres: Parametres | None = None,
    avec_objectifs: bool = True,
) -> tuple[Instance, dict[str, np.ndarray], dict[str, list[str]]]:
    """The optimizer's arrays for this batch."""
    ctx = Contexte(demandes.reset_index(drop=True), date_cal, parametres)
    score = np.asarray(cotation.score, dtype=float)
    # strict order of applications: the cotation's tie-break (rank), unranked ones last by number
    rank = np.where(cotation.rang > 0, cotation.rang, len(score) + 1)
    numbers = demandes["numero_unique"].astype(str).to_numpy()
    ordre = np.argsort(np.lexsort((numbers, rank)), kind="stable")
    publics: dict[str, np.ndarray] = {}
    groups_labels: dict[str, list[str]] = {}
    objectives, rules = [], []
    for o in politique.objectifs:
        public = compiler_expression(o.public, "booleen")(ctx).copy()
        publics[o.id] = public
        codes, labels = groupes_de_niveau(logements, o.niveau)
        groups_labels[o.id] = labels
        group = np.where(logements_vises(logements, o.logements), codes, -1)
        objectives.append(Objectif(o.id, public, group, o.cible, o.nature == "dure",
                                   float(o.penalite or 1000.0), _realise(politique, o.id, labels)))
    for r in politique.regles_logement:
        public = compiler_expression(r.public, "booleen")(ctx).copy()
        publics[r.id] = public
        rules.append(Regle(r.id, public, logements_vises(logements, r.logements), r.minimum, r.nature == "dure",
                           float(r.penalite or 200.0)))
    opt = politique.optimisation
    weights = list(opt.poids_rang)
    # Ranks 2..K share one weight (their mean): the alternates are then ordered by value, which
    # is what distinct non-increasing weights would choose for a given set of alternates.
    alternate = float(np.mean(weights[1:])) if len(weights) > 1 else 0.0
    inst = Instance(
        debut=cand.debut, demande=cand.demande, score=score, ordre=ordre,
        objectifs=tuple(objectives) if avec_objectifs else (),
        regles=tuple(rules) if avec_objectifs else (),
        k=opt.candidats_par_logement, poids=(float(weights[0]), alternate),
        limite_temps_s=float(opt.limite_temps_s), graine=int(opt.graine), largeur=int(opt.largeur_flot),
        une_fois=bool(opt.une_proposition_par_menage), ajustement=_preference_effort(politique, cand),
        ecart_cible=float(opt.ecart_cible),
        cle_logement=np.argsort(np.argsort(logements["identifiant"].astype(str).to_numpy(), kind="stable")),
    )
    return inst, publics, groups_labels


def _preference_effort(politique: Politique, cand: Candidats) -> np.ndarray | None:
    """Points lost per percentage point of effort rate above the policy's maximum (never a filter)."""
    e = politique.eligibilite
    if e.taux_effort_max is None or not e.poids_taux_effort:
        return None
    excess = np.nan_to_num(np.maximum(cand.taux_effort - e.taux_effort_max, 0.0), nan=0.0, posinf=1.0)
    return -e.poids_taux_effort * 100.0 * excess


def logements_sans_plafond(logements: pd.DataFrame, date_cal: date, parametres: Parametres) -> np.ndarray:
    """Units whose income ceiling (financing, zone) is not known at the CAL date."""
    from matching.logement import zone_de_commune

    zones = zone_de_commune(logements["commune"].astype(str).to_numpy())
    combos = pd.Series(list(zip(logements["financement"].astype(str), zones, strict=True)))
    missing = set()
    for financement, zone in combos.unique():
        try:
            parametres.plafond_ressources(financement, int(zone), 1, 0, date_cal)
        except ParametreManquant:
            missing.add((financement, zone))
    return combos.isin(missing).to_numpy(dtype=bool)


def proposer(
    logements: pd.DataFrame, demandes: pd.DataFrame, cotation: Cotation, politique: Politique,
    date_cal: date, parametres: Parametres | None = None,
) -> Lot:
    """Up to K ranked, eligible candidates per unit for the whole batch, under the policy."""
    logements = logements.reset_index(drop=True)
    demandes = demandes.reset_index(drop=True)
    parametres = parametres or Parametres.charger()
    set_aside: list[tuple[str, str]] = []
    if politique.eligibilite.plafond_inconnu == "ecarter_logement":
        unknown = logements_sans_plafond(logements, date_cal, parametres)
        for row in logements[unknown].itertuples():
            set_aside.append((str(row.identifiant), f"plafond de ressources {row.financement} inconnu au "
                              f"{date_cal.isoformat()} : logement écarté du lot (ajoutez le plafond dans "
                              "rules/parametres/plafonds_ressources.yaml en citant l'arrêté)"))
        logements = logements[~unknown].reset_index(drop=True)
    cand = candidats(logements, demandes, date_cal, options_eligibilite(politique), parametres)
    inst, publics, labels = construire_instance(logements, demandes, cotation, cand, politique, date_cal, parametres)
    result = resoudre(inst)
    free = Instance(**{**inst.__dict__, "objectifs": (), "regles": ()})
    return Lot(date_cal, politique, logements, demandes, cotation, cand, inst, result, resoudre(free),
               glouton(inst), publics, labels, set_aside)
