"""The year's objectives, counted on signed leases: per objective and group, share against target.

The law counts the objectives of art. L.441-1 CCH on attributions followed by a signed lease,
in each group of the objective's level (the EPCI, each bailleur, each reservataire) and on the
units of its scope (all, QPV, outside QPV). The simulated year and the service both count here,
so a replayed year and a real one are measured alike, and a CAL batch is given the year to date
as the policy's `realise` so that a late year catches up.

Counts are plain data, `{objective id: {group label: [attributions, public attributions]}}`;
group labels are those of `groupes_de_niveau` (the EPCI code at level `epci`, which
`proposer` reads like the `*` key of a policy file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from matching.propositions import groupes_de_niveau, logements_vises
from rules.politique import Politique, Realise

Realises = dict[str, dict[str, list[int]]]


def compter_baux(politique: Politique, baux: pd.DataFrame, publics: Mapping[str, np.ndarray],
                 realise: Realises | None = None) -> Realises:
    """Add signed leases to the counts of each objective, per group of its level.

    `baux` has one row per signed lease with the unit's `qpv`, `epci`, `bailleur` and
    `reservataire`; `publics[objective id]` says, per lease, whether the household belongs to
    the objective's public. `realise` is updated in place (a new one when None) and returned.
    """
    out = {} if realise is None else realise
    for o in politique.objectifs:
        out.setdefault(o.id, {})
    if not len(baux):
        return out
    for o in politique.objectifs:
        codes, labels = groupes_de_niveau(baux, o.niveau)
        counted = logements_vises(baux, o.logements)
        public = np.asarray(publics[o.id], dtype=bool)
        for g, label in enumerate(labels):
            mine = counted & (codes == g)
            entry = out[o.id].setdefault(label, [0, 0])
            entry[0] += int(mine.sum())
            entry[1] += int((mine & public).sum())
    return out


def manque(cible: float, attributions: int, public: int) -> int:
    """Public attributions still needed for the share to reach the target (0 when reached)."""
    return max(math.ceil(cible * attributions - public - 1e-9), 0)


def parts(politique: Politique, realise: Realises) -> list[dict[str, Any]]:
    """Each objective's share per group, against its target (groups in label order)."""
    out = []
    for o in politique.objectifs:
        for label, (attributions, public) in sorted(realise.get(o.id, {}).items()):
            out.append({"id": o.id, "libelle": o.libelle, "groupe": label, "cible": o.cible,
                        "attributions": attributions, "public": public,
                        "part": public / attributions if attributions else None})
    return out


def avec_realise(politique: Politique, realise: Realises) -> Politique:
    """The policy with the year to date as `realise`, so that a batch catches up a late year."""
    done = {oid: {label: Realise(attributions=a, dont_public=p) for label, (a, p) in groups.items()}
            for oid, groups in realise.items() if groups}
    return politique.model_copy(update={"realise": done})


__all__ = ["Realises", "avec_realise", "compter_baux", "manque", "parts"]
