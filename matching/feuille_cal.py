"""The CAL preparation sheet: per unit, the ranked candidates and their reasons; JSON and Markdown.

Each candidate carries its score and the criteria behind it, the eligibility checks it passed
with their margins (income against the ceiling, persons against the surface), the effort rate
and the income left per consumption unit (information for the commission, never a filter), the
objectives it counts for, and whether the objectives changed the choice compared with the same
batch solved on scores alone. The commission decides; the sheet only prepares.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from cotation.derivees import Contexte
from cotation.explication import nombre, principaux_criteres
from matching.diagnostic import atteinte, logements_incomplets
from matching.propositions import Lot

STATUTS = {
    "optimal": "optimal (prouvé sur toutes les paires éligibles)",
    "temps_depasse": "limite de temps atteinte : meilleure solution trouvée",
    "realisable": "réalisable (preuve incomplète)",
    "infaisable": "infaisable : un objectif ou une règle dure ne peut pas être tenu",
}


def _euros(x: float) -> str:
    return f"{x:,.0f} €".replace(",", " ")


def _pct(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{x * 100:.1f} %".replace(".", ",")


def candidats_du_logement(lot: Lot, u: int) -> list[int]:
    res = lot.resultat
    head = [int(res.titulaire[u])] if res.titulaire[u] >= 0 else []
    return head + [int(a) for a in res.suppleants[u]]


def _pair(lot: Lot, u: int, a: int) -> int:
    start, end = lot.candidats.debut[u], lot.candidats.debut[u + 1]
    return int(start + np.searchsorted(lot.candidats.demande[start:end], a))


def donnees(lot: Lot) -> dict[str, Any]:
    """Everything the sheet shows, as plain data (the JSON output)."""
    res, inst = lot.resultat, lot.instance
    ctx = Contexte(lot.demandes, lot.date_cal)
    persons = ctx["taille_menage"] + ctx["naissances_attendues"]
    minimum = ctx.parametres.surfaces_minimales(lot.date_cal)
    numeros = lot.demandes["numero_unique"].astype(str).tolist()
    units = []
    for u, row in enumerate(lot.logements.to_dict("records")):
        entries = []
        for position, a in enumerate(candidats_du_logement(lot, u), start=1):
            p = _pair(lot, u, a)
            numero = numeros[a]
            top = principaux_criteres(lot.cotation, a)  # same row order as lot.demandes
            size = int(persons[a])
            counted = [
                spec.id for spec, o in zip(lot.politique.objectifs, inst.objectifs, strict=True)
                if position == 1 and o.groupe[u] >= 0 and o.public[a]
            ] + [r.id for r in inst.regles if r.logements[u] and r.public[a]]
            entries.append({
                "rang": position,
                "numero_unique": numero,
                "score": float(lot.cotation.score[a]),
                "rang_cotation": int(lot.cotation.rang[a]),
                "criteres_principaux": [f"{'+' if x.points > 0 else ''}{nombre(x.points)} {x.detail}" for x in top],
                "eligibilite": {
                    "revenu": round(float(lot.candidats.revenu[p]), 2),
                    "plafond": round(float(lot.candidats.plafond[p]), 2),
                    "marge_revenu": round(float(lot.candidats.plafond[p]) - float(lot.candidats.revenu[p]), 2),
                    "personnes": size,
                    "surface_minimale": float(minimum[min(max(size, 1), len(minimum) - 1)]),
                    "surface": float(row["surface"]),
                    "pieces": int(row["pieces"]),
                },
                "taux_effort": round(float(lot.candidats.taux_effort[p]), 4),
                "reste_a_vivre_par_uc": round(float(lot.candidats.reste_a_vivre_uc[p]), 2),
                "compte_pour": counted,
            })
        remark = []
        free_titular = int(lot.sans_objectifs.titulaire[u])
        if entries and free_titular != int(res.titulaire[u]):
            if free_titular >= 0:
                remark.append(
                    "les objectifs ont modifié ce choix : sur les seuls scores, le titulaire serait la demande "
                    f"{numeros[free_titular]} "
                    f"(score {nombre(float(lot.cotation.score[free_titular]))})"
                )
            else:
                remark.append("les objectifs ont modifié ce choix : sur les seuls scores, ce logement n'aurait pas "
                              "de titulaire")
        remark += list(lot.candidats.notes[u]) if u < len(lot.candidats.notes) else []
        units.append({
            "identifiant": str(row["identifiant"]),
            "bailleur": str(row["bailleur"]),
            "commune": str(row["commune"]),
            "qpv": bool(row["qpv"]),
            "typologie": str(row["typologie"]),
            "pieces": int(row["pieces"]),
            "surface": float(row["surface"]),
            "loyer": float(row["loyer"]),
            "charges": float(row.get("charges", 0.0)),
            "financement": str(row["financement"]),
            "reservataire": str(row["reservataire"]),
            "adapte_handicap": bool(row.get("adapte_handicap", False)),
            "eligibles": int(lot.candidats.debut[u + 1] - lot.candidats.debut[u]),
            "candidats": entries,
            "remarques": remark,
        })
    greedy_titulars = lot.glouton.titulaire
    return {
        "date_cal": lot.date_cal.isoformat(),
        "politique": f"{lot.politique.politique.territoire} ({lot.politique.politique.version})",
        "grille": f"{lot.cotation.grille.grille.territoire} ({lot.cotation.grille.grille.version})",
        "resolution": {
            "statut": res.statut,
            "objectif": res.objectif,
            "borne": res.borne,
            "ecart_relatif": res.ecart,
            "paires_eligibles": res.paires,
            "paires_dans_le_modele": res.support,
            "tours_de_tarification": res.tours,
            "secondes": round(res.secondes, 3),
            "graine": lot.instance.graine,
            "limite_temps_s": lot.instance.limite_temps_s,
        },
        "logements": units,
        "objectifs": [
            {
                "objectif": x.objectif, "libelle": x.libelle, "groupe": x.groupe, "cible": x.cible,
                "attributions_lot": x.attributions_lot, "public_lot": x.public_lot,
                "attributions_annee": x.attributions_annee, "public_annee": x.public_annee,
                "part_annee": None if not np.isfinite(x.part_annee) else x.part_annee,
                "manque": x.manque, "atteint": x.atteint, "explication": x.explication,
            }
            for x in atteinte(lot)
        ],
        "logements_incomplets": [x.__dict__ for x in logements_incomplets(lot)],
        "logements_ecartes": [{"identifiant": i, "motif": why} for i, why in lot.ecartes],
        "comparaison_glouton": {
            "objectif_glouton": lot.glouton.objectif,
            "places_pourvues_optimiseur": int((res.titulaire >= 0).sum() + sum(len(s) for s in res.suppleants)),
            "places_pourvues_glouton": int((greedy_titulars >= 0).sum() + sum(len(s) for s in lot.glouton.suppleants)),
        },
    }


def ecrire(lot: Lot, dossier: Path) -> dict[str, Any]:
    """Write propositions.json (for information systems) and feuille_cal.md (for the commission)."""
    data = donnees(lot)
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / "propositions.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    (dossier / "feuille_cal.md").write_text(en_markdown(lot, data), encoding="utf-8")
    return data


def en_markdown(lot: Lot | None, data: dict[str, Any] | None = None) -> str:
    """The sheet a commission reads, from a solved batch or from its stored data (`donnees`)."""
    if data is None and lot is None:
        raise ValueError("en_markdown needs a batch or its data")
    d = data if data is not None else donnees(lot)
    r = d["resolution"]
    out = [
        f"# Préparation de la CAL du {date.fromisoformat(d['date_cal']).strftime('%d/%m/%Y')}",
        "",
        f"Grille : {d['grille']}. Politique : {d['politique']}.",
        f"Résolution : {STATUTS.get(r['statut'], r['statut'])} ; écart à la borne {_pct(r['ecart_relatif'])} ; "
        f"{r['paires_eligibles']} paires éligibles, {r['paires_dans_le_modele']} dans le modèle ; "
        f"{nombre(round(r['secondes'], 2))} s.",
        "",
        "> La cotation et ces propositions sont une aide à la décision : la commission d'attribution "
        "examine les candidatures et décide (art. R.441-3 CCH).",
        "",
        "## Objectifs de l'année",
        "",
        "| objectif | groupe | cible | lot (public / attributions) | année | manque | explication |",
        "|---|---|---|---|---|---|---|",
    ]
    for x in d["objectifs"]:
        share = "—" if x["part_annee"] is None else _pct(x["part_annee"])
        batch = f"{x['public_lot']} / {x['attributions_lot']}"
        out.append(f"| {x['libelle']} | {x['groupe']} | {_pct(x['cible'])} | {batch} "
                   f"| {share} | {x['manque']} | {x['explication']} |")
    out += ["", "## Logements", ""]
    for unit in d["logements"]:
        where = "QPV" if unit["qpv"] else "hors QPV"
        out.append(f"### {unit['identifiant']} — {unit['typologie']}, {nombre(unit['surface'])} m², commune "
                   f"{unit['commune']} ({where}), {unit['financement']}, réservataire {unit['reservataire']}, "
                   f"loyer {_euros(unit['loyer'])} + {_euros(unit['charges'])} de charges")
        out.append("")
        if not unit["candidats"]:
            out.append("Aucun candidat éligible.")
        else:
            out.append("| rang | demande | score | critères principaux | ressources / plafond | personnes / surface "
                       "| taux d'effort | compte pour |")
            out.append("|---|---|---|---|---|---|---|---|")
            for c in unit["candidats"]:
                e = c["eligibilite"]
                out.append(
                    f"| {c['rang']} | {c['numero_unique']} | {nombre(c['score'])} "
                    f"| {'<br>'.join(c['criteres_principaux'])} "
                    f"| {_euros(e['revenu'])} / {_euros(e['plafond'])} | {e['personnes']} pers. / "
                    f"{nombre(e['surface'])} m² (min. {nombre(e['surface_minimale'])}) | {_pct(c['taux_effort'])} "
                    f"| {', '.join(c['compte_pour']) or '—'} |"
                )
        for remark in unit["remarques"]:
            out.append(f"- {remark}")
        out.append("")
    if d["logements_ecartes"]:
        out += ["## Logements écartés du lot", ""]
        out += [f"- {x['identifiant']} : {x['motif']}" for x in d["logements_ecartes"]]
        out.append("")
    if d["logements_incomplets"]:
        out += ["## Logements avec moins de candidats que prévu", ""]
        out += [f"- {x['identifiant']} : {x['explication']}" for x in d["logements_incomplets"]]
        out.append("")
    g = d["comparaison_glouton"]
    out += ["## Comparaison avec la pratique actuelle", "",
            f"Places pourvues : {g['places_pourvues_optimiseur']} avec l'optimiseur, {g['places_pourvues_glouton']} "
            "en prenant logement par logement les meilleurs scores restants.", ""]
    return "\n".join(out)
