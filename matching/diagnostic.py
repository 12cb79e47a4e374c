"""What the batch achieves and, where it falls short, why — in French, with the binding facts.

Two kinds of facts: what the proposal reaches (each objective's share per group, against its
target and counting the year to date; each unit's number of candidates), and what the pool
allows at best (from eligibility alone, before any household is shared between units), which
tells an unreachable objective from one the policy chose to trade off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.propositions import Lot

RAISONS = {
    "revenus": "ressources au-dessus du plafond",
    "revenu_inconnu": "revenu fiscal de référence inconnu",
    "contingent": "hors du public du contingent",
    "taille_sur_occupation": "logement trop petit pour le ménage (art. R.822-25)",
    "taille_sous_occupation": "logement trop grand pour le ménage",
    "communes": "commune non souhaitée",
    "typologie": "typologie non souhaitée",
    "accessibilite": "besoin d'un logement adapté",
    "reserve_handicap": "logement adapté réservé aux ménages qui en ont besoin (art. R.441-4)",
}


@dataclass(frozen=True)
class AtteinteObjectif:
    """One objective in one group: what the batch gives and what the year reaches."""

    objectif: str
    libelle: str
    groupe: str
    cible: float
    attributions_lot: int
    public_lot: int
    attributions_annee: int
    public_annee: int
    manque: int  # public attributions missing to reach the target over the year
    maximum_possible: float  # best share reachable this year from eligibility alone
    dure: bool
    explication: str

    @property
    def part_annee(self) -> float:
        return self.public_annee / self.attributions_annee if self.attributions_annee else float("nan")

    @property
    def atteint(self) -> bool:
        return self.manque == 0


@dataclass(frozen=True)
class LogementIncomplet:
    identifiant: str
    candidats: int
    eligibles: int
    explication: str


def _unit_label(lot: Lot, u: int) -> str:
    row = lot.logements.iloc[u]
    where = "en QPV" if bool(row["qpv"]) else "hors QPV"
    return f"{row['identifiant']} ({row['typologie']}, {row['financement']}, commune {row['commune']}, {where})"


def atteinte(lot: Lot) -> list[AtteinteObjectif]:
    """Each objective per group: batch and year shares, shortfall, best reachable, and why."""
    out = []
    inst, res = lot.instance, lot.resultat
    unit = inst.unite
    for spec, o in zip(lot.politique.objectifs, inst.objectifs, strict=True):
        public_pairs = o.public[inst.demande]
        has_public = np.bincount(unit[public_pairs], minlength=inst.n_logements) > 0
        has_any = np.diff(inst.debut) > 0
        for g, label in enumerate(lot.groupes[o.id]):
            units = np.flatnonzero(o.groupe == g)
            if not len(units) and not o.realise[g, 0]:
                continue
            given = units[res.titulaire[units] >= 0]
            public = int(o.public[res.titulaire[given]].sum())
            year_att = int(o.realise[g, 0]) + len(given)
            year_pub = int(o.realise[g, 1]) + public
            needed = int(np.ceil(o.cible * year_att - year_pub - 1e-9))
            missing = max(needed, 0)
            reachable_units = units[has_any[units]]
            best_public = int(o.realise[g, 1]) + int(has_public[reachable_units].sum())
            best_total = int(o.realise[g, 0]) + len(reachable_units)
            best = best_public / best_total if best_total else float("nan")
            out.append(AtteinteObjectif(
                o.id, spec.libelle, label, o.cible, len(given), public, year_att, year_pub, missing, best,
                o.dure, _why(lot, o, spec, units, has_public, has_any, missing, best),
            ))
    return out


def _why(lot, o, spec, units, has_public, has_any, missing, best) -> str:
    if not missing:
        return "objectif atteint"
    lacking = units[has_any[units] & ~has_public[units]]
    text = [f"il manque {missing} attribution(s) du public « {spec.public} »"]
    if best < o.cible:
        text.append(f"hors d'atteinte : même en retenant un ménage du public partout où c'est possible, "
                     f"la part de l'année serait au mieux de {best:.1%}".replace(".", ","))
    if len(lacking):
        text.append(f"{len(lacking)} logement(s) concernés n'ont aucun candidat éligible du public : "
                    + _describe_units(lot, lacking))
    if best >= o.cible:
        text.append("objectif souple : l'écart coûte moins que les scores qu'il faudrait sacrifier"
                    if not o.dure else "objectif dur non tenu")
    return " ; ".join(text)


def _describe_units(lot: Lot, units: np.ndarray, limit: int = 8) -> str:
    """Group units by commune, typology and financing: '3 T4 PLUS à 69123, 1 T2 PLAI à 69266'."""
    frame = lot.logements.iloc[units]
    counts = frame.groupby(["typologie", "financement", "commune"], observed=True).size()
    parts = [f"{n} {t} {f} à {c}" for (t, f, c), n in counts.sort_values(ascending=False).items()]
    more = f" et {len(parts) - limit} autre(s) groupe(s)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def logements_incomplets(lot: Lot) -> list[LogementIncomplet]:
    """Units with fewer than K candidates, with the reasons the pool did not give more."""
    inst, res = lot.instance, lot.resultat
    eligible = np.diff(inst.debut)
    out = []
    for u in range(inst.n_logements):
        count = int(res.titulaire[u] >= 0) + len(res.suppleants[u])
        if count >= inst.k:
            continue
        row = lot.candidats.exclusions.iloc[u]
        reasons = [(int(row[k]), label) for k, label in RAISONS.items() if k in row and int(row[k]) > 0]
        reasons.sort(reverse=True)
        text = [f"{count} candidat(s) sur {inst.k}", f"{int(eligible[u])} demande(s) éligible(s)"]
        if eligible[u] > count:
            text.append(f"{int(eligible[u]) - count} éligible(s) proposée(s) sur un autre logement du lot")
        if reasons:
            text.append("demandes actives écartées : " + ", ".join(f"{n} {label}" for n, label in reasons[:5]))
        notes = lot.candidats.notes[u] if u < len(lot.candidats.notes) else []
        text += list(notes)
        out.append(LogementIncomplet(str(lot.logements.iloc[u]["identifiant"]), count, int(eligible[u]),
                                     " ; ".join(text)))
    return out
