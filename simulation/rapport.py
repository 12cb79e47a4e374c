"""Report of a simulated year of CALs: the aggregated results as JSON and as one HTML page.

Why: the replay of a year of commissions is meant for elected officials and reservataires, not
only for engineers. The figures must be readable by a municipal council (French wording, French
number format, plots rather than raw arrays) and the uncertainty must stay visible: every figure
is a mean over Monte Carlo replicas with its 90 % interval (5th and 95th percentiles).

How: `ecrire_rapport` writes `resultats.json` (the aggregated dict, NaN as null, so any other
tool can re-read it) and `rapport.html`, a single self-contained file: plots are PNG images
embedded in base64, the style sheet is inline. Plots use `matplotlib.figure.Figure` directly
(no pyplot, no global figure registry, no interactive backend) inside an `rc_context`, and PNG
metadata is stripped, so the same input gives byte-identical HTML. Every text taken from the
input goes through `html.escape`.

A difference between two arms is called net ("significative") when its 90 % interval excludes 0;
the comparison sentences are derived from that rule only, never from the means alone.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import textwrap
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

FICHIER_JSON = "resultats.json"
FICHIER_HTML = "rapport.html"

ESPACE_MILLIERS = "\u202f"  # espace fine insécable
MOINS = "\u2212"
TIRET = "—"  # missing value
COULEURS_BRAS = ("#1f5f99", "#d9730d", "#2e8b57", "#8b3a8b")
GRIS = "#b8b8b8"
NOTE_INTERVALLES = "Intervalle à 90 % : 5e et 95e centiles des répliques."
STYLE_FIGURES = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.facecolor": "white",
}

MOIS_COURTS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")

# Population groups: short label (axes, table rows) and noun phrase usable in a sentence.
GROUPES = {
    "prioritaire": ("Prioritaires", "ménages prioritaires"),
    "dalo": ("DALO", "ménages reconnus DALO"),
    "premier_quartile": ("1er quartile", "ménages du premier quartile de revenus"),
    "mutation": ("Mutations", "demandeurs de mutation"),
    "tous": ("Tous", "ménages, tous groupes confondus"),
}
INDICATEURS = {
    "menages_loges": "Ménages logés",
    "refus": "Refus de proposition",
    "logements_sans_trois_candidats": "Logements présentés avec moins de trois candidats",
    "logements_restes_vacants": "Logements restés vacants",
    "demandes_en_attente_fin": "Demandes en attente en fin d'année",
}
SCENARIO = {
    "territoire": "Territoire",
    "epci": "EPCI",
    "demandes": "Demandes",
    "logements_par_an": "Logements libérés par an",
    "mois": "Durée simulée (mois)",
    "debut": "Début",
    "repliques": "Répliques",
    "graine": "Graine aléatoire",
    "execution": "Exécution",
}
CLES_CODES = {"graine", "epci", "seed"}  # integers shown without a thousands separator

CSS = """
body { font-family: "Segoe UI", Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #1f5f99; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.35em 0.6em; vertical-align: top; }
th { background: #eef2f7; text-align: left; }
td.nombre { text-align: right; white-space: nowrap; }
.intervalle { color: #666; font-size: 0.85em; }
.atteint { color: #1b6e2d; font-weight: bold; }
.non-atteint { color: #a12020; font-weight: bold; }
.pastille { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; margin-right: 0.4em;
            vertical-align: middle; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.88em; }
ul.resume li { margin-bottom: 0.5em; }
footer { margin-top: 3em; border-top: 1px solid #ccc; padding-top: 0.8em; color: #555; font-size: 0.88em; }
"""


# Escaping ---------------------------------------------------------------------------------------


class _Html(str):
    """Text already escaped: a marker so that every other text is escaped exactly once."""


def _e(texte: object) -> _Html:
    """Escape text for HTML unless it is already markup built by this module."""
    return texte if isinstance(texte, _Html) else _Html(html.escape(str(texte)))


def _joindre(morceaux: Iterable[object], sep: str = "") -> _Html:
    """Concatenate fragments, escaping the plain ones."""
    return _Html(sep.join(_e(m) for m in morceaux))


def _balise(nom: str, contenu: object, **attributs: str) -> _Html:
    """`<nom attr="…">contenu</nom>`, attributes and plain content escaped."""
    attrs = "".join(f' {k.rstrip("_")}="{html.escape(v)}"' for k, v in attributs.items())
    return _Html(f"<{nom}{attrs}>{_e(contenu)}</{nom}>")


# French number formatting -----------------------------------------------------------------------


def _val(x: object) -> float:
    """A float, NaN for None or anything that is not a number (the input mixes None and NaN)."""
    if x is None or isinstance(x, bool):
        return math.nan
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _present(x: object) -> bool:
    return math.isfinite(_val(x))


def nombre_fr(x: object, decimales: int = 0, signe: bool = False) -> str:
    """French number: comma decimal, narrow no-break space thousands, real minus sign, "—" if missing."""
    v = _val(x)
    if not math.isfinite(v):
        return TIRET
    texte = f"{abs(v):,.{decimales}f}".replace(",", ESPACE_MILLIERS).replace(".", ",")
    non_nul = any(c in "123456789" for c in texte)  # no "−0" after rounding
    if v < 0 and non_nul:
        return MOINS + texte
    return ("+" + texte) if signe and non_nul else texte


def pourcentage_fr(x: object, decimales: int | None = None, signe: bool = False) -> str:
    """A share (0.25) as a French percentage ("25 %"); by default one decimal only when needed."""
    v = _val(x)
    if not math.isfinite(v):
        return TIRET
    centieme = v * 100
    if decimales is None:
        decimales = 0 if abs(centieme - round(centieme)) < 1e-9 else 1
    return f"{nombre_fr(centieme, decimales, signe)} %"


def duree_fr(secondes: object) -> str:
    """Computing time as "12,3 s", "2 min 03 s" or "1 h 05 min"."""
    s = _val(secondes)
    if not math.isfinite(s):
        return TIRET
    if s < 60:
        return f"{nombre_fr(s, 1)} s"
    total = round(s)
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def _intervalle(stat: Mapping[str, Any] | None, fmt: Callable[[object], str]) -> str:
    """ "bas à haut" of an aggregated statistic."""
    stat = stat or {}
    if not (_present(stat.get("bas")) or _present(stat.get("haut"))):
        return TIRET
    return f"{fmt(stat.get('bas'))} à {fmt(stat.get('haut'))}"


def _cellule_stat(stat: Mapping[str, Any] | None, fmt: Callable[[object], str]) -> _Html:
    """Mean on one line, 90 % interval underneath in small grey type."""
    stat = stat or {}
    return _Html(f"{_e(fmt(stat.get('moyenne')))}<br>{_balise('span', _intervalle(stat, fmt), class_='intervalle')}")


def _enumeration(elements: Sequence[str]) -> str:
    """ "a", "a et b", "a, b et c"."""
    if len(elements) <= 1:
        return "".join(elements)
    return ", ".join(elements[:-1]) + " et " + elements[-1]


def _groupe_court(groupe: str) -> str:
    return GROUPES.get(groupe, (groupe.replace("_", " "), ""))[0]


def _groupe_phrase(groupe: str) -> str:
    return GROUPES.get(groupe, ("", groupe.replace("_", " ")))[1]


def _libelle_groupe_objectif(groupe: str) -> str:
    """Group of an objective (a reservataire, an EPCI…); "*" means every one."""
    return "ensemble" if groupe == "*" else groupe


# JSON -------------------------------------------------------------------------------------------


def _sans_nan(objet: Any) -> Any:
    """A JSON-ready copy: NaN and infinities become None, numpy values become Python ones."""
    if isinstance(objet, np.ndarray):
        return [_sans_nan(x) for x in objet.tolist()]
    if isinstance(objet, np.generic):
        return _sans_nan(objet.item())
    if isinstance(objet, float):
        return objet if math.isfinite(objet) else None
    if isinstance(objet, Mapping):
        return {str(k): _sans_nan(v) for k, v in objet.items()}
    if isinstance(objet, list | tuple):
        return [_sans_nan(x) for x in objet]
    return objet


def resultats_json(resultats: Mapping[str, Any]) -> str:
    """The results as strict JSON (NaN written as null, UTF-8 text kept readable)."""
    return json.dumps(_sans_nan(resultats), ensure_ascii=False, indent=2, allow_nan=False, default=str) + "\n"


# Input views ------------------------------------------------------------------------------------


def _couleurs(noms_bras: Sequence[str]) -> dict[str, str]:
    return {nom: COULEURS_BRAS[i % len(COULEURS_BRAS)] for i, nom in enumerate(noms_bras)}


def _objectifs_indexes(bras: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Mapping[str, Any]]]]:
    """id -> group -> arm -> objective, in order of first appearance: one plot per id, one panel per group."""
    index: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}
    for nom, donnees in bras.items():
        for obj in donnees.get("objectifs") or []:
            index.setdefault(str(obj.get("id")), {}).setdefault(str(obj.get("groupe", "*")), {})[nom] = obj
    return index


def _libelle_objectif(par_groupe: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    for objs in par_groupe.values():
        for obj in objs.values():
            if obj.get("libelle"):
                return str(obj["libelle"])
    return ""


def _groupes_visibles(index: Mapping[str, Mapping[str, Any]]) -> bool:
    """Show the group only when it tells something: not when every objective has the same one."""
    return len({g for par_groupe in index.values() for g in par_groupe}) > 1


def _cles_ordonnees(dicts: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """Union of keys in order of first appearance (arms may not report the same groups)."""
    cles: dict[str, None] = {}
    for d in dicts:
        cles.update(dict.fromkeys(d or {}))
    return list(cles)


def _deux_bras(resultats: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (reference, alternative) arm names when a comparison is to be shown."""
    noms = list(resultats.get("bras") or {})
    if len(noms) < 2 or not resultats.get("comparaison"):
        return None
    return noms[0], noms[1]


_MBH = ("moyenne", "bas", "haut")


@dataclass(frozen=True)
class _Ecart:
    """One B − A difference, in display units, with the direction that favours the alternative arm."""

    theme: str  # "objectif", "loges", "attente"
    sujet: str
    groupe: str
    moyenne: float
    bas: float
    haut: float
    hausse_favorable: bool  # True when a positive difference favours arm B

    @property
    def sens(self) -> int:
        """+1 / −1 when the interval excludes 0 (net difference), 0 otherwise."""
        if self.bas > 0:
            return 1
        if self.haut < 0:
            return -1
        return 0

    @property
    def faveur(self) -> int:
        """+1 when the net difference favours B, −1 when it favours A, 0 when there is none."""
        return self.sens if self.hausse_favorable else -self.sens


def _ecarts(comparaison: Mapping[str, Any], montrer_groupe: bool) -> list[_Ecart]:
    """Every difference of the comparison, objectives in percentage points."""
    ecarts = []
    for obj in comparaison.get("objectifs") or []:
        d = obj.get("difference") or {}
        sujet = str(obj.get("libelle") or obj.get("id"))
        if montrer_groupe:
            sujet += f" ({_libelle_groupe_objectif(str(obj.get('groupe', '*')))})"
        ecarts.append(
            _Ecart("objectif", sujet, str(obj.get("groupe", "*")), *(100 * _val(d.get(k)) for k in _MBH), True)
        )
    # More households housed favours B; a longer mean wait does not.
    for theme, cle, hausse in (("loges", "loges_par_groupe", True), ("attente", "attente_jours", False)):
        for groupe, d in (comparaison.get(cle) or {}).items():
            valeurs = (_val((d or {}).get(k)) for k in _MBH)
            ecarts.append(_Ecart(theme, _groupe_court(groupe), groupe, *valeurs, hausse))
    return ecarts


# Figures ----------------------------------------------------------------------------------------


def _png(fig: Figure) -> str:
    """Base64 PNG without the software version in its metadata, so the bytes depend on the data only."""
    tampon = io.BytesIO()
    fig.savefig(tampon, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.1)
    fig.clear()
    return base64.b64encode(tampon.getvalue()).decode("ascii")


def _etiquettes_mois(mois: Sequence[str]) -> list[str]:
    """ "2026-01" -> "janv.\\n2026"; the year only on the first tick and on January."""
    etiquettes = []
    for i, m in enumerate(mois):
        annee, _, numero = m.partition("-")
        if not (numero[:2].isdigit() and 1 <= int(numero[:2]) <= 12):
            etiquettes.append(m)
            continue
        court = MOIS_COURTS[int(numero[:2]) - 1]
        etiquettes.append(f"{court}\n{annee}" if i == 0 or int(numero[:2]) == 1 else court)
    return etiquettes


def _serie(obj: Mapping[str, Any], mois: Sequence[str], cle: str) -> np.ndarray:
    par_mois = {str(p.get("mois")): p for p in obj.get("par_mois") or []}
    return np.array([_val(par_mois.get(m, {}).get(cle)) for m in mois], dtype=float)


def _panneau_objectif(
    ax: Any, mois: Sequence[str], objs: Mapping[str, Mapping[str, Any]], couleurs: Mapping[str, str], etroit: bool
) -> None:
    """Mean line and 90 % band per arm, dashed target (one per arm only if the arms' targets differ)."""
    x = np.arange(len(mois))
    for nom, obj in objs.items():
        ax.fill_between(x, _serie(obj, mois, "bas"), _serie(obj, mois, "haut"), color=couleurs[nom], alpha=0.2, lw=0)
        ax.plot(x, _serie(obj, mois, "moyenne"), color=couleurs[nom], marker="o", markersize=3, label=f"Bras {nom}")
    cibles = {nom: _val(obj.get("cible")) for nom, obj in objs.items() if _present(obj.get("cible"))}
    if len(set(cibles.values())) == 1:
        ax.axhline(next(iter(cibles.values())), color="#333333", ls="--", lw=1, label="Cible")
    else:
        for nom, cible in cibles.items():
            ax.axhline(cible, color=couleurs[nom], ls="--", lw=1, label=f"Cible {nom}")
    etiquettes = _etiquettes_mois(mois)
    if etroit:  # 12 labels do not fit side by side in a narrow panel
        etiquettes = [t if i % 2 == 0 else "" for i, t in enumerate(etiquettes)]
    ax.set_xticks(x, etiquettes)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: pourcentage_fr(v, 0)))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)


def _figure_objectif(
    libelle: str,
    par_groupe: Mapping[str, Mapping[str, Mapping[str, Any]]],
    couleurs: Mapping[str, str],
    montrer_groupe: bool,
) -> str:
    """Attainment month by month of one objective, one panel per group; base64 PNG."""
    mois = sorted(
        {str(p.get("mois")) for objs in par_groupe.values() for o in objs.values() for p in o.get("par_mois") or []}
    )
    n = len(par_groupe)
    colonnes = min(n, 3)
    lignes = math.ceil(n / colonnes)
    with matplotlib.rc_context(STYLE_FIGURES):
        taille = (7.5, 3.6) if n == 1 else (4.3 * colonnes, 3.1 * lignes + 0.5)
        fig = Figure(figsize=taille, layout="constrained")
        axes = fig.subplots(lignes, colonnes, squeeze=False, sharey=True)
        for ax, (groupe, objs) in zip(axes.flat, par_groupe.items(), strict=False):
            _panneau_objectif(ax, mois, objs, couleurs, etroit=n > 1)
            if montrer_groupe and n > 1:
                ax.set_title(_libelle_groupe_objectif(groupe))
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        # shared y axis: the highest band or target of every panel stays in view
        cibles = [_val(o.get("cible")) for objs in par_groupe.values() for o in objs.values()
                  if _present(o.get("cible"))]
        haut = max([ax.dataLim.y1 for ax in axes.flat[:n] if np.isfinite(ax.dataLim.y1)] + cibles + [0.05])
        axes.flat[0].set_ylim(0, min(haut * 1.08, 1.05) if haut <= 1 else haut * 1.08)
        axes.flat[0].legend(loc="best", fontsize=8, frameon=False)
        axes.flat[0].set_ylabel("Part cumulée depuis janvier")
        fig.suptitle("\n".join(textwrap.wrap(libelle, 90)), fontsize=11)
        return _png(fig)


def _echantillon(valeurs: object) -> np.ndarray:
    """Finite waiting times from a list or an array that may hold None or NaN."""
    if valeurs is None:
        return np.empty(0)
    tableau = np.array([_val(v) for v in np.asarray(valeurs, dtype=object).ravel()], dtype=float)
    return tableau[np.isfinite(tableau)]


def _figure_attente(attente: Mapping[str, Mapping[str, Any]], couleurs: Mapping[str, str]) -> str | None:
    """Box plots of individual waiting times, per group and arm; None when no arm has any sample."""
    groupes = _cles_ordonnees(attente.values())
    noms = list(attente)
    largeur = 0.8 / max(len(noms), 1)
    donnees, positions, teintes = [], [], []
    for j, nom in enumerate(noms):
        for i, groupe in enumerate(groupes):
            valeurs = _echantillon(((attente[nom] or {}).get(groupe) or {}).get("valeurs"))
            if valeurs.size:
                donnees.append(valeurs)
                positions.append(i - 0.4 + largeur * (j + 0.5))
                teintes.append(couleurs[nom])
    if not donnees:
        return None
    with matplotlib.rc_context(STYLE_FIGURES):
        fig = Figure(figsize=(max(6.0, 1.3 * len(groupes) + 1.5), 4.0), layout="constrained")
        ax = fig.subplots()
        boites = ax.boxplot(
            donnees,
            positions=positions,
            widths=largeur * 0.85,
            patch_artist=True,
            showfliers=False,
            whis=(5, 95),
            manage_ticks=False,
            medianprops={"color": "black"},
        )
        for boite, teinte in zip(boites["boxes"], teintes, strict=True):
            boite.set_facecolor(teinte)
            boite.set_alpha(0.55)
        ax.set_xticks(range(len(groupes)), [_groupe_court(g) for g in groupes])
        ax.set_xlim(-0.6, len(groupes) - 0.4)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: nombre_fr(v)))
        ax.set_ylabel("Jours entre le dépôt et le bail signé")
        ax.grid(axis="y", alpha=0.3)
        if len(noms) > 1:
            ax.legend(handles=[Patch(color=couleurs[n], alpha=0.55, label=f"Bras {n}") for n in noms], frameon=False)
        return _png(fig)


TITRES_THEMES = {
    "objectif": "Objectifs (écart en points de %)",
    "loges": "Ménages logés sur l'année (écart en nombre)",
    "attente": "Délai d'attente moyen (écart en jours)",
}


def _figure_comparaison(ecarts: Sequence[_Ecart], couleurs: Mapping[str, str], a: str, b: str) -> str | None:
    """Horizontal bars of the B − A differences with their 90 % intervals, one panel per theme."""
    themes = [t for t in TITRES_THEMES if any(e.theme == t for e in ecarts)]
    if not themes:
        return None
    par_theme = {t: [e for e in ecarts if e.theme == t] for t in themes}
    teinte = {1: couleurs[b], -1: couleurs[a], 0: GRIS}
    with matplotlib.rc_context(STYLE_FIGURES):
        hauteurs = [len(par_theme[t]) + 1.2 for t in themes]
        fig = Figure(figsize=(8.0, 0.42 * sum(hauteurs) + 0.6), layout="constrained")
        axes = fig.subplots(len(themes), 1, squeeze=False, gridspec_kw={"height_ratios": hauteurs})[:, 0]
        for ax, theme in zip(axes, themes, strict=True):
            liste = par_theme[theme]
            y = np.arange(len(liste))[::-1]
            moy = np.array([e.moyenne for e in liste])
            bas = np.clip(moy - np.array([e.bas for e in liste]), 0, None)
            haut = np.clip(np.array([e.haut for e in liste]) - moy, 0, None)
            ax.barh(y, np.nan_to_num(moy), color=[teinte[e.faveur] for e in liste], height=0.6)
            ax.errorbar(
                moy, y, xerr=[np.nan_to_num(bas), np.nan_to_num(haut)], fmt="none", ecolor="#333333", capsize=3, lw=1
            )
            ax.axvline(0, color="#333333", lw=0.8)
            ax.set_yticks(y, ["\n".join(textwrap.wrap(e.sujet, 45)) for e in liste])
            ax.set_title(TITRES_THEMES[theme], loc="left")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: nombre_fr(v, 0, signe=True)))
            ax.grid(axis="x", alpha=0.3)
            ax.set_ylim(-0.7, len(liste) - 0.3)
        poignees = [
            Patch(color=teinte[1], label=f"Net, en faveur du bras {b}"),
            Patch(color=teinte[-1], label=f"Net, en faveur du bras {a}"),
            Patch(color=GRIS, label="Pas de différence nette"),
        ]
        fig.legend(handles=poignees, loc="outside lower center", ncols=3, frameon=False)
        return _png(fig)


def _image(png: str, alt: str, legende: str = "") -> _Html:
    """A <figure> with the embedded PNG and an optional caption."""
    img = f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'
    return _Html(f"<figure>{img}{_balise('figcaption', legende) if legende else ''}</figure>")


# HTML blocks ------------------------------------------------------------------------------------


def _tableau(
    entetes: Sequence[object], lignes: Iterable[Sequence[object]], colonnes_texte: Collection[int] = (0,)
) -> _Html:
    """A table; columns not in `colonnes_texte` are figures, right-aligned and never wrapped."""
    tete = _joindre(_balise("th", h) for h in entetes)
    corps = []
    for ligne in lignes:
        cellules = (
            _balise("td", c) if i in colonnes_texte else _balise("td", c, class_="nombre") for i, c in enumerate(ligne)
        )
        corps.append(_balise("tr", _joindre(cellules)))
    return _Html(f"<table><thead><tr>{tete}</tr></thead><tbody>{_joindre(corps)}</tbody></table>")


def _valeur_libre(cle: str, valeur: object) -> str:
    """Scenario values: numbers the French way, codes (seed, EPCI) untouched, lists joined."""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int | np.integer):
        return str(valeur) if cle in CLES_CODES else nombre_fr(valeur)
    if isinstance(valeur, float | np.floating):
        return nombre_fr(valeur, 0 if float(valeur).is_integer() else 2)
    if isinstance(valeur, list | tuple):
        return ", ".join(_valeur_libre(cle, v) for v in valeur)
    return TIRET if valeur is None else str(valeur)


def _lignes_scenario(scenario: Mapping[str, Any], prefixe: str = "") -> list[tuple[str, str]]:
    """Flatten the (possibly nested) scenario into "Territoire — EPCI | 200046977" rows."""
    lignes: list[tuple[str, str]] = []
    for cle, valeur in scenario.items():
        libelle = prefixe + SCENARIO.get(str(cle), str(cle).replace("_", " ").capitalize())
        if isinstance(valeur, Mapping):
            lignes += _lignes_scenario(valeur, libelle + " — ")
        else:
            lignes.append((libelle, _valeur_libre(str(cle), valeur)))
    return lignes


def _section(titre: str, *contenu: object, ident: str = "") -> _Html:
    attrs = f' id="{html.escape(ident)}"' if ident else ""
    return _Html(f"<section{attrs}>{_balise('h2', titre)}{_joindre(contenu)}</section>")


def _section_scenario(resultats: Mapping[str, Any], couleurs: Mapping[str, str]) -> _Html:
    """Scenario table and the legend of the arms (their colour in every plot)."""
    bras = resultats.get("bras") or {}
    items = [
        _Html(
            f'<li><span class="pastille" style="background:{couleurs[nom]}"></span>'
            f"{_balise('strong', f'Bras {nom}')} : {_e(donnees.get('libelle', ''))}</li>"
        )
        for nom, donnees in bras.items()
    ]
    return _section(
        "Scénario",
        _tableau(["Paramètre", "Valeur"], _lignes_scenario(resultats.get("scenario") or {}), (0, 1)),
        _Html(f"<ul>{_joindre(items)}</ul>"),
        ident="scenario",
    )


def _verdict(obj: Mapping[str, Any]) -> _Html:
    """ "atteint" when the mean reaches the target (a minimum share), "non atteint" otherwise."""
    moyenne, cible = _val((obj.get("annee") or {}).get("moyenne")), _val(obj.get("cible"))
    if not (math.isfinite(moyenne) and math.isfinite(cible)):
        return _e(TIRET)
    if moyenne >= cible:
        return _balise("span", "atteint", class_="atteint")
    return _balise("span", "non atteint", class_="non-atteint")


def _section_objectifs(bras: Mapping[str, Mapping[str, Any]], couleurs: Mapping[str, str]) -> _Html:
    """One plot per objective, then the table of the year's attainment."""
    index = _objectifs_indexes(bras)
    if not index:
        return _Html("")
    montrer = _groupes_visibles(index)
    blocs: list[object] = []
    for par_groupe in index.values():
        libelle = _libelle_objectif(par_groupe)
        blocs.append(_balise("h3", libelle))
        png = _figure_objectif(libelle, par_groupe, couleurs, montrer)
        blocs.append(
            _image(
                png,
                f"Évolution mois par mois : {libelle}",
                "Part cumulée depuis le début de l'année, après les baux signés de chaque mois. "
                "Trait : moyenne des répliques ; zone colorée : intervalle à 90 % ; tirets : cible.",
            )
        )
    entetes = (
        ["Objectif"]
        + (["Groupe"] if montrer else [])
        + ["Bras", "Sur l'année", "Cible", "Probabilité d'atteinte", "Verdict"]
    )
    lignes = []
    for par_groupe in index.values():
        for groupe, objs in par_groupe.items():
            for nom, obj in objs.items():
                tete = [obj.get("libelle") or _libelle_objectif(par_groupe)]
                tete += [_libelle_groupe_objectif(groupe)] if montrer else []
                lignes.append(
                    tete
                    + [
                        nom,
                        _cellule_stat(obj.get("annee"), lambda v: pourcentage_fr(v, 1)),
                        pourcentage_fr(obj.get("cible")),
                        pourcentage_fr(obj.get("probabilite_atteinte"), 0),
                        _verdict(obj),
                    ]
                )
    blocs.append(_balise("h3", "Bilan de l'année"))
    blocs.append(_tableau(entetes, lignes, (*range(len(entetes) - 4), len(entetes) - 1)))
    blocs.append(
        _balise(
            "p",
            "Probabilité d'atteinte : part des répliques où la cible est atteinte en fin d'année. "
            "Verdict : la moyenne des répliques atteint-elle la cible ?",
        )
    )
    return _section("Objectifs d'attribution", *blocs, ident="objectifs")


def _colonnes_bras(noms: Sequence[str], entete: str) -> list[str]:
    return [f"{entete} — bras {n}" if len(noms) > 1 else entete for n in noms]


def _section_indicateurs(bras: Mapping[str, Mapping[str, Any]]) -> _Html:
    """Year counts per arm."""
    noms = list(bras)
    cles = _cles_ordonnees(b.get("indicateurs") for b in bras.values())
    if not cles:
        return _Html("")
    lignes = [
        [INDICATEURS.get(c, c.replace("_", " ").capitalize())]
        + [_cellule_stat((bras[n].get("indicateurs") or {}).get(c), nombre_fr) for n in noms]
        for c in cles
    ]
    return _section(
        "Indicateurs de l'année",
        _tableau(["Indicateur"] + _colonnes_bras(noms, "Sur l'année"), lignes),
        ident="indicateurs",
    )


def _lecture(ecart: _Ecart | None, a: str, b: str) -> str:
    if ecart is None or not math.isfinite(ecart.moyenne):
        return TIRET
    if ecart.faveur == 0:
        return "pas de différence nette"
    return f"en faveur du bras {b if ecart.faveur > 0 else a}"


def _section_loges(
    bras: Mapping[str, Mapping[str, Any]], ecarts: Sequence[_Ecart], deux: tuple[str, str] | None
) -> _Html:
    """Households housed per group, with the net B − A difference when there are two arms."""
    noms = list(bras)
    groupes = _cles_ordonnees(b.get("loges_par_groupe") for b in bras.values())
    if not groupes:
        return _Html("")
    par_groupe = {e.groupe: e for e in ecarts if e.theme == "loges"}
    entetes = ["Groupe"] + _colonnes_bras(noms, "Ménages logés")
    if deux:
        entetes += [f"Écart {deux[1]} − {deux[0]}", "Lecture"]
    lignes = []
    for g in groupes:
        ligne: list[object] = [_groupe_court(g)]
        ligne += [_cellule_stat((bras[n].get("loges_par_groupe") or {}).get(g), nombre_fr) for n in noms]
        if deux:
            e = par_groupe.get(g)
            ligne += [_cellule_ecart(e, lambda v: nombre_fr(v, 0, signe=True)), _lecture(e, *deux)]
        lignes.append(ligne)
    texte = (0, len(entetes) - 1) if deux else (0,)
    return _section("Ménages logés par groupe", _tableau(entetes, lignes, texte), ident="loges")


def _cellule_ecart(ecart: _Ecart | None, fmt: Callable[[object], str]) -> _Html:
    if ecart is None:
        return _e(TIRET)
    return _cellule_stat({"moyenne": ecart.moyenne, "bas": ecart.bas, "haut": ecart.haut}, fmt)


def _section_attente(
    bras: Mapping[str, Mapping[str, Any]], ecarts: Sequence[_Ecart], deux: tuple[str, str] | None, couleurs
) -> _Html:
    """Distribution plot and mean/median table of the waiting time of housed households."""
    noms = list(bras)
    attente = {n: bras[n].get("attente_jours") or {} for n in noms}
    groupes = _cles_ordonnees(attente.values())
    if not groupes:
        return _Html("")
    blocs: list[object] = []
    png = _figure_attente(attente, couleurs)
    if png:
        blocs.append(
            _image(
                png,
                "Distribution des délais d'attente par groupe",
                "Boîte : du 1er au 3e quartile, trait noir : médiane ; moustaches : 5e et 95e centiles "
                "des délais individuels, toutes répliques confondues.",
            )
        )
    else:
        blocs.append(_balise("p", "Aucun délai individuel n'a été transmis : pas de graphique de distribution."))
    par_groupe = {e.groupe: e for e in ecarts if e.theme == "attente"}
    jours = lambda v: nombre_fr(v)  # noqa: E731
    entetes = ["Groupe"]
    for n in noms:
        suffixe = f" — bras {n}" if len(noms) > 1 else ""
        entetes += [f"Moyenne{suffixe}", f"Médiane{suffixe}"]
    if deux:
        entetes += [f"Écart de moyenne {deux[1]} − {deux[0]}", "Lecture"]
    lignes = []
    for g in groupes:
        ligne: list[object] = [_groupe_court(g)]
        for n in noms:
            stats = attente[n].get(g) or {}
            ligne += [_cellule_stat(stats.get("moyenne"), jours), _cellule_stat(stats.get("mediane"), jours)]
        if deux:
            e = par_groupe.get(g)
            ligne += [_cellule_ecart(e, lambda v: nombre_fr(v, 0, signe=True)), _lecture(e, *deux)]
        lignes.append(ligne)
    blocs.append(_tableau(entetes, lignes, (0, len(entetes) - 1) if deux else (0,)))
    blocs.append(
        _balise("p", "Délais en jours, du dépôt de la demande à la signature du bail, des seuls ménages logés.")
    )
    return _section("Délais d'attente des ménages logés", *blocs, ident="attente")


def _avec_unite(nombre: str, unite: str) -> str:
    """ "+5,0 pts", but a bare "—" when the value is missing."""
    return nombre if nombre == TIRET else f"{nombre} {unite}"


def _montant(ecart: _Ecart, tel_quel: bool, unite: str, fmt: Callable[[float], str]) -> str:
    """ "30 de plus, intervalle 10 à 50": the B − A difference as is, or flipped (A − B) to read as a positive."""
    m, bas, haut = (ecart.moyenne, ecart.bas, ecart.haut) if tel_quel else (-ecart.moyenne, -ecart.haut, -ecart.bas)
    return f"{fmt(abs(m))} {unite}, intervalle à 90 % : {fmt(bas)} à {fmt(haut)}"


def phrases_comparaison(
    comparaison: Mapping[str, Any], a: str = "A", b: str = "B", montrer_groupe: bool = False
) -> list[tuple[str, str]]:
    """(question, answer) pairs "qui gagne, qui attend plus longtemps" for a `comparaison` dict of B − A."""
    return _phrases(_ecarts(comparaison, montrer_groupe), a, b)


def _phrases(ecarts: Sequence[_Ecart], a: str, b: str) -> list[tuple[str, str]]:
    """The summary sentences, from the signs of the intervals only (never from the means alone)."""
    entiers = lambda v: nombre_fr(v)  # noqa: E731
    points = lambda v: nombre_fr(v, 1)  # noqa: E731
    resume: list[tuple[str, str]] = []

    loges = [e for e in ecarts if e.theme == "loges" and math.isfinite(e.moyenne)]
    if loges:
        phrases = []
        for pour_b, gagnant, autre in ((True, b, a), (False, a, b)):
            liste = [e for e in loges if e.faveur == (1 if pour_b else -1)]
            if liste:
                detail = [f"{_groupe_phrase(e.groupe)} ({_montant(e, pour_b, 'de plus', entiers)})" for e in liste]
                phrases.append(f"Le bras {gagnant} loge davantage de {_enumeration(detail)} que le bras {autre}.")
        nuls = [_groupe_phrase(e.groupe) for e in loges if e.faveur == 0]
        if nuls:
            phrases.append(f"Pas de différence nette du nombre de ménages logés pour : {_enumeration(nuls)}.")
        resume.append(("Qui gagne ?", " ".join(phrases)))

    attente = [e for e in ecarts if e.theme == "attente" and math.isfinite(e.moyenne)]
    if attente:
        phrases = []
        for sens, mot in ((1, "plus"), (-1, "moins")):
            liste = [e for e in attente if e.sens == sens]
            if liste:
                detail = [
                    f"{_groupe_phrase(e.groupe)} ({_montant(e, sens > 0, f'jours de {mot} en moyenne', entiers)})"
                    for e in liste
                ]
                phrases.append(
                    f"Avec le bras {b}, attendent {mot} longtemps qu'avec le bras {a} : {_enumeration(detail)}."
                )
        nuls = [_groupe_phrase(e.groupe) for e in attente if e.sens == 0]
        if nuls:
            phrases.append(f"Pas de différence nette de délai d'attente pour : {_enumeration(nuls)}.")
        resume.append(("Qui attend plus longtemps ?", " ".join(phrases)))

    objectifs = [e for e in ecarts if e.theme == "objectif" and math.isfinite(e.moyenne)]
    if objectifs:
        phrases = []
        for pour_b, gagnant in ((True, b), (False, a)):
            liste = [e for e in objectifs if e.faveur == (1 if pour_b else -1)]
            if liste:
                detail = [f"« {e.sujet} » ({_montant(e, pour_b, 'points de plus', points)})" for e in liste]
                phrases.append(f"Le bras {gagnant} fait mieux sur {_enumeration(detail)}.")
        nuls = [f"« {e.sujet} »" for e in objectifs if e.faveur == 0]
        if nuls:
            phrases.append(f"Pas de différence nette sur {_enumeration(nuls)}.")
        resume.append(("Objectifs d'attribution", " ".join(phrases)))
    return resume


def _section_comparaison(
    resultats: Mapping[str, Any], ecarts: Sequence[_Ecart], deux: tuple[str, str], couleurs: Mapping[str, str]
) -> _Html:
    """A/B comparison: summary sentences, bar chart of differences, table of differences."""
    a, b = deux
    bras = resultats.get("bras") or {}
    intro = (
        f"Bras {a} : {bras[a].get('libelle', '')}. Bras {b} : {bras[b].get('libelle', '')}. "
        f"Les écarts {b} − {a} sont calculés réplique par réplique sur les mêmes tirages aléatoires ; "
        "un écart est dit net (significatif) quand son intervalle à 90 % exclut 0."
    )
    items = [
        _Html(f"<li>{_balise('strong', question)} {_e(reponse)}</li>") for question, reponse in _phrases(ecarts, a, b)
    ]
    blocs: list[object] = [_balise("p", intro), _Html(f'<ul class="resume">{_joindre(items)}</ul>')]
    png = _figure_comparaison(ecarts, couleurs, a, b)
    if png:
        blocs.append(
            _image(
                png,
                f"Écarts {b} − {a} avec leurs intervalles à 90 %",
                f"Barre : écart moyen {b} − {a} ; trait noir : intervalle à 90 %. Pour les délais, "
                f"un écart négatif signifie une attente plus courte avec le bras {b}.",
            )
        )
    unites = {
        "objectif": lambda v: _avec_unite(nombre_fr(v, 1, signe=True), "pts"),
        "loges": lambda v: nombre_fr(v, 0, signe=True),
        "attente": lambda v: _avec_unite(nombre_fr(v, 0, signe=True), "j"),
    }
    themes = {"objectif": "Objectif", "loges": "Ménages logés", "attente": "Délai moyen"}
    lignes = [
        [
            themes[e.theme],
            e.sujet,
            unites[e.theme](e.moyenne),
            _intervalle({"bas": e.bas, "haut": e.haut}, unites[e.theme]),
            _lecture(e, a, b),
        ]
        for e in ecarts
    ]
    blocs.append(_tableau(["Thème", "Sujet", f"Écart {b} − {a}", "Intervalle à 90 %", "Lecture"], lignes, (0, 1, 4)))
    return _section(f"Comparaison des bras {a} et {b}", *blocs, ident="comparaison")


def _valeur_validation(valeur: object) -> str:
    """Shares (floats within [0, 1]) as percentages, other numbers the French way, text as is."""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int | np.integer):
        return nombre_fr(valeur)
    if isinstance(valeur, float | np.floating):
        if not math.isfinite(valeur):
            return TIRET
        return pourcentage_fr(valeur, 1) if 0 <= valeur <= 1 else nombre_fr(valeur, 1)
    return TIRET if valeur is None else str(valeur)


def _section_validation(validation: Sequence[Mapping[str, Any]] | None) -> _Html:
    """Checks of the simulation against published figures."""
    if not validation:
        return _Html("")
    lignes = []
    for v in validation:
        conforme = v.get("conforme")
        marque = (
            TIRET
            if conforme is None
            else (
                _balise("span", "conforme", class_="atteint")
                if conforme
                else _balise("span", "non conforme", class_="non-atteint")
            )
        )
        lignes.append([v.get("libelle", ""), _valeur_validation(v.get("valeur")), v.get("attendu", TIRET), marque])
    return _section(
        "Validation",
        _tableau(["Contrôle", "Valeur simulée", "Attendu", "Résultat"], lignes, (0, 2, 3)),
        ident="validation",
    )


def _pied(resultats: Mapping[str, Any]) -> _Html:
    """Computing time and how to read the intervals."""
    repliques = (resultats.get("scenario") or {}).get("repliques")
    texte_repliques = f" sur {_valeur_libre('repliques', repliques)} répliques" if repliques is not None else ""
    lignes = [
        f"Temps de calcul : {duree_fr(resultats.get('secondes'))}.",
        f"Chaque chiffre est la moyenne{texte_repliques} Monte-Carlo. {NOTE_INTERVALLES} "
        "Autrement dit, 90 % des répliques donnent une valeur dans cet intervalle.",
        "Un écart entre deux bras est dit net (significatif) quand son intervalle à 90 % exclut 0 ; "
        "sinon : « pas de différence nette ».",
        "Territoire synthétique tiré de statistiques publiques : aucune donnée personnelle.",
    ]
    return _Html(f"<footer>{_joindre(_balise('p', t) for t in lignes)}</footer>")


def rapport_html(resultats: Mapping[str, Any]) -> str:
    """The whole self-contained HTML page (same input, same bytes)."""
    bras = resultats.get("bras") or {}
    couleurs = _couleurs(list(bras))
    deux = _deux_bras(resultats)
    montrer = _groupes_visibles(_objectifs_indexes(bras))
    ecarts = _ecarts(resultats.get("comparaison") or {}, montrer) if deux else []
    titre = resultats.get("titre") or "Simulation d'une année de CAL"
    corps = [
        _balise("h1", titre),
        _section_scenario(resultats, couleurs),
        _section_objectifs(bras, couleurs),
        _section_indicateurs(bras),
        _section_attente(bras, ecarts, deux, couleurs),
        _section_loges(bras, ecarts, deux),
        _section_comparaison(resultats, ecarts, deux, couleurs) if deux else "",
        _section_validation(resultats.get("validation")),
        _pied(resultats),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{_balise('title', titre)}\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(_e(c) for c in corps if c)
        + "\n</body>\n</html>\n"
    )


def ecrire_rapport(resultats: dict, dossier: Path) -> Path:
    """Write `resultats.json` and `rapport.html` into `dossier` (created if needed); return the HTML path."""
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / FICHIER_JSON).write_text(resultats_json(resultats), encoding="utf-8")
    chemin = dossier / FICHIER_HTML
    chemin.write_text(rapport_html(resultats), encoding="utf-8")
    return chemin
