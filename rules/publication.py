"""A grid as a readable French document that an EPCI can publish (Markdown or standalone HTML).

The law asks each EPCI to publish its cotation criteria and their weights, the cases where
refusing an adapted dwelling changes the score, and what the applicant may ask for
(R.441-2-10 and L.441-2-8 CCH; see `regles-du-domaine.md` sections 1.2-1.4). The document says,
in plain words for applicants: how the score is computed (points add up, only the best criterion
of a rubrique counts), every criterion with its condition and its points, refusals, ties,
criteria the transcription could not include, and what the score does not decide.

Both formats are rendered from one small document model (headings, paragraphs, lists, tables,
a warning box), so they always say the same thing. Every text that comes from the grid is
escaped for its format. `expression_en_francais` turns a checked safe expression
(`rules.expression`) into French: "dalo and taux_effort >= 0.3" becomes
"reconnu prioritaire et urgent DALO et taux d'effort actuel (...) ≥ 30 %".

This module stays on the lowest floor: standard library and `rules.*` only.
"""

from __future__ import annotations

import ast
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote, urlsplit

from rules.expression import analyser
from rules.grille import DEPARTAGES, Grille
from rules.grille import Categorie as _Categorie
from rules.grille import Combinaison as _Combinaison
from rules.grille import Drapeau as _Drapeau
from rules.grille import Duree as _Duree
from rules.grille import ExpressionLibre as _ExpressionLibre
from rules.grille import PenaliteRefus as _PenaliteRefus
from rules.grille import Tranches as _Tranches
from rules.vocabulaire import DEMANDES, SITUATIONS_LOGEMENT, VARIABLES

__all__ = ["expression_en_francais", "publier_html", "publier_markdown"]

# Labels of the values of each category variable (the vocabulary has one today).
LIBELLES_VALEURS: dict[str, dict[str, str]] = {"situation_logement": SITUATIONS_LOGEMENT}

STATUTS = {
    "officielle": "grille officielle",
    "partielle": "transcription partielle",
    "exemple": "grille d'exemple (pas une grille officielle)",
}
AVERTISSEMENTS = {
    "partielle": (
        "transcription partielle : seuls les critères dont les points sont publiés figurent ici."
    ),
    "exemple": "grille d'exemple, pas une grille officielle.",
}
# Units that the label already names ("personnes au foyer = 4", not "= 4 personnes").
_UNITES_MUETTES = ("", "personnes", "pièces")
MOINS = "\u2212"  # the minus sign, not the hyphen


# ----------------------------------------------------------------------------------------------
# Numbers, points, dates
# ----------------------------------------------------------------------------------------------


def _nombre(x: float) -> str:
    """French number: 36, 38,5, 1 300, −10 (decimal comma, spaces between thousands)."""
    x = round(float(x), 9)
    if x == 0:
        x = 0.0  # no "−0"
    sign = MOINS if x < 0 else ""
    x = abs(x)
    if x == int(x):
        text = f"{int(x):,}".replace(",", " ")
    else:
        text = f"{x:,.9f}".rstrip("0").replace(",", " ").replace(".", ",")
    return sign + text


def _signe(x: float) -> str:
    """+50, −10, 0."""
    return f"+{_nombre(x)}" if x > 0 else _nombre(x)


def _points(x: float, signe: bool = False) -> str:
    """'+50 points', '1 point', '−10 points', '0 point' (French: singular below 2)."""
    word = "points" if abs(x) >= 2 else "point"
    return f"{_signe(x) if signe else _nombre(x)} {word}"


def _date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _periode(du: date | None, au: date | None) -> str:
    if du and au:
        return f"du {_date(du)} au {_date(au)}"
    if du:
        return f"à partir du {_date(du)}"
    if au:
        return f"jusqu'au {_date(au)}"
    return ""


def _valeur(x: float, unite: str | None) -> str:
    """A number in a variable's unit: fractions of a '%' variable as percentages."""
    if unite == "%":
        return f"{_nombre(x * 100)} %"
    if not unite or unite in _UNITES_MUETTES:
        return _nombre(x)
    return f"{_nombre(x)} {unite}"


def _majuscule(text: str) -> str:
    return text[:1].upper() + text[1:]


def _libelle_valeur(variable: str | None, valeur: str) -> str:
    labels = LIBELLES_VALEURS.get(variable or "", {})
    return labels.get(valeur, valeur.replace("_", " "))


def _guillemets(items: Iterable[str]) -> str:
    return ", ".join(f"« {x} »" for x in items)


# ----------------------------------------------------------------------------------------------
# Expressions in French
# ----------------------------------------------------------------------------------------------

# Precedence levels, lowest first; a child whose level is below what its place needs is
# parenthesized.
_SI, _OU, _ET, _NON, _COMPARAISON, _SOMME, _PRODUIT, _SIGNE, _ATOME = range(9)

_COMPARATEURS = {ast.Eq: "=", ast.NotEq: "≠", ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥"}
_OPERATEURS = {
    ast.Add: ("+", _SOMME),
    ast.Sub: (MOINS, _SOMME),
    ast.Mult: ("×", _PRODUIT),
    ast.Div: ("÷", _PRODUIT),
}


def expression_en_francais(texte: str) -> str:
    """A safe expression (`rules.expression`) in plain French.

    Raises `rules.expression.ErreurExpression` when `texte` is not a valid expression.
    """
    return _Traduction().texte(analyser(texte).arbre)


def _est_constante(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _unite(node: ast.AST) -> str | None:
    """The unit of a numeric sub-expression, when it has one ('%', '€', 'mois'...)."""
    if isinstance(node, ast.Name):
        var = VARIABLES.get(node.id)
        return var.unite or None if var is not None and var.type == "nombre" else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _unite(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _unite_commune([node.left, node.right])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = node.args[1:] if node.func.id == "si" else node.args
        return _unite_commune(args)
    if isinstance(node, ast.IfExp):
        return _unite_commune([node.body, node.orelse])
    return None


def _unite_commune(nodes: Sequence[ast.AST]) -> str | None:
    """The one unit of the operands that have a unit (constants beside them take it), else None."""
    units = {_unite(n) for n in nodes if not _est_constante(n)} - {None}
    if len(units) == 1:
        return units.pop()
    return None


def _booleen(node: ast.AST) -> bool:
    """Whether a sub-expression is true/false (its French text may contain "et", "ou", "=")."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        var = VARIABLES.get(node.id)
        return node.id in ("vrai", "faux") or (var is not None and var.type == "booleen")
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not)
    return isinstance(node, ast.BoolOp | ast.Compare)


def _operandes(node: ast.Compare) -> list[ast.expr]:
    return [node.left, *node.comparators]


class _Traduction:
    """Renders a checked tree; `unite` and `categorie` say how constants read in their place."""

    def texte(self, node: ast.AST) -> str:
        return self._rendre(node, None, None)[0]

    def _enfant(
        self, node: ast.AST, minimum: int, unite: str | None = None, categorie: str | None = None
    ) -> str:
        text, level = self._rendre(node, unite, categorie)
        return f"({text})" if level < minimum else text

    def _rendre(self, node: ast.AST, unite: str | None, categorie: str | None) -> tuple[str, int]:
        if isinstance(node, ast.Name):
            if node.id in ("vrai", "faux"):
                return node.id, _ATOME
            var = VARIABLES.get(node.id)
            return (var.libelle if var is not None else node.id), _ATOME
        if isinstance(node, ast.Constant):
            return self._constante(node.value, unite, categorie), _ATOME
        if isinstance(node, ast.List | ast.Tuple):
            values = [e.value if isinstance(e, ast.Constant) else ast.unparse(e) for e in node.elts]
            return _guillemets(_libelle_valeur(categorie, str(v)) for v in values), _ATOME
        if isinstance(node, ast.BoolOp):
            word, level = (" et ", _ET) if isinstance(node.op, ast.And) else (" ou ", _OU)
            parts = []
            for value in node.values:
                # "a ou (b et c)", "(dalo = vrai) ou faux": explicit where a reader could hesitate.
                text, child = self._rendre(value, None, None)
                explicit = isinstance(value, ast.BoolOp) or (
                    isinstance(value, ast.Compare) and any(map(_booleen, _operandes(value)))
                )
                low = child <= _NON and not isinstance(value, ast.UnaryOp)
                parts.append(f"({text})" if explicit or low else text)
            return word.join(parts), level
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"non ({self._rendre(node.operand, None, None)[0]})", _NON
            sign = MOINS if isinstance(node.op, ast.USub) else "+"
            return sign + self._enfant(node.operand, _SIGNE, unite), _SIGNE
        if isinstance(node, ast.BinOp):
            return self._operation(node)
        if isinstance(node, ast.Compare):
            return self._comparaison(node), _COMPARAISON
        if isinstance(node, ast.IfExp):
            return self._si(node.test, node.body, node.orelse, _unite(node) or unite), _SI
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._appel(node, _unite(node) or unite)
        return ast.unparse(node), _ATOME  # not reachable for a checked expression

    @staticmethod
    def _constante(value: object, unite: str | None, categorie: str | None) -> str:
        if isinstance(value, bool):
            return "vrai" if value else "faux"
        if isinstance(value, int | float):
            return _valeur(value, unite)
        return f"« {_libelle_valeur(categorie, str(value))} »"

    def _operation(self, node: ast.BinOp) -> tuple[str, int]:
        symbol, level = _OPERATEURS.get(type(node.op), ("?", _SOMME))
        unite = _unite(node) if level == _SOMME else None
        left = self._enfant(node.left, level, unite)
        text, child = self._rendre(node.right, unite, None)
        right_needs = child < level or (child == level and isinstance(node.op, ast.Sub | ast.Div))
        right = f"({text})" if right_needs else text
        return f"{left} {symbol} {right}", level

    def _comparaison(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        unite = _unite_commune(
            [o for o in operands if not isinstance(o, ast.Constant) or not isinstance(o.value, str)]
        )
        categorie = next(
            (
                o.id
                for o in operands
                if isinstance(o, ast.Name)
                and o.id in VARIABLES
                and VARIABLES[o.id].type == "categorie"
            ),
            None,
        )
        parts = [self._enfant(node.left, _SOMME, unite, categorie)]
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                word = "parmi :" if isinstance(op, ast.In) else "autre que :"
                parts.append(f"{word} {self._rendre(right, None, categorie)[0]}")
            else:
                parts.append(
                    f"{_COMPARATEURS.get(type(op), '?')} "
                    f"{self._enfant(right, _SOMME, unite, categorie)}"
                )
        return " ".join(parts)

    def _si(self, test: ast.AST, body: ast.AST, orelse: ast.AST, unite: str | None) -> str:
        condition = self._enfant(test, _OU)
        then = self._enfant(body, _OU, unite)
        # "sinon si ..." chains read naturally without parentheses.
        otherwise = (
            self._rendre(orelse, unite, None)[0]
            if isinstance(orelse, ast.IfExp)
            or (
                isinstance(orelse, ast.Call)
                and isinstance(orelse.func, ast.Name)
                and orelse.func.id == "si"
            )
            else self._enfant(orelse, _OU, unite)
        )
        return f"si {condition} alors {then}, sinon {otherwise}"

    def _appel(self, node: ast.Call, unite: str | None) -> tuple[str, int]:
        name = node.func.id  # type: ignore[attr-defined]
        if name == "si" and len(node.args) == 3:
            return self._si(node.args[0], node.args[1], node.args[2], unite), _SI
        args = " ; ".join(self._enfant(a, _OU, unite) for a in node.args)
        words = {
            "min": "le plus petit de",
            "max": "le plus grand de",
            "abs": "la valeur absolue de",
        }
        if name in words:
            return f"{words[name]} ({args})", _ATOME
        return f"{name}({args})", _ATOME


# ----------------------------------------------------------------------------------------------
# The document model (one model, two renderers)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fort:
    texte: str


@dataclass(frozen=True)
class _Note:
    texte: str


@dataclass(frozen=True)
class _Code:
    texte: str


@dataclass(frozen=True)
class _Lien:
    texte: str
    url: str


Segment = str | _Fort | _Note | _Code | _Lien
Ligne = list[Segment]


@dataclass
class _Titre:
    niveau: int
    texte: str


@dataclass
class _Paragraphe:
    contenu: Ligne


@dataclass
class _Liste:
    elements: list[Ligne]
    ordonnee: bool = False


@dataclass
class _Tableau:
    entetes: list[str]
    lignes: list[list[list[Ligne]]]  # row -> cell -> lines
    classes: list[str] = field(default_factory=list)


@dataclass
class _Avertissement:
    contenu: Ligne


Bloc = _Titre | _Paragraphe | _Liste | _Tableau | _Avertissement


def _lien(texte: str) -> Segment:
    """A source: a link when it is an http(s) address, plain text otherwise."""
    parts = urlsplit(texte.strip())
    if parts.scheme in ("http", "https") and parts.netloc and not re.search(r"\s", texte.strip()):
        return _Lien(texte.strip(), texte.strip())
    return texte


# ----------------------------------------------------------------------------------------------
# Criteria in words
# ----------------------------------------------------------------------------------------------


@dataclass
class _Contexte:
    grille: Grille
    delai: str | None  # "36 mois" (the délai anormalement long, when known)


def _delai_anormalement_long(grille: Grille) -> str | None:
    """The département's délai anormalement long in words ("36 mois"), or None when unknown."""
    dep = grille.grille.departement
    if dep is None:
        return None
    try:
        from rules.parametres import Parametres

        params = Parametres.charger()
    except (ImportError, OSError, ValueError, LookupError):
        return None
    days = [grille.grille.valide_du] + (
        [grille.grille.valide_au] if grille.grille.valide_au else []
    )
    for day in days:
        try:
            return f"{params.delai_anormalement_long(dep, day)} mois"
        except LookupError:
            pass
        except (ValueError, TypeError):
            return None
        try:  # the délai may depend on the number of rooms
            by_type = [(t, params.delai_anormalement_long(dep, day, f"T{t}")) for t in range(1, 7)]
        except (LookupError, ValueError, TypeError):
            continue
        runs: list[list[int]] = []  # [first rooms, last rooms, months]
        for rooms, months in by_type:
            if runs and runs[-1][2] == months:
                runs[-1][1] = rooms
            else:
                runs.append([rooms, rooms, months])
        words = []
        for i, (first, last, months) in enumerate(runs):
            if i == len(runs) - 1:
                span = f"T{first} et plus" if first > 1 else "tout logement"
            else:
                span = f"T{first}" if first == last else f"T{first} à T{last}"
            words.append(
                f"{months} mois pour un {span}" if span != "tout logement" else f"{months} mois"
            )
        return ", ".join(words)
    return None


def _mesure_duree(mesure: str) -> tuple[str, str]:
    """(per-month phrase, threshold phrase) for a duration measure."""
    if mesure == "mois_depuis_dalo":
        return "mois écoulé depuis la décision DALO", "mois depuis la décision DALO"
    return "mois d'ancienneté de la demande", "mois d'ancienneté"


def _condition(c, ctx: _Contexte) -> list[Ligne]:
    """The Condition column: when the criterion gives points, and how many, in words."""
    if isinstance(c, _Drapeau):
        return [[_majuscule(expression_en_francais(c.condition))]]
    if isinstance(c, _Categorie):
        lines: list[Ligne] = [
            [
                f"Selon la {VARIABLES[c.variable].libelle} :"
                if c.variable == "situation_logement"
                else f"{_majuscule(VARIABLES[c.variable].libelle)} :"
            ]
        ]
        for value, pts in c.points.items():
            lines.append([f"{_libelle_valeur(c.variable, value)} : {_points(pts)}"])
        if set(c.points) != set(VARIABLES[c.variable].valeurs):
            lines.append(
                [
                    "autres situations : 0 point"
                    if c.variable == "situation_logement"
                    else "autres valeurs : 0 point"
                ]
            )
        return lines
    if isinstance(c, _Duree):
        return _condition_duree(c, ctx)
    if isinstance(c, _Tranches):
        return _condition_tranches(c)
    if isinstance(c, _Combinaison):
        labels = [ctx.grille.critere(r).libelle for r in c.criteres]
        how_many = (
            f"au moins {c.minimum} des critères suivants sont réunis"
            if c.minimum is not None and c.minimum < len(c.criteres)
            else "tous les critères suivants sont réunis"
        )
        lines = [[f"{_points(c.points, signe=True)} si {how_many} : {_guillemets(labels)}."]]
        if any(ctx.grille.critere(r).groupe for r in c.criteres):
            lines.append(
                [
                    _Note(
                        "Un critère compte comme réuni dès qu'il rapporte des points, "
                        "même si sa rubrique en retient un autre."
                    )
                ]
            )
        return lines
    if isinstance(c, _PenaliteRefus):
        return [[_phrase_refus(c)]]
    if isinstance(c, _ExpressionLibre):
        if c.condition is None:
            return [["Toute demande (points calculés ci-contre)"]]
        return [[_majuscule(expression_en_francais(c.condition))]]
    return [[""]]


def _condition_duree(c: _Duree, ctx: _Contexte) -> list[Ligne]:
    per_month, threshold = _mesure_duree(c.mesure)
    lines: list[Ligne] = []
    if c.points_par_mois > 0:
        text = f"{_points(c.points_par_mois)} par {per_month}"
        if c.a_partir_de:
            text += (
                " au-delà du premier mois"
                if c.a_partir_de == 1
                else f" au-delà des {_nombre(c.a_partir_de)} premiers mois"
            )
        if c.plafond is not None:
            text += f", au plus {_points(c.plafond)}"
            if c.paliers:
                text += " (hors bonus ci-dessous)"
        lines.append([text])
    for step in c.paliers:
        if step.au_dela_de == "delai_anormalement_long":
            known = f" ({ctx.delai})" if ctx.delai else ""
            when = f"au-delà du délai anormalement long du département{known}"
        else:
            when = f"au-delà de {_nombre(step.au_dela_de)} {threshold}"
        lines.append([f"{_points(step.points, signe=True)} {when}"])
    if not lines:
        lines.append(["Aucun point (critère sans effet)"])
    return lines


def _bornes(de: float | None, a: float | None, unite: str | None) -> str:
    if unite == "%" or not unite or unite in _UNITES_MUETTES:
        show_low = show_high = lambda x: _valeur(x, unite)  # noqa: E731
    else:  # "de 2 à moins de 3 m²": the unit once, after the last number
        show_low, show_high = _nombre, lambda x: _valeur(x, unite)  # noqa: E731
    if de is not None and a is not None:
        return f"de {show_low(de)} à moins de {show_high(a)}"
    if de is not None:
        return f"à partir de {show_high(de)}"
    return f"moins de {show_high(a)}"  # type: ignore[arg-type]


def _condition_tranches(c: _Tranches) -> list[Ligne]:
    tree = analyser(c.mesure).arbre
    unite = _unite(tree)
    lines: list[Ligne] = [[f"{_majuscule(expression_en_francais(c.mesure))} :"]]
    for t in c.tranches:
        lines.append([f"{_bornes(t.de, t.a, unite)} : {_points(t.points)}"])
    gaps = (
        c.tranches[0].de is not None
        or c.tranches[-1].a is not None
        or any(prev.a != nxt.de for prev, nxt in zip(c.tranches, c.tranches[1:], strict=False))
    )
    if gaps:
        lines.append(["autres valeurs : 0 point"])
    return lines


def _phrase_refus(c: _PenaliteRefus) -> str:
    which = (
        "refus non légitime d'un logement adapté"
        if c.refus == "non_legitimes"
        else "refus d'un logement adapté (que le refus soit jugé légitime ou non)"
    )
    window = (
        "dans le dernier mois"
        if c.fenetre_mois == 1
        else f"dans les {c.fenetre_mois} derniers mois"
    )
    text = f"{_points(c.points_par_refus, signe=True)} par {which} {window}"
    if c.plancher is not None:
        text += f", au plus {_nombre(c.plancher)}"
    return text


def _resume_points(c) -> str:
    """The Points column: how many points, in a few words."""
    if isinstance(c, _Drapeau | _Combinaison):
        return _points(c.points, signe=True)
    if isinstance(c, _Categorie | _Tranches):
        values = (
            list(c.points.values()) if isinstance(c, _Categorie) else [t.points for t in c.tranches]
        )
        low, high = min(values), max(values)
        if low == high:
            return _points(high, signe=True)
        return f"de {_signe(low)} à {_points(high, signe=True)}"
    if isinstance(c, _Duree):
        bonus = sum(p.points for p in c.paliers)
        if c.points_par_mois <= 0:
            if len(c.paliers) == 1:
                return _points(bonus, signe=True)
            return f"jusqu'à {_points(bonus, signe=True)}" if c.paliers else "0 point"
        if c.plafond is None:
            text = f"{_points(c.points_par_mois)} par mois, sans plafond"
            return text + (f", plus jusqu'à {_points(bonus)} de bonus" if bonus else "")
        return f"jusqu'à {_points(c.plafond + bonus, signe=True)}"
    if isinstance(c, _PenaliteRefus):
        limit = f"au plus {_nombre(c.plancher)}" if c.plancher is not None else "sans limite"
        return f"{_points(c.points_par_refus, signe=True)} par refus ({limit})"
    if isinstance(c, _ExpressionLibre):
        return f"points calculés : {expression_en_francais(c.valeur)}"
    return ""


def _portee(demandes: str) -> str | None:
    if demandes == "mutation":
        return "Demandes de mutation (locataires du parc social) uniquement."
    if demandes == "hors_mutation":
        return "Demandes hors mutation uniquement."
    return None


def _cellule_critere(c) -> list[Ligne]:
    lines: list[Ligne] = [[_Fort(c.libelle)]]
    if c.description:
        lines.append([c.description.strip()])
    scope = _portee(c.demandes)
    if scope:
        lines.append([_Note(scope)])
    if c.valide_du or c.valide_au:
        lines.append([_Note(f"Critère en vigueur {_periode(c.valide_du, c.valide_au)}.")])
    if c.source:
        lines.append([_Note(f"Source : {c.source}")])
    return lines


def _tableau(criteres: Sequence, ctx: _Contexte) -> _Tableau:
    rows = [[_cellule_critere(c), _condition(c, ctx), [[_resume_points(c)]]] for c in criteres]
    return _Tableau(["Critère", "Condition", "Points"], rows, ["critere", "condition", "points"])


# ----------------------------------------------------------------------------------------------
# The document
# ----------------------------------------------------------------------------------------------


def _noms_lus(grille: Grille) -> set[str]:
    names: set[str] = set()
    for c in grille.criteres:
        if isinstance(c, _Drapeau):
            names |= analyser(c.condition).noms
        elif isinstance(c, _ExpressionLibre):
            names |= analyser(c.valeur).noms
            if c.condition:
                names |= analyser(c.condition).noms
        elif isinstance(c, _Tranches):
            names |= analyser(c.mesure).noms
        elif isinstance(c, _Duree):
            names.add(c.mesure)
        elif isinstance(c, _Categorie):
            names.add(c.variable)
    return {n for n in names if n in VARIABLES}


def _document(grille: Grille) -> tuple[str, list[Bloc]]:
    meta = grille.grille
    ctx = _Contexte(grille, _delai_anormalement_long(grille))
    title = f"Cotation de la demande de logement social : {meta.territoire}"
    out: list[Bloc] = [_Titre(1, title)]

    if meta.statut in AVERTISSEMENTS:
        out.append(_Avertissement([_Fort("Attention"), " : " + AVERTISSEMENTS[meta.statut]]))

    facts: list[Ligne] = [
        [_Fort("Territoire"), f" : {meta.territoire}"],
        *([[_Fort("EPCI (numéro SIREN)"), f" : {meta.code_epci}"]] if meta.code_epci else []),
        *([[_Fort("Département"), f" : {meta.departement}"]] if meta.departement else []),
        [_Fort("Version"), f" : {meta.version}"],
        [
            _Fort("En vigueur"),
            " : "
            + (
                f"du {_date(meta.valide_du)} au {_date(meta.valide_au)}"
                if meta.valide_au
                else f"depuis le {_date(meta.valide_du)}"
            ),
        ],
        [_Fort("Demandes concernées"), f" : {DEMANDES[meta.demandes]}"],
        [_Fort("Statut"), f" : {STATUTS[meta.statut]}"],
    ]
    out.append(_Liste(facts))
    if meta.description:
        out.append(_Paragraphe([meta.description.strip()]))
    if meta.sources:
        out.append(_Paragraphe(["Sources :"]))
        out.append(_Liste([[_lien(s)] for s in meta.sources]))

    out += _calcul(grille)
    out += _criteres(grille, ctx)
    out += _refus(grille)
    out.append(_Titre(2, "À égalité de points"))
    out.append(
        _Paragraphe(
            [
                "Lorsque plusieurs demandes ont le même score, elles sont départagées "
                "dans l'ordre suivant :"
            ]
        )
    )
    out.append(_Liste([[_majuscule(DEPARTAGES[k]) + "."] for k in grille.departage], ordonnee=True))
    out.append(
        _Paragraphe(
            ["Le dernier critère garantit que deux demandes ne sont jamais classées au même rang."]
        )
    )
    if grille.non_transcrits:
        out.append(_Titre(2, "Critères non transcrits"))
        out.append(
            _Paragraphe(
                [
                    "La source de cette grille cite aussi les critères suivants, qui ne "
                    "figurent pas dans le score présenté ici :"
                ]
            )
        )
        out.append(_Liste([[_Fort(n.libelle), f" : {n.raison}"] for n in grille.non_transcrits]))
    out += _limites()
    out += _glossaire(grille, ctx)
    out.append(
        _Paragraphe(
            [
                _Note(
                    f"Document établi à partir de la grille « {meta.territoire} », version « "
                    f"{meta.version} ». "
                    "Seul le plan partenarial de gestion de la demande (PPGD) adopté par "
                    "l'EPCI fait foi."
                )
            ]
        )
    )
    return title, out


def _calcul(grille: Grille) -> list[Bloc]:
    meta = grille.grille
    out: list[Bloc] = [_Titre(2, "Comment le score est calculé")]
    out.append(
        _Paragraphe(
            [
                "Chaque critère rempli par la demande rapporte des points ; le score de la "
                "demande est la "
                "somme de ces points. Plus le score est élevé, mieux la demande est classée."
            ]
        )
    )
    if any(isinstance(c, _PenaliteRefus) for c in grille.criteres):
        out.append(
            _Paragraphe(
                ["Certains critères retirent des points (voir « En cas de refus d'un logement »)."]
            )
        )
    members = {g.id: [c for c in grille.criteres if c.groupe == g.id] for g in grille.groupes}
    used = [g for g in grille.groupes if members[g.id]]
    if used:
        out.append(
            _Paragraphe(
                [
                    "Certains critères sont regroupés en rubriques. ",
                    _Fort(
                        "Dans une rubrique, les points ne s'additionnent pas : seul le "
                        "critère le plus "
                        "favorable à la demande compte."
                    ),
                    " Les rubriques s'additionnent entre elles et avec les autres critères. "
                    "Les rubriques "
                    "de cette grille sont :",
                ]
            )
        )
        out.append(
            _Liste(
                [
                    [
                        _Fort(f"« {g.libelle} »"),
                        " : "
                        + " ; ".join(f"{c.libelle} ({_resume_points(c)})" for c in members[g.id]),
                    ]
                    for g in used
                ]
            )
        )
    else:
        out.append(_Paragraphe(["Tous les critères de cette grille s'additionnent."]))

    if meta.demandes == "toutes":
        out.append(
            _Paragraphe(
                [
                    "La grille s'applique à toutes les demandes de logement social du "
                    "territoire, demandes de mutation comprises."
                ]
            )
        )
    else:
        out.append(
            _Paragraphe(
                [
                    f"La grille ne s'applique qu'aux {DEMANDES[meta.demandes]} ; les "
                    "autres demandes ne sont pas classées par cette grille."
                ]
            )
        )
    for scope, words in (
        ("mutation", "aux demandes de mutation (locataires du parc social)"),
        ("hors_mutation", "aux demandes hors mutation"),
    ):
        scoped = [c.libelle for c in grille.criteres if c.demandes == scope]
        if scoped:
            out.append(
                _Paragraphe([f"Critères qui ne s'appliquent qu'{words} : {_guillemets(scoped)}."])
            )
    dated = [c for c in grille.criteres if c.valide_du or c.valide_au]
    if dated:
        out.append(_Paragraphe(["Critères valables pour une période limitée :"]))
        out.append(
            _Liste([[f"« {c.libelle} » : {_periode(c.valide_du, c.valide_au)}"] for c in dated])
        )
    out.append(
        _Paragraphe(
            ["Seules les demandes actives (renouvelées depuis moins d'un an) sont classées."]
        )
    )
    return out


def _criteres(grille: Grille, ctx: _Contexte) -> list[Bloc]:
    out: list[Bloc] = [_Titre(2, "Les critères et leurs points")]
    for g in grille.groupes:
        members = [c for c in grille.criteres if c.groupe == g.id]
        if not members:
            continue
        out.append(_Titre(3, f"Rubrique « {g.libelle} »"))
        if len(members) > 1:
            out.append(_Paragraphe(["Seul le critère le plus favorable de cette rubrique compte."]))
        out.append(_tableau(members, ctx))
    alone = [c for c in grille.criteres if c.groupe is None]
    if alone:
        out.append(_Titre(3, "Autres critères" if grille.groupes else "Critères"))
        out.append(_Paragraphe(["Ces critères s'additionnent."]))
        out.append(_tableau(alone, ctx))
    return out


def _refus(grille: Grille) -> list[Bloc]:
    out: list[Bloc] = [_Titre(2, "En cas de refus d'un logement")]
    penalties = [c for c in grille.criteres if isinstance(c, _PenaliteRefus)]
    if not penalties:
        out.append(
            _Paragraphe(
                [
                    _Fort(
                        "Dans cette grille, refuser une proposition de logement ne "
                        "change pas le score"
                    ),
                    " : aucun critère ne retire de points après un refus.",
                ]
            )
        )
        if grille.grille.statut == "partielle":
            out.append(
                _Paragraphe(
                    [
                        "La transcription étant partielle, la grille complète peut prévoir "
                        "des cas où un "
                        "refus change le score : renseignez-vous auprès du service qui a "
                        "enregistré votre "
                        "demande."
                    ]
                )
            )
        return out
    out.append(
        _Paragraphe(
            [
                "Refuser un logement adapté aux besoins et aux capacités du ménage "
                "change le score dans les cas suivants :"
            ]
        )
    )
    items: list[Ligne] = []
    for c in penalties:
        window = "1 mois" if c.fenetre_mois == 1 else f"{c.fenetre_mois} mois"
        text = _phrase_refus(c) + ". "
        text += f"Chaque refus compte à partir de sa date et cesse de compter {window} plus tard ; "
        text += "le score remonte alors."
        if c.refus == "non_legitimes":
            text += " Un refus jugé légitime ne change pas le score."
        scope = _portee(c.demandes)
        if scope:
            text += " " + scope
        if c.valide_du or c.valide_au:
            text += f" Règle en vigueur {_periode(c.valide_du, c.valide_au)}."
        items.append([_Fort(f"« {c.libelle} »"), " : " + text])
    out.append(_Liste(items))
    out.append(
        _Paragraphe(
            [
                "Une proposition restée sans suite (logement finalement non attribué, "
                "proposition annulée) ne compte pas comme un refus."
            ]
        )
    )
    return out


def _limites() -> list[Bloc]:
    return [
        _Titre(2, "Ce que le score ne décide pas"),
        _Paragraphe(
            [
                "La cotation est une ",
                _Fort("aide à la décision"),
                " : elle classe les demandes mais n'attribue pas les logements. C'est la "
                "commission "
                "d'attribution des logements et d'examen de l'occupation des logements (CALEOL) du "
                "bailleur qui décide. Sauf si les candidats sont en nombre insuffisant (et "
                "hors les "
                "autres exceptions prévues par ce même article), elle examine au moins trois "
                "demandes "
                "pour chaque logement (art. R.441-3 du code de la construction et de "
                "l'habitation).",
            ]
        ),
        _Paragraphe(
            [
                "Un score élevé ne suffit pas : le logement doit aussi convenir au ménage "
                "(ressources "
                "sous les plafonds, taille du logement, secteur souhaité)."
            ]
        ),
        _Paragraphe(["Vous pouvez demander au service qui a enregistré votre demande :"]),
        _Liste(
            [
                ["votre score ;"],
                ["le détail de vos points, critère par critère ;"],
                ["la position de votre demande par rapport aux demandes similaires ;"],
                [
                    "le délai d'attente moyen constaté pour les demandes similaires (même "
                    "typologie de "
                    "logement ou même secteur) ;"
                ],
                ["si votre demande relève d'une catégorie prioritaire."],
            ]
        ),
    ]


def _cle_tri(text: str) -> str:
    """Alphabetical order as in a dictionary: accents and case do not count."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _glossaire(grille: Grille, ctx: _Contexte) -> list[Bloc]:
    names = sorted(_noms_lus(grille), key=lambda n: _cle_tri(VARIABLES[n].libelle))
    rows: list[list[list[Ligne]]] = []
    for name in names:
        var = VARIABLES[name]
        if var.type == "booleen":
            kind = "oui ou non"
        elif var.type == "categorie":
            kind = "une valeur parmi : " + _guillemets(
                _libelle_valeur(name, v) for v in var.valeurs
            )
        elif var.unite == "%":
            kind = "pourcentage"
        elif var.unite and var.unite not in _UNITES_MUETTES:
            kind = f"nombre ({var.unite})"
        else:
            kind = "nombre"
        rows.append([[[_majuscule(var.libelle)]], [[kind]], [[_Code(name)]]])
    if any(
        p.au_dela_de == "delai_anormalement_long"
        for c in grille.criteres
        if isinstance(c, _Duree)
        for p in c.paliers
    ):
        known = f" ; ici : {ctx.delai}" if ctx.delai else ""
        rows.append(
            [
                [["Délai anormalement long"]],
                [
                    [
                        f"délai fixé par le préfet de chaque département, au-delà duquel le "
                        f"demandeur peut saisir la commission de médiation DALO (art. L.441-1-4 du "
                        f"code de la construction et de l'habitation){known}"
                    ]
                ],
                [[_Code("delai_anormalement_long")]],
            ]
        )
    if not rows:
        return []
    return [
        _Titre(2, "Glossaire"),
        _Paragraphe(["Les termes employés dans les conditions ci-dessus :"]),
        _Tableau(["Terme", "Nature", "Nom dans la grille"], rows, ["terme", "nature", "nom"]),
    ]


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _md_texte(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text))


def _md_debut(text: str) -> str:
    """Keep a line from starting a list, heading or quote by accident."""
    if re.match(r"^([-+#>]|\d+[.)])(\s|$)", text):
        return re.sub(r"^(\d+)([.)])", r"\1\\\2", text) if text[0].isdigit() else "\\" + text
    return text


def _md_segment(seg: Segment) -> str:
    if isinstance(seg, _Fort):
        return f"**{_md_texte(seg.texte)}**"
    if isinstance(seg, _Note):
        return f"*{_md_texte(seg.texte)}*"
    if isinstance(seg, _Code):
        return f"`{seg.texte.replace('`', '')}`"
    if isinstance(seg, _Lien):
        url = quote(seg.url, safe=":/?#@!$&'*+,;=%~-._")
        return f"[{_md_texte(seg.texte)}](<{url}>)"
    return _md_texte(seg)


def _md_ligne(line: Ligne) -> str:
    return _md_debut("".join(_md_segment(s) for s in line))


def _markdown(blocks: list[Bloc]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Titre):
            out.append(f"{'#' * b.niveau} {_md_texte(b.texte)}")
        elif isinstance(b, _Paragraphe):
            out.append(_md_ligne(b.contenu))
        elif isinstance(b, _Avertissement):
            out.append("> " + "".join(_md_segment(s) for s in b.contenu))
        elif isinstance(b, _Liste):
            out.append(
                "\n".join(
                    f"{f'{i}.' if b.ordonnee else '-'} {_md_ligne(item)}"
                    for i, item in enumerate(b.elements, 1)
                )
            )
        elif isinstance(b, _Tableau):
            rows = [
                f"| {' | '.join(_md_texte(h) for h in b.entetes)} |",
                f"|{'|'.join('---' for _ in b.entetes)}|",
            ]
            for row in b.lignes:
                cells = [
                    "<br>".join("".join(_md_segment(s) for s in line) for line in cell)
                    for cell in row
                ]
                rows.append(f"| {' | '.join(cells)} |")
            out.append("\n".join(rows))
    return "\n\n".join(out) + "\n"


def publier_markdown(grille: Grille) -> str:
    """The grid as a French Markdown document (GitHub-flavoured tables) for applicants."""
    return _markdown(_document(grille)[1])


# ----------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  line-height: 1.5; color: #1b1b1b; background: #fff; max-width: 62rem; margin: 0 auto;
  padding: 1.5rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 1rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .75rem; padding-bottom: .25rem;
  border-bottom: 2px solid #000091; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
a { color: #000091; overflow-wrap: anywhere; }
.avertissement { border: 2px solid #b34000; border-left-width: .5rem; background: #fff4e5;
  padding: .75rem 1rem; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #8a8a8a; padding: .45rem .6rem; text-align: left; vertical-align: top; }
th { background: #eceff8; }
td.points { white-space: nowrap; }
td.condition { min-width: 14rem; }
.note { color: #4a4a4a; font-size: .9em; font-style: italic; }
footer { margin-top: 2rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  a { color: inherit; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .avertissement, li { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  td.points { white-space: normal; }
}
""".strip()


def _h(text: str) -> str:
    return html.escape(text, quote=False)


def _html_segment(seg: Segment) -> str:
    if isinstance(seg, _Fort):
        return f"<strong>{_h(seg.texte)}</strong>"
    if isinstance(seg, _Note):
        return f'<span class="note">{_h(seg.texte)}</span>'
    if isinstance(seg, _Code):
        return f"<code>{_h(seg.texte)}</code>"
    if isinstance(seg, _Lien):
        return f'<a href="{html.escape(seg.url, quote=True)}">{_h(seg.texte)}</a>'
    return _h(seg)


def _html_ligne(line: Ligne) -> str:
    return "".join(_html_segment(s) for s in line)


def _html(title: str, blocks: list[Bloc]) -> str:
    body: list[str] = []
    for b in blocks:
        if isinstance(b, _Titre):
            body.append(f"<h{b.niveau}>{_h(b.texte)}</h{b.niveau}>")
        elif isinstance(b, _Paragraphe):
            body.append(f"<p>{_html_ligne(b.contenu)}</p>")
        elif isinstance(b, _Avertissement):
            body.append(
                f'<div class="avertissement" role="note"><p>{_html_ligne(b.contenu)}</p></div>'
            )
        elif isinstance(b, _Liste):
            tag = "ol" if b.ordonnee else "ul"
            items = "\n".join(f"<li>{_html_ligne(item)}</li>" for item in b.elements)
            body.append(f"<{tag}>\n{items}\n</{tag}>")
        elif isinstance(b, _Tableau):
            head = "".join(f'<th scope="col">{_h(h)}</th>' for h in b.entetes)
            rows = []
            for row in b.lignes:
                cells = []
                for i, cell in enumerate(row):
                    cls = f' class="{b.classes[i]}"' if i < len(b.classes) else ""
                    cells.append(f"<td{cls}>{'<br>'.join(_html_ligne(line) for line in cell)}</td>")
                rows.append(f"<tr>{''.join(cells)}</tr>")
            body.append(
                f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
                + "\n".join(rows)
                + "\n</tbody>\n</table>"
            )
    footer = body.pop() if blocks and isinstance(blocks[-1], _Paragraphe) else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + f"\n</main>\n<footer>\n{footer}\n</footer>\n</body>\n</html>\n"
    )


def publier_html(grille: Grille) -> str:
    """The grid as a complete standalone French HTML page (inline CSS, no external asset)."""
    title, blocks = _document(grille)
    return _html(title, blocks)
