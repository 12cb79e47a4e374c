"""Load a rule file (grid or policy) from YAML and report every problem with its file, line, item and field.

PyYAML's composer gives each node its line; we keep a map from the path of every value
(`("criteres", 3, "points")`) to its line, so that pydantic's error locations can be turned
into French messages that point at the right line. Duplicate keys, which PyYAML would
silently overwrite, are errors.

The machinery is generic: `charger_yaml(source, modele, texte, format_fichier=...)` reads and
validates any rule model, `FormatFichier` says how its problems are named (error class, named
lists, known fields). `charger_grille` is that call for grids; `rules.politique.charger_politique`
for allocation policies. Errors: `ErreurRegles` is the common base, `ErreurGrille` the grid's,
`rules.politique.ErreurPolitique` the policy's. A validator that knows more precisely where its
problem is raises `ErreurSituee` with the path below the validated object.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rules.expression import suggestion
from rules.grille import TYPES_CRITERE, Grille

Path_ = tuple[Any, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Probleme:
    """One problem in a rule file, located as precisely as the file allows.

    `critere` is the id of the list item concerned (a criterion of a grid, an objective or a
    practice rule of a policy) and `element` names its kind in the message ("critère" by default).
    """

    fichier: str
    ligne: int | None
    message: str
    critere: str | None = None
    champ: str | None = None
    element: str = "critère"

    def __str__(self) -> str:
        where = [self.fichier]
        if self.ligne is not None:
            where.append(f"ligne {self.ligne}")
        if self.critere:
            where.append(f"{self.element} « {self.critere} »")
        if self.champ:
            where.append(f"champ « {self.champ} »")
        return f"{', '.join(where)} : {self.message}"


class ErreurRegles(ValueError):
    """A rule file (grid or policy) that cannot be used; `problemes` lists every problem found."""

    def __init__(self, problemes: list[Probleme]):
        self.problemes = problemes
        super().__init__("\n".join(str(p) for p in problemes))


class ErreurGrille(ErreurRegles):
    """A grid that cannot be used."""


class ErreurSituee(ValueError):
    """A validation error that knows its place: `chemin` is the path below the validated object.

    Raised inside a pydantic validator, pydantic keeps it in the error's context; `_locate`
    appends `chemin` to the error's location, so the message points at the offending key
    (`("realise", "q1")`, `("penalite",)`) rather than at the whole object.
    """

    def __init__(self, message: str, chemin: Sequence[Any] = ()):
        super().__init__(message)
        self.chemin = tuple(chemin)


@dataclass(frozen=True)
class FormatFichier:
    """How the problems of one kind of rule file are reported.

    `contenu` completes "le fichier doit contenir ..."; `listes` maps a top-level list of
    identified items to the word naming an item ("criteres" -> "critère"); `etiquettes` lists,
    per such list, the discriminator tags pydantic inserts after the item index; `champs` gives
    the known field names per top-level key ("" for the top level), for suggestions.
    """

    contenu: str
    erreur: type[ErreurRegles]
    listes: Mapping[str, str] = field(default_factory=dict)
    etiquettes: Mapping[str, Collection[str]] = field(default_factory=dict)
    champs: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class _Document:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    keys: dict[Path_, int] = field(default_factory=dict)  # line of the key that introduces a path


def lire_yaml(texte: str, fichier: str, *, erreur: type[ErreurRegles] = ErreurGrille) -> _Document:
    """Parse YAML into plain Python values plus the line of every path (problems raise `erreur`)."""
    try:
        node = yaml.compose(texte, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark, start = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"YAML mal formé : {_yaml_problem(getattr(exc, 'problem', None) or str(exc))}"
        if start is not None and mark is not None and start.line != mark.line:
            message += f" (élément commencé ligne {start.line + 1})"
        raise erreur([Probleme(fichier, line, message)]) from None
    if node is None:
        raise erreur([Probleme(fichier, 1, "fichier vide")])
    doc = _Document(None)
    doc.data = _convert(node, (), doc, fichier, erreur)
    return doc


_YAML_PROBLEMS = {
    "mapping values are not allowed here": (
        "« : » inattendu (vérifiez l'indentation ou mettez la valeur entre guillemets)"
    ),
    "could not find expected ':'": "« : » attendu après la clé",
    "found character '\\t' that cannot start any token": "tabulation interdite : indentez avec des espaces",
    "found undefined alias": "alias inconnu",
    "expected ',' or ']'": "« , » ou « ] » attendu (crochet non fermé ?)",
    "expected ',' or '}'": "« , » ou « } » attendu (accolade non fermée ?)",
}


def _yaml_problem(problem: str) -> str:
    if "but got '<stream end>'" in problem or "but found '<stream end>'" in problem:
        return "fin de fichier inattendue (crochet, accolade ou guillemet non fermé)"
    for english, french in _YAML_PROBLEMS.items():
        if problem.startswith(english):
            return french
    if problem.startswith("expected <block end>"):
        return "indentation incohérente"
    return f"erreur de syntaxe ({problem})"


def _convert(node: yaml.Node, path: Path_, doc: _Document, fichier: str, erreur: type[ErreurRegles]) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise erreur([Probleme(fichier, key_node.start_mark.line + 1, f"clé « {key} » en double")])
            doc.keys[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, key), doc, fichier, erreur)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), doc, fichier, erreur) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:  # e.g. 2024-13-01 looks like a date but is none: let validation say so
        return node.value
    finally:
        loader.dispose()


def charger_yaml(
    source: str | Path, modele: type[M], texte: str | None = None, *, format_fichier: FormatFichier
) -> M:
    """Load and validate a rule file from a path (or from `texte`, named `source` in messages).

    Every problem found is raised at once as `format_fichier.erreur`, each located by file,
    line, item and field.
    """
    fichier, erreur = str(source), format_fichier.erreur
    if texte is None:
        try:
            texte = Path(source).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise erreur([Probleme(fichier, None, "fichier introuvable")]) from None
        except UnicodeDecodeError:
            raise erreur([Probleme(fichier, None, "le fichier doit être encodé en UTF-8")]) from None
    doc = lire_yaml(texte, fichier, erreur=erreur)
    if not isinstance(doc.data, dict):
        raise erreur([Probleme(fichier, 1, f"le fichier doit contenir {format_fichier.contenu}")])
    try:
        return modele.model_validate(doc.data)
    except ValidationError as exc:
        raise erreur([_locate(err, doc, fichier, format_fichier) for err in exc.errors()]) from None


def charger_grille(source: str | Path, texte: str | None = None) -> Grille:
    """Load and validate a grid from a path (or from `texte`, named `source` in messages)."""
    return charger_yaml(source, Grille, texte, format_fichier=FORMAT_GRILLE)


def champs_connus(modele: type[BaseModel]) -> dict[str, list[str]]:
    """Known field names of a model, per top-level key: the fields of the model(s) found under it."""
    out: dict[str, list[str]] = {"": list(modele.model_fields)}
    for name, info in modele.model_fields.items():
        names: list[str] = []
        for sub in _sub_models(info.annotation):
            names += [f for f in sub.model_fields if f not in names]
        if names:
            out[name] = names
    return out


def _sub_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _sub_models(arg)]


def _locate(err: dict, doc: _Document, fichier: str, format_fichier: FormatFichier | None = None) -> Probleme:
    """Turn one pydantic error into a located French problem."""
    fmt = format_fichier or FORMAT_GRILLE
    loc = list(err["loc"])
    situated = (err.get("ctx") or {}).get("error")
    if isinstance(situated, ErreurSituee):
        loc += situated.chemin
    # Discriminated unions insert the tag ('drapeau') after the list index, dict keys a '[key]': drop them.
    path: list[Any] = []
    for i, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(part, str) and i >= 2 and part in fmt.etiquettes.get(loc[i - 2], ()):
            continue
        path.append(part)
    line = None
    if err["type"] == "extra_forbidden" or "[key]" in loc or isinstance(situated, ErreurSituee):
        line = doc.keys.get(tuple(path))  # the key itself, not the first line of its block
    for cut in range(len(path), -1, -1):
        if line is not None:
            break
        line = doc.lines.get(tuple(path[:cut]))
    critere, element = None, "critère"
    if len(path) >= 2 and path[0] in fmt.listes and isinstance(path[1], int):
        element = fmt.listes[path[0]]
        items = doc.data.get(path[0]) or []
        if isinstance(items, list) and path[1] < len(items) and isinstance(items[path[1]], dict):
            critere = items[path[1]].get("id") or f"n° {path[1] + 1}"
        path_rest = path[2:]
    else:
        path_rest = path
    champ = ".".join(str(p) for p in path_rest) or None
    return Probleme(fichier, line, message_validation(err, path, fmt.champs), critere, champ, element)


def message_validation(err: dict, path: list[Any], champs: Mapping[str, Sequence[str]] | None = None) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else "…"
    if kind == "missing":
        return "champ obligatoire manquant"
    if kind == "extra_forbidden":
        return f"champ inconnu{_field_hint(path, _KNOWN_FIELDS if champs is None else champs)}"
    if kind == "union_tag_invalid":
        return f"type de critère inconnu « {ctx.get('tag')} » ; types possibles : {', '.join(TYPES_CRITERE)}"
    if kind == "union_tag_not_found":
        return f"champ « type » manquant ; types possibles : {', '.join(TYPES_CRITERE)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"nombre entier attendu, reçu {shown}"
    if kind in ("float_parsing", "float_type"):
        return f"nombre attendu, reçu {shown}"
    if kind in ("bool_parsing", "bool_type"):
        return f"vrai/faux (true/false) attendu, reçu {shown}"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"date attendue au format AAAA-MM-JJ, reçu {shown}"
    if kind in ("string_type",):
        return f"texte attendu, reçu {shown}"
    if kind in ("list_type",):
        return "liste attendue (éléments précédés de « - »)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "bloc de clés attendu (clé: valeur)"
    if kind == "literal_error":
        expected = str(ctx.get("expected")).replace("' or '", "', '")
        return f"valeur non autorisée {shown} ; valeurs possibles : {expected}"
    if kind == "string_pattern_mismatch":
        if path and path[-1] == "id" or (path and path[-1] in ("groupe", "criteres")):
            return f"identifiant invalide {shown} : lettres minuscules, chiffres et _ seulement"
        return f"format invalide {shown}"
    if kind == "string_too_short":
        return "texte vide"
    if kind in ("too_short",):
        return f"au moins {ctx.get('min_length')} élément(s) attendu(s)"
    bounds = {
        "greater_than": "strictement supérieur à {gt}",
        "greater_than_equal": "supérieur ou égal à {ge}",
        "less_than": "strictement inférieur à {lt}",
        "less_than_equal": "inférieur ou égal à {le}",
    }
    if kind in bounds:
        return f"valeur {shown} refusée : doit être " + bounds[kind].format(**ctx)
    if kind in ("value_error", "assertion_error"):
        msg = str(ctx.get("error", err["msg"]))
        return msg.removeprefix("Value error, ")
    return err["msg"]


_KNOWN_FIELDS = {
    "grille": ["territoire", "code_epci", "departement", "version", "valide_du", "valide_au",
               "statut", "demandes", "sources", "description"],
    "criteres": ["id", "libelle", "description", "groupe", "demandes", "valide_du", "valide_au",
                 "source", "type", "condition", "points", "variable", "mesure", "points_par_mois",
                 "a_partir_de", "plafond", "paliers", "tranches", "criteres", "minimum",
                 "points_par_refus", "fenetre_mois", "plancher", "refus", "valeur"],
    "": ["grille", "groupes", "criteres", "departage", "non_transcrits"],
}


def _field_hint(path: list[Any], champs: Mapping[str, Sequence[str]]) -> str:
    name = path[-1] if path else ""
    scope = "" if len(path) <= 1 else str(path[0])
    known = champs.get(scope)
    if known is None:
        known = [f for names in champs.values() for f in names]
    return suggestion(name, known)


FORMAT_GRILLE = FormatFichier(
    contenu="une grille (clés grille, criteres...)",
    erreur=ErreurGrille,
    listes={"criteres": "critère"},
    etiquettes={"criteres": TYPES_CRITERE},
    champs=_KNOWN_FIELDS,
)
