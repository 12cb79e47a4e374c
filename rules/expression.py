"""Safe expressions for the criteria the kinds do not cover.

An expression is parsed by Python's own parser, then every node is checked against a short
whitelist: variables of the vocabulary, numbers, comparisons, `and`/`or`/`not`, arithmetic,
`in [...]` on a category, and the functions `min`, `max`, `abs`, `si`. Nothing else is
accepted, so no expression can import, call arbitrary code or reach attributes, whatever the
YAML says. The checked tree is compiled to vector code by `cotation`; it is never `eval`-ed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from rules.vocabulaire import MOTIFS_INTERDITS, VARIABLES

MAX_LENGTH = 1000
MAX_NODES = 300
FUNCTIONS = {"min": "nombre", "max": "nombre", "abs": "nombre", "si": None}
COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div)


class ErreurExpression(ValueError):
    """An expression that is not valid, not safe, or not well typed (message in French)."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its source text, its tree, its result type and the names it reads."""

    texte: str
    arbre: ast.expr
    type: str
    noms: frozenset[str]


def analyser(texte: str, attendu: str | None = None) -> Expression:
    """Parse and check `texte`; `attendu` is 'booleen' or 'nombre' when the caller needs one."""
    if not isinstance(texte, str) or not texte.strip():
        raise ErreurExpression("expression vide")
    if len(texte) > MAX_LENGTH:
        raise ErreurExpression(f"expression trop longue ({len(texte)} caractères, maximum {MAX_LENGTH})")
    try:
        tree = ast.parse(texte.strip(), mode="eval")
    except SyntaxError as exc:
        raise ErreurExpression(
            f"syntaxe invalide à la colonne {exc.offset or '?'} : « {texte.strip()} »"
        ) from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ErreurExpression(f"expression trop complexe ({nodes} éléments, maximum {MAX_NODES})")
    checker = _Checker()
    kind = checker.visit(tree.body)
    if attendu == "nombre" and kind == "booleen":
        kind = "nombre"  # a condition counts as 0 or 1, as in every spreadsheet
    if attendu is not None and kind != attendu:
        raise ErreurExpression(f"l'expression doit donner un {_NOM_TYPE[attendu]}, elle donne un {_NOM_TYPE[kind]}")
    return Expression(texte.strip(), tree.body, kind, frozenset(checker.names))


_NOM_TYPE = {
    "booleen": "booléen (vrai/faux)",
    "nombre": "nombre",
    "categorie": "catégorie",
    "texte": "texte",
    "liste": "liste",
}


class _Checker:
    """Walks the tree once, rejecting every node outside the whitelist and inferring types."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit(self, node: ast.AST) -> str:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ErreurExpression(_refusal(node))
        return method(node)

    def visit_Name(self, node: ast.Name) -> str:
        name = node.id
        if name in MOTIFS_INTERDITS:
            raise ErreurExpression(f"« {name} » ne peut pas être un critère : {MOTIFS_INTERDITS[name]}")
        if name in ("vrai", "faux"):
            return "booleen"
        if name not in VARIABLES:
            raise ErreurExpression(f"variable inconnue « {name} »{suggestion(name, VARIABLES)}")
        self.names.add(name)
        return VARIABLES[name].type

    def visit_Constant(self, node: ast.Constant) -> str:
        value = node.value
        if isinstance(value, bool):
            return "booleen"
        if isinstance(value, int | float):
            return "nombre"
        if isinstance(value, str):
            return "texte"
        raise ErreurExpression(f"valeur non autorisée : {value!r}")

    def visit_List(self, node: ast.List | ast.Tuple) -> str:
        for elt in node.elts:
            if not (isinstance(elt, ast.Constant) and isinstance(elt.value, str)):
                raise ErreurExpression("une liste ne peut contenir que des valeurs entre guillemets")
        return "liste"

    visit_Tuple = visit_List

    def visit_BoolOp(self, node: ast.BoolOp) -> str:
        for value in node.values:
            self._expect(value, "booleen", "and/or")
        return "booleen"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not):
            self._expect(node.operand, "booleen", "not")
            return "booleen"
        if isinstance(node.op, ast.USub | ast.UAdd):
            self._expect(node.operand, "nombre", "le signe")
            return "nombre"
        raise ErreurExpression(_refusal(node.op))

    def visit_BinOp(self, node: ast.BinOp) -> str:
        if not isinstance(node.op, ARITHMETIC):
            raise ErreurExpression(_refusal(node.op))
        self._expect(node.left, "nombre", "un calcul")
        self._expect(node.right, "nombre", "un calcul")
        return "nombre"

    def visit_Compare(self, node: ast.Compare) -> str:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                self._check_membership(left, right)
            elif isinstance(op, COMPARISONS):
                self._check_comparison(left, op, right)
            else:
                raise ErreurExpression(_refusal(op))
            left = right
        return "booleen"

    def visit_IfExp(self, node: ast.IfExp) -> str:
        self._expect(node.test, "booleen", "si")
        a, b = self.visit(node.body), self.visit(node.orelse)
        if {a, b} - {"nombre", "booleen"}:
            raise ErreurExpression("« ... if ... else ... » doit donner des nombres")
        return "nombre"

    def visit_Call(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ErreurExpression(
                f"fonction non autorisée « {shown} » ; fonctions permises : {', '.join(FUNCTIONS)}"
            )
        if node.keywords:
            raise ErreurExpression("les arguments nommés ne sont pas permis")
        name = node.func.id
        if name == "si":
            if len(node.args) != 3:
                raise ErreurExpression("si(condition, valeur_si_vrai, valeur_sinon) prend 3 arguments")
            self._expect(node.args[0], "booleen", "si")
            for arg in node.args[1:]:
                self._expect(arg, "nombre", "si")
            return "nombre"
        if name == "abs" and len(node.args) != 1:
            raise ErreurExpression("abs(x) prend un argument")
        if name in ("min", "max") and len(node.args) < 2:
            raise ErreurExpression(f"{name}(a, b, ...) prend au moins deux arguments")
        for arg in node.args:
            self._expect(arg, "nombre", name)
        return "nombre"

    def _expect(self, node: ast.AST, kind: str, where: str) -> None:
        got = self.visit(node)
        if kind == "nombre" and got == "booleen":
            return
        if got != kind:
            raise ErreurExpression(
                f"{_NOM_TYPE[kind]} attendu pour {where}, trouvé {_NOM_TYPE[got]} : « {ast.unparse(node)} »"
            )

    def _check_membership(self, left: ast.AST, right: ast.AST) -> None:
        if self.visit(left) != "categorie" or self.visit(right) != "liste":
            raise ErreurExpression("« in » s'écrit : variable_categorie in ['valeur1', 'valeur2']")
        values = [elt.value for elt in right.elts]  # type: ignore[attr-defined]
        self._check_values(left, values)

    def _check_comparison(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> None:
        kinds = (self.visit(left), self.visit(right))
        if "categorie" in kinds:
            if sorted(kinds) != ["categorie", "texte"] or not isinstance(op, ast.Eq | ast.NotEq):
                raise ErreurExpression("une catégorie se compare à une valeur entre guillemets avec == ou !=")
            variable, constant = (left, right) if kinds[0] == "categorie" else (right, left)
            self._check_values(variable, [constant.value])  # type: ignore[attr-defined]
            return
        if "texte" in kinds or "liste" in kinds:
            raise ErreurExpression(f"comparaison impossible : « {ast.unparse(left)} » et « {ast.unparse(right)} »")

    @staticmethod
    def _check_values(variable: ast.AST, values: list[str]) -> None:
        name = variable.id  # type: ignore[attr-defined]
        allowed = VARIABLES[name].valeurs
        for value in values:
            if value not in allowed:
                raise ErreurExpression(
                    f"valeur « {value} » inconnue pour {name}{suggestion(value, allowed)} ; "
                    f"valeurs possibles : {', '.join(allowed)}"
                )


def _refusal(node: ast.AST) -> str:
    kind = type(node).__name__
    reasons = {
        "Attribute": "l'accès à un attribut (a.b) est interdit",
        "Subscript": "l'indexation (a[b]) est interdite",
        "Lambda": "les fonctions lambda sont interdites",
        "NamedExpr": "l'affectation est interdite",
        "ListComp": "les compréhensions sont interdites",
        "GeneratorExp": "les compréhensions sont interdites",
        "DictComp": "les compréhensions sont interdites",
        "SetComp": "les compréhensions sont interdites",
        "Dict": "les dictionnaires sont interdits",
        "Set": "les ensembles sont interdits",
        "JoinedStr": "les chaînes formatées sont interdites",
        "Await": "construction interdite",
        "Starred": "construction interdite",
        "Pow": "la puissance (**) n'est pas permise",
        "Mod": "le modulo (%) n'est pas permis",
        "FloorDiv": "la division entière (//) n'est pas permise",
        "Is": "« is » n'est pas permis, utilisez ==",
        "IsNot": "« is not » n'est pas permis, utilisez !=",
        "Invert": "l'opérateur ~ n'est pas permis, utilisez not",
    }
    return reasons.get(kind, f"construction non autorisée dans une expression ({kind})")


def suggestion(word: str, choices) -> str:
    """' (vouliez-vous dire « x » ?)' when a close match exists, else ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.75)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
