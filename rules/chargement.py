"""Load a grid from YAML and report every problem with its file, line, criterion and field.

PyYAML's composer gives each node its line; we keep a map from the path of every value
(`("criteres", 3, "points")`) to its line, so that pydantic's error locations can be turned
into French messages that point at the right line. Duplicate keys, which PyYAML would
silently overwrite, are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.expression import suggestion
from rules.grille import TYPES_CRITERE, Grille

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Probleme:
    """One problem in a rule file, located as precisely as the file allows."""

    fichier: str
    ligne: int | None
    message: str
    critere: str | None = None
    champ: str | None = None

    def __str__(self) -> str:
        where = [self.fichier]
        if self.ligne is not None:
            where.append(f"ligne {self.ligne}")
        if self.critere:
            where.append(f"critère « {self.critere} »")
        if self.champ:
            where.append(f"champ « {self.champ} »")
        return f"{', '.join(where)} : {self.message}"


class ErreurGrille(ValueError):
    """A rule file that cannot be used; `problemes` lists every problem found."""

    def __init__(self, problemes: list[Probleme]):
        self.problemes = problemes
        super().__init__("\n".join(str(p) for p in problemes))


@dataclass
class _Document:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)


def lire_yaml(texte: str, fichier: str) -> _Document:
    """Parse YAML into plain Python values plus the line of every path."""
    try:
        node = yaml.compose(texte, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark, start = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"YAML mal formé : {_yaml_problem(getattr(exc, 'problem', None) or str(exc))}"
        if start is not None and mark is not None and start.line != mark.line:
            message += f" (élément commencé ligne {start.line + 1})"
        raise ErreurGrille([Probleme(fichier, line, message)]) from None
    if node is None:
        raise ErreurGrille([Probleme(fichier, 1, "fichier vide")])
    doc = _Document(None)
    doc.data = _convert(node, (), doc, fichier)
    return doc


_YAML_PROBLEMS = {
    "mapping values are not allowed here": (
        "« : » inattendu (vérifiez l'indentation ou mettez la valeur entre guillemets)"
    ),
    "could not find expected ':'": "« : » attendu après la clé",
    "found character '\\t' that cannot start any token": "tabulation interdite : indentez avec des espaces",
    "found undefined alias": "alias inconnu",
}


def _yaml_problem(problem: str) -> str:
    for english, french in _YAML_PROBLEMS.items():
        if problem.startswith(english):
            return french
    if problem.startswith("expected <block end>"):
        return "indentation incohérente"
    if "but got '<stream end>'" in problem or "but found '<stream end>'" in problem:
        return "fin de fichier inattendue (crochet, accolade ou guillemet non fermé)"
    return f"erreur de syntaxe ({problem})"


def _convert(node: yaml.Node, path: Path_, doc: _Document, fichier: str) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise ErreurGrille(
                    [Probleme(fichier, key_node.start_mark.line + 1, f"clé « {key} » en double")]
                )
            out[key] = _convert(value_node, (*path, key), doc, fichier)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), doc, fichier) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:  # e.g. 2024-13-01 looks like a date but is none: let validation say so
        return node.value
    finally:
        loader.dispose()


def charger_grille(source: str | Path, texte: str | None = None) -> Grille:
    """Load and validate a grid from a path (or from `texte`, named `source` in messages)."""
    fichier = str(source)
    if texte is None:
        try:
            texte = Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ErreurGrille([Probleme(fichier, None, "fichier introuvable")]) from None
        except UnicodeDecodeError:
            raise ErreurGrille([Probleme(fichier, None, "le fichier doit être encodé en UTF-8")]) from None
    doc = lire_yaml(texte, fichier)
    if not isinstance(doc.data, dict):
        raise ErreurGrille([Probleme(fichier, 1, "le fichier doit contenir une grille (clés grille, criteres...)")])
    try:
        return Grille.model_validate(doc.data)
    except ValidationError as exc:
        raise ErreurGrille([_locate(err, doc, fichier) for err in exc.errors()]) from None


def _locate(err: dict, doc: _Document, fichier: str) -> Probleme:
    """Turn one pydantic error into a located French problem."""
    loc = list(err["loc"])
    # Discriminated unions insert the tag ('drapeau') after the list index: drop it.
    path: list[Any] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and part in TYPES_CRITERE and i >= 2 and loc[i - 2] == "criteres":
            continue
        path.append(part)
    line = None
    for cut in range(len(path), -1, -1):
        line = doc.lines.get(tuple(path[:cut]))
        if line is not None:
            break
    critere = None
    if len(path) >= 2 and path[0] == "criteres" and isinstance(path[1], int):
        items = doc.data.get("criteres") or []
        if isinstance(items, list) and path[1] < len(items) and isinstance(items[path[1]], dict):
            critere = items[path[1]].get("id") or f"n° {path[1] + 1}"
        path_rest = path[2:]
    else:
        path_rest = path
    champ = ".".join(str(p) for p in path_rest) or None
    return Probleme(fichier, line, _message(err, path), critere, champ)


def _message(err: dict, path: list[Any]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else "…"
    if kind == "missing":
        return "champ obligatoire manquant"
    if kind == "extra_forbidden":
        return f"champ inconnu{_field_hint(path)}"
    if kind == "union_tag_invalid":
        return f"type de critère inconnu « {ctx.get('tag')} » ; types possibles : {', '.join(TYPES_CRITERE)}"
    if kind == "union_tag_not_found":
        return f"champ « type » manquant ; types possibles : {', '.join(TYPES_CRITERE)}"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
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
        return f"valeur non autorisée {shown} ; valeurs possibles : {ctx.get('expected')}"
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


def _field_hint(path: list[Any]) -> str:
    name = path[-1] if path else ""
    scope = "" if len(path) <= 1 else str(path[0])
    return suggestion(name, _KNOWN_FIELDS.get(scope, sum(_KNOWN_FIELDS.values(), [])))
