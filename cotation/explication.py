"""Explanations of a score, criterion by criterion, in French.

The structured form (`Ligne`) serves the API and the CAL sheet; `texte` renders it for people:
"+50 Reconnu DALO", "+36 Ancienneté : 36 mois × 1 point", and, for a criterion set aside by
an exclusive group, why it does not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cotation.moteur import Cotation, nombre_refus, seuil_palier
from rules import grille as g
from rules.grille import DEPARTAGES
from rules.vocabulaire import SITUATIONS_LOGEMENT, VARIABLES

LIBELLES_CATEGORIES = SITUATIONS_LOGEMENT  # French labels of the only categorical variable


@dataclass(frozen=True)
class Ligne:
    """One criterion's contribution to one application's score."""

    critere: str
    libelle: str
    points: float  # points that count
    points_bruts: float  # points before the exclusive group
    detail: str
    groupe: str | None
    retenu: bool


@dataclass(frozen=True)
class Explication:
    numero_unique: str
    score: float
    rang: int
    classees: int
    lignes: tuple[Ligne, ...]
    entete: str
    pied: str

    def texte(self) -> str:
        out = [self.entete]
        for line in self.lignes:
            if line.retenu:
                out.append(f"  {signe(line.points)} {line.detail}")
            else:
                out.append(
                    f"  0 (au lieu de {signe(line.points_bruts)}) {line.detail} — groupe « {line.groupe} » : "
                    "seul le critère le plus favorable compte"
                )
        out.append(self.pied)
        return "\n".join(out)


def nombre(x: float) -> str:
    """French number: 36, 2,5, 38,5."""
    if x == int(x):
        return f"{int(x)}"
    return f"{x:.2f}".rstrip("0").replace(".", ",")


def signe(x: float) -> str:
    return f"+{nombre(x)}" if x > 0 else ("0" if x == 0 else f"−{nombre(-x)}")


def _pluriel(x: float, word: str) -> str:
    return f"{nombre(x)} {word}{'s' if abs(x) >= 2 else ''}"


def valeur(name_or_expr: str, x: float) -> str:
    """A measured value with its unit: 38,5 %, 36 mois, 12 m²."""
    if isinstance(x, float) and math.isinf(x):
        return "sans limite (aucun revenu)"
    if isinstance(x, float) and math.isnan(x):
        return "non renseigné"
    unit = VARIABLES[name_or_expr].unite if name_or_expr in VARIABLES else ""
    if unit == "%":
        return f"{nombre(round(x * 100, 1))} %"
    if unit in ("", "personnes", "pièces"):
        return nombre(round(x, 2))
    return f"{nombre(round(x, 2))} {unit}"


def expliquer(cotation: Cotation, numero_unique: str, complet: bool = False) -> Explication:
    """The explanation of one application's score (criteria with no points are left out unless `complet`)."""
    return expliquer_ligne(cotation, cotation.ligne(numero_unique), complet)


def expliquer_ligne(cotation: Cotation, i: int, complet: bool = False) -> Explication:
    """The explanation of the application at row position `i` (no search by number)."""
    numero_unique = str(cotation.numero_unique.iloc[i])
    grid = cotation.grille
    ctx = cotation.contexte
    lines = [_ligne(cotation, i, j) for j in range(len(grid.criteres)) if complet or cotation.bruts[i, j] != 0]
    total = cotation.score[i]
    m = int(cotation.classees.sum())
    head = (f"Demande {numero_unique} — grille « {grid.grille.territoire} » ({grid.grille.version}) "
            f"au {cotation.date_reference.strftime('%d/%m/%Y')}")
    order = ", puis ".join(DEPARTAGES[k] for k in grid.departage)
    if cotation.rang[i]:
        foot = (f"Total : {_pluriel(total, 'point')} — rang {cotation.rang[i]} sur {m} demandes classées.\n"
                f"À égalité de points : {order}.")
    else:
        why = "demande non active à cette date" if not ctx["demande_active"][i] else "hors du champ de la grille"
        foot = f"Total : {_pluriel(total, 'point')} — non classée ({why})."
    return Explication(numero_unique, float(total), int(cotation.rang[i]), m, tuple(lines), head, foot)


def principaux_criteres(cotation: Cotation, i: int, n: int = 3) -> list[Ligne]:
    """The `n` criteria that weigh most in the score of row `i` (largest points first, then grid order).

    Only those lines are written out: a CAL sheet shows three per candidate, not the whole grid.
    """
    raw, kept = cotation.bruts[i], cotation.retenus[i]
    counted = np.flatnonzero((raw != 0) & (kept != 0))
    top = counted[np.argsort(-np.abs(kept[counted]), kind="stable")][:n]
    return [_ligne(cotation, i, j) for j in top.tolist()]


def _ligne(cotation: Cotation, i: int, j: int) -> Ligne:
    """Criterion `j`'s line for row `i`: points that count, points before its group, detail."""
    c, grid = cotation.grille.criteres[j], cotation.grille
    raw, kept = float(cotation.bruts[i, j]), float(cotation.retenus[i, j])
    group = grid.libelle_groupe(c.groupe) if c.groupe else None
    return Ligne(c.id, c.libelle, kept, raw, _detail(c, i, cotation.contexte, cotation, j), group,
                 retenu=not (raw != 0 and kept == 0))


def _detail(c, i: int, ctx, cotation: Cotation, j: int) -> str:
    if isinstance(c, g.Duree):
        months = float(ctx[c.mesure][i])
        if math.isnan(months):
            return c.libelle
        parts = []
        if c.points_par_mois:
            counted = max(months - c.a_partir_de, 0)
            base = f"{nombre(counted)} mois × {_pluriel(c.points_par_mois, 'point')}"
            if c.a_partir_de:
                base += f" (au-delà des {nombre(c.a_partir_de)} premiers mois)"
            if c.plafond is not None and c.points_par_mois * counted > c.plafond:
                base += f", plafonné à {nombre(c.plafond)}"
            parts.append(base)
        else:
            parts.append(f"{nombre(months)} mois")
        for step in c.paliers:
            threshold = seuil_palier(step, cotation.grille, cotation.date_reference, ctx)
            if months > threshold:
                parts.append(f"+{nombre(step.points)} au-delà de {nombre(threshold)} mois")
        return f"{c.libelle} : {', '.join(parts)}"
    if isinstance(c, g.Categorie):
        code = int(ctx[c.variable][i])
        value = ctx.categories(c.variable)[code] if code >= 0 else None
        return f"{c.libelle} : {LIBELLES_CATEGORIES.get(value, value or 'non renseignée')}"
    if isinstance(c, g.Tranches):
        name = c.mesure.strip()
        if name in VARIABLES:
            x = float(ctx[name][i])
        else:
            from cotation.expressions import compiler_expression

            x = float(compiler_expression(name, "nombre")(ctx)[i])
        band = next((t for t in c.tranches if (t.de is None or x >= t.de) and (t.a is None or x < t.a)), None)
        if band is None:
            return f"{c.libelle} : {valeur(name, x)}"
        if band.de is not None and band.a is not None:
            bounds = f"de {valeur(name, band.de)} à moins de {valeur(name, band.a)}"
        elif band.de is not None:
            bounds = f"{valeur(name, band.de)} et plus"
        else:
            bounds = f"moins de {valeur(name, band.a)}"
        return f"{c.libelle} : {valeur(name, x)} (tranche {bounds})"
    if isinstance(c, g.Combinaison):
        met = [r for r in c.criteres if cotation.bruts[i, cotation.ids.index(r)] != 0]
        return f"{c.libelle} : {len(met)} critères réunis sur {len(c.criteres)} ({', '.join(met)})"
    if isinstance(c, g.PenaliteRefus):
        count = float(nombre_refus(ctx, c.fenetre_mois, c.refus)[i])
        what = "refus non légitime" if c.refus == "non_legitimes" else "refus"
        text = (f"{c.libelle} : {_pluriel(count, what).replace('refuss', 'refus')} dans les {c.fenetre_mois} "
                f"derniers mois × {signe(c.points_par_refus)}")
        if c.plancher is not None and c.points_par_refus * count < c.plancher:
            text += f", limité à {signe(c.plancher)}"
        return text
    if isinstance(c, g.ExpressionLibre):
        return c.libelle
    return c.libelle
