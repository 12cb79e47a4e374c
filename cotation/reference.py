"""A second, independent evaluator of a grid: one application at a time, in plain Python.

It is the naive way to score: for each application, compute each derived quantity from its
definition with `datetime.date` arithmetic and Python scalars, then each criterion, then the
exclusive groups. No numpy or pandas on the per-row path. It serves as the oracle of the
differential tests of the vectorized engine (`cotation.moteur`) and as the "row by row in plain
Python" reference of the benchmarks.

It shares the rules (grid schema, checked expression trees, regulatory parameters) with the
engine, and `cotation.derivees.ajouter_mois` (the calendar rule of refusal windows), but none of
the engine's kernels, vector expression compiler or derivation functions.

Conventions, the same as the engine's documented ones:

- a missing value is `None` (an absent rent, surface, date...). A comparison with a missing side
  is false, arithmetic with a missing operand is missing, and a criterion whose value is missing
  (or infinite) earns 0 point;
- whole months count once the day of the month is reached (31 January -> 29 February is 0 month);
- a refusal counts when its date is in (reference - window months, reference], the window start
  being the same calendar date `window` months earlier, day clipped to the month end;
- exclusive groups keep the best criterion of the group (the first in file order on a tie).

`demande` may be a `Demande`, a dict of `Demande` fields (validated), or a row of the batch
table (`table.to_dict("records")`, with `motif_*` / `prioritaire_*` columns and `;`-joined
proposals).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from cotation.demande import LIST_COLUMNS, Demande
from cotation.derivees import ajouter_mois
from cotation.moteur import ErreurCotation
from rules import grille as g
from rules.expression import analyser
from rules.parametres import Parametres
from rules.vocabulaire import CATEGORIES_PRIORITAIRES

DEPARTEMENTS_ILE_DE_FRANCE = frozenset({"75", "77", "78", "91", "92", "93", "94", "95"})
REGION_ILE_DE_FRANCE = "11"

__all__ = ["evaluer_ligne", "score_ligne", "evaluer_lignes", "mois_entiers", "Ligne"]


# Calendar --------------------------------------------------------------------------------------


def mois_entiers(debut: date, fin: date) -> int:
    """Whole months from `debut` to `fin`: a month counts once its day of the month is reached."""
    months = (fin.year - debut.year) * 12 + (fin.month - debut.month)
    if fin.day < debut.day:
        months -= 1
    return months


# Inputs ----------------------------------------------------------------------------------------


def _scalaire(value: Any) -> Any:
    """A table cell as a Python scalar: None for NaN/NaT, `date` for timestamps."""
    if value is None:
        return None
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if value != value:  # NaN, NaT and their numpy cousins
        return None
    if isinstance(value, datetime):  # pandas Timestamp too
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return _scalaire(value.item())
    return value


def _propositions_texte(text: Any) -> list[tuple[date, str]]:
    out = []
    for item in str(text or "").split(";"):
        item = item.strip()
        if item:
            out.append((date.fromisoformat(item[:10]), item[11:]))
    return out


def _enregistrement(demande: Demande | dict) -> dict[str, Any]:
    """The application as a flat dict of Python scalars keyed like the batch table's columns."""
    if isinstance(demande, dict):
        if any(k.startswith("motif_") for k in demande):
            row = {k: _scalaire(v) for k, v in demande.items() if k != "propositions"}
            row["propositions"] = _propositions_texte(_scalaire(demande.get("propositions")))
            return row
        demande = Demande.model_validate(demande)
    row: dict[str, Any] = {}
    for name in Demande.model_fields:
        value = getattr(demande, name)
        if name in LIST_COLUMNS:
            prefix, values = LIST_COLUMNS[name]
            present = set(value)
            for v in values:
                row[prefix + v] = v in present
        elif name == "propositions":
            row[name] = [(p.date, p.issue) for p in value]
        else:
            row[name] = value
    return row


# Regulatory parameters at one date ------------------------------------------------------------


class _Reglementation:
    """The parameters in force on one day, looked up once and then read as plain Python values."""

    def __init__(self, parametres: Parametres, jour: date):
        self.parametres = parametres
        self.jour = jour
        self._memo: dict[Any, Any] = {}

    def _get(self, key: Any, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def menage(self, name: str) -> Any:
        return self._get("menage", lambda: self.parametres.menage(self.jour))[name]

    def uc(self, name: str) -> float:
        return self._get("uc", lambda: self.parametres.echelle_uc(self.jour))[name]

    def surfaces(self) -> list[float]:
        """Minimum surface by persons: index i = i persons (index 0 unused)."""
        return self._get("surfaces", lambda: [float(x) for x in self.parametres.surfaces_minimales(self.jour)])

    def seuil(self, epci: str, departement: str | None) -> float:
        region = REGION_ILE_DE_FRANCE if departement in DEPARTEMENTS_ILE_DE_FRANCE else None
        return self._get(
            ("seuil", epci, region),
            lambda: self.parametres.seuil_premier_quartile(epci, self.jour, region),
        )

    def delai_anormalement_long(self, departement: str) -> float:
        return self._get(
            ("dal", departement),
            lambda: float(self.parametres.delai_anormalement_long(departement, self.jour)),
        )


# One application at the reference date --------------------------------------------------------


class Ligne:
    """One application seen at a reference date; each variable is computed on first use.

    Values are `bool`, `float`, `str` (a category) or `None` (missing).
    """

    def __init__(self, record: dict[str, Any], jour: date, regles: _Reglementation):
        self.record = record
        self.jour = jour
        self.regles = regles
        self._cache: dict[str, Any] = {}

    @classmethod
    def depuis(cls, demande: Demande | dict, date_reference: date, parametres: Parametres | None = None) -> Ligne:
        """The application `demande` seen on `date_reference`."""
        regles = _Reglementation(parametres or Parametres.charger(), date_reference)
        return cls(_enregistrement(demande), date_reference, regles)

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name in DERIVEES:
                self._cache[name] = getattr(self, "_" + name)()
            else:
                self._cache[name] = self._brut(name)
        return self._cache[name]

    def _brut(self, name: str) -> Any:
        if name not in self.record:
            raise KeyError(name)
        value = self.record[name]
        if isinstance(value, bool) or value is None or isinstance(value, str | date):
            return value
        if isinstance(value, int | float):
            return float(value)
        return value

    def _nombre(self, name: str) -> float:
        value = self[name]
        return 0.0 if value is None else float(value)

    # household

    def _enfants(self) -> float:
        return self._nombre("nb_enfants_moins_14") + self._nombre("nb_enfants_14_plus")

    def _taille_menage(self) -> float:
        return self._nombre("nb_adultes") + self["enfants"] + self._nombre("nb_autres_personnes_a_charge")

    def _naissances_comptees(self) -> float:
        if self.regles.menage("naissances_attendues_a_charge"):
            return self._nombre("naissances_attendues")
        return 0.0

    def _personnes_a_charge(self) -> float:
        return self["enfants"] + self._nombre("nb_autres_personnes_a_charge") + self._naissances_comptees()

    def _parent_isole(self) -> bool:
        return self["nb_adultes"] == 1 and self["enfants"] > 0

    def _handicap(self) -> bool:
        return self._nombre("nb_personnes_handicapees") > 0

    def _age(self, field: str) -> int | None:
        born = self.record.get(field)
        if born is None:
            return None
        return mois_entiers(born, self.jour) // 12

    def _jeune_menage(self) -> bool:
        if not (self["couple"] and self["nb_adultes"] == 2 and self["personnes_a_charge"] == 0):
            return False
        a, b = self._age("date_naissance_demandeur"), self._age("date_naissance_conjoint")
        if a is None or b is None:
            return False
        return a + b <= self.regles.menage("age_max_cumule_jeune_menage")

    def _rang_categorie(self) -> float:
        persons = self["taille_menage"] + self._naissances_comptees()
        if persons == 2 and self["jeune_menage"]:
            rank = 3.0
        else:
            rank = persons + (1 if self["nb_adultes"] == 1 and self["personnes_a_charge"] > 0 else 0)
        if self["handicap"]:
            rank += self.regles.menage("handicap_categorie_supplementaire")
        return float(rank)

    def _categorie_menage(self) -> float:
        return min(self["rang_categorie"], 6.0)

    def _personnes_supplementaires(self) -> float:
        return max(self["rang_categorie"] - 6.0, 0.0)

    # resources

    def _unites_consommation(self) -> float:
        others = (
            self._nombre("nb_adultes")
            - 1
            + self._nombre("nb_enfants_14_plus")
            + self._nombre("nb_autres_personnes_a_charge")
        )
        return (
            self.regles.uc("premier_adulte")
            + self.regles.uc("autre_14_ans_et_plus") * others
            + self.regles.uc("moins_14_ans") * self._nombre("nb_enfants_moins_14")
        )

    def _revenu_annuel_par_uc(self) -> float | None:
        income = self["revenus_mensuels"]
        return None if income is None else income * 12 / self["unites_consommation"]

    def _seuil_premier_quartile(self) -> float:
        return self.regles.seuil(self.record["epci"], self.record.get("departement"))

    def _premier_quartile(self) -> bool:
        income = self["revenu_annuel_par_uc"]
        return income is not None and income <= self["seuil_premier_quartile"]

    # current housing

    def _mutation(self) -> bool:
        return self["situation_logement"] == "locataire_parc_social"

    def _taux_effort(self) -> float | None:
        rent, income = self["loyer_actuel"], self["revenus_mensuels"]
        if rent is None or income is None:
            return None
        net = rent - self._nombre("aide_logement")
        if income == 0:
            if net == 0:
                return 0.0
            return math.inf if net > 0 else -math.inf
        return net / income

    def _surface_par_personne(self) -> float | None:
        surface = self["surface_actuelle"]
        return None if surface is None else surface / self["taille_menage"]

    def _personnes_par_piece(self) -> float | None:
        rooms = self["pieces_actuelles"]
        return None if rooms is None else self["taille_menage"] / rooms

    def _sur_occupation(self) -> bool:
        surface = self["surface_actuelle"]
        if surface is None:
            return False
        table = self.regles.surfaces()
        persons = min(max(int(self["taille_menage"]), 1), len(table) - 1)
        return surface < table[persons]

    def _sous_occupation(self) -> bool:
        rooms = self["pieces_actuelles"]
        return rooms is not None and rooms > self["taille_menage"] + 1

    # priorities and procedure

    def _dalo(self) -> bool:
        decided = self.record.get("date_decision_dalo")
        return decided is not None and decided <= self.jour

    def _mois_depuis_dalo(self) -> float | None:
        if not self["dalo"]:
            return None
        return float(mois_entiers(self.record["date_decision_dalo"], self.jour))

    def _prioritaire(self) -> bool:
        return any(self[f"prioritaire_{k}"] for k in CATEGORIES_PRIORITAIRES)

    def _anciennete_mois(self) -> float:
        return float(max(mois_entiers(self.record["date_depot"], self.jour), 0))

    def _demande_active(self) -> bool:
        depot = self.record["date_depot"]
        last = self.record.get("date_renouvellement") or depot
        return depot <= self.jour and mois_entiers(last, self.jour) < 12

    # refusals

    def refus(self, depuis: date, issues: tuple[str, ...]) -> int:
        """Refusals dated in (depuis, reference date]."""
        return sum(
            1 for when, issue in self.record.get("propositions") or () if issue in issues and depuis < when <= self.jour
        )


DERIVEES = frozenset(
    {
        "enfants",
        "taille_menage",
        "personnes_a_charge",
        "parent_isole",
        "handicap",
        "jeune_menage",
        "rang_categorie",
        "categorie_menage",
        "personnes_supplementaires",
        "unites_consommation",
        "revenu_annuel_par_uc",
        "seuil_premier_quartile",
        "premier_quartile",
        "mutation",
        "taux_effort",
        "surface_par_personne",
        "personnes_par_piece",
        "sur_occupation",
        "sous_occupation",
        "dalo",
        "mois_depuis_dalo",
        "prioritaire",
        "anciennete_mois",
        "demande_active",
    }
)


# Expressions: a small interpreter over the checked tree ---------------------------------------


@functools.lru_cache(maxsize=4096)
def _arbre(texte: str) -> ast.expr:
    return analyser(texte).arbre


def _nombre(value: Any) -> float | None:
    """A value used as a number: bools count 0/1, NaN is missing."""
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def _diviser(a: float, b: float) -> float | None:
    if b == 0:  # IEEE 754: x/0 is ±inf, 0/0 is undefined (missing)
        if a == 0:
            return None
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _arith(op: ast.operator, a: Any, b: Any) -> float | None:
    a, b = _nombre(a), _nombre(b)
    if a is None or b is None:
        return None
    if isinstance(op, ast.Add):
        out = a + b
    elif isinstance(op, ast.Sub):
        out = a - b
    elif isinstance(op, ast.Mult):
        out = a * b
    else:
        out = _diviser(a, b)
    return _nombre(out)


def _comparer(op: ast.cmpop, a: Any, b: Any) -> bool:
    if isinstance(op, ast.In | ast.NotIn):
        if a is None:
            return False
        return (a in b) == isinstance(op, ast.In)
    if a is None or b is None or (isinstance(a, float) and a != a) or (isinstance(b, float) and b != b):
        return False
    if isinstance(op, ast.Eq):
        return a == b
    if isinstance(op, ast.NotEq):
        return a != b
    if isinstance(op, ast.Lt):
        return a < b
    if isinstance(op, ast.LtE):
        return a <= b
    if isinstance(op, ast.Gt):
        return a > b
    return a >= b


def interpreter(node: ast.AST, ligne: Ligne) -> Any:
    """Value of a checked expression tree for one application (bool, float, str, list or None)."""
    if isinstance(node, ast.Name):
        if node.id == "vrai":
            return True
        if node.id == "faux":
            return False
        return ligne[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [e.value for e in node.elts]  # type: ignore[attr-defined]
    if isinstance(node, ast.BoolOp):
        values = [bool(interpreter(v, ligne)) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = interpreter(node.operand, ligne)
        if isinstance(node.op, ast.Not):
            return not value
        value = _nombre(value)
        if value is None:
            return None
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _arith(node.op, interpreter(node.left, ligne), interpreter(node.right, ligne))
    if isinstance(node, ast.Compare):
        left = interpreter(node.left, ligne)
        result = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = interpreter(right_node, ligne)
            result = _comparer(op, left, right) and result
            left = right
        return result
    if isinstance(node, ast.IfExp):
        chosen = node.body if interpreter(node.test, ligne) else node.orelse
        return _nombre(interpreter(chosen, ligne))
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        if name == "si":
            test, yes, no = node.args
            return _nombre(interpreter(yes if interpreter(test, ligne) else no, ligne))
        values = [_nombre(interpreter(a, ligne)) for a in node.args]
        if any(v is None for v in values):
            return None
        if name == "abs":
            return abs(values[0])
        return min(values) if name == "min" else max(values)
    raise AssertionError(f"node outside the whitelist: {type(node).__name__}")  # rules.expression stops it


def condition(texte: str, ligne: Ligne) -> bool:
    return bool(interpreter(_arbre(texte), ligne))


def valeur(texte: str, ligne: Ligne) -> float | None:
    return _nombre(interpreter(_arbre(texte), ligne))


# Criteria ---------------------------------------------------------------------------------------


def _points(c: g.Critere, grille: g.Grille, ligne: Ligne) -> float | None:
    """Points of a non-combination criterion before its validity, scope and missing-value rules."""
    if isinstance(c, g.Drapeau):
        return c.points if condition(c.condition, ligne) else 0.0
    if isinstance(c, g.Categorie):
        return c.points.get(ligne[c.variable], 0.0)
    if isinstance(c, g.Duree):
        months = ligne[c.mesure]
        if months is None:
            return None
        points = c.points_par_mois * max(months - c.a_partir_de, 0.0)
        if c.plafond is not None:
            points = min(points, c.plafond)
        for step in c.paliers:
            if step.au_dela_de == "delai_anormalement_long":
                threshold = ligne.regles.delai_anormalement_long(grille.grille.departement)
            else:
                threshold = float(step.au_dela_de)
            if months > threshold:
                points += step.points
        return points
    if isinstance(c, g.Tranches):
        value = valeur(c.mesure, ligne)
        if value is None:
            return None
        for t in c.tranches:
            if (t.de is None or value >= t.de) and (t.a is None or value < t.a):
                return t.points
        return 0.0
    if isinstance(c, g.PenaliteRefus):
        issues = ("refus_non_legitime",) if c.refus == "non_legitimes" else ("refus_non_legitime", "refus_legitime")
        count = ligne.refus(ajouter_mois(ligne.jour, -c.fenetre_mois), issues)
        points = c.points_par_refus * count
        return points if c.plancher is None else max(points, c.plancher)
    if isinstance(c, g.ExpressionLibre):
        if c.condition is not None and not condition(c.condition, ligne):
            return 0.0
        return valeur(c.valeur, ligne)
    raise TypeError(f"type de critère inconnu : {type(c).__name__}")


def _en_vigueur(c: g.Critere, jour: date) -> bool:
    return not ((c.valide_du and jour < c.valide_du) or (c.valide_au and jour > c.valide_au))


def _dans_le_champ(c: g.Critere, ligne: Ligne) -> bool:
    if c.demandes == "toutes":
        return True
    return ligne["mutation"] == (c.demandes == "mutation")


def _compter(c: g.Critere, points: float | None, ligne: Ligne) -> float:
    """Points that a criterion earns once its validity, scope and missing values are applied."""
    if not _en_vigueur(c, ligne.jour) or points is None or not math.isfinite(points):
        return 0.0
    return float(points) if _dans_le_champ(c, ligne) else 0.0


def _bruts(grille: g.Grille, ligne: Ligne) -> dict[str, float]:
    raw: dict[str, float] = {}
    for c in grille.criteres:
        if not isinstance(c, g.Combinaison):
            raw[c.id] = _compter(c, _points(c, grille, ligne) if _en_vigueur(c, ligne.jour) else 0.0, ligne)
    for c in grille.criteres:
        if isinstance(c, g.Combinaison):
            needed = c.minimum or len(c.criteres)
            met = sum(1 for ref in c.criteres if raw[ref] != 0) >= needed
            raw[c.id] = _compter(c, c.points if met else 0.0, ligne)
    return {c.id: raw[c.id] for c in grille.criteres}


def _retenus(grille: g.Grille, raw: dict[str, float]) -> tuple[float, dict[str, float]]:
    kept = dict(raw)
    total = sum(raw[c.id] for c in grille.criteres if c.groupe is None)
    for group in grille.groupes:
        members = [c.id for c in grille.criteres if c.groupe == group.id]
        if not members:
            continue
        best = members[0]
        for cid in members[1:]:
            if raw[cid] > raw[best]:
                best = cid
        for cid in members:
            if cid != best:
                kept[cid] = 0.0
        total += raw[best]
    return total, kept


# Public API -------------------------------------------------------------------------------------


def _ligne(demande: Demande | dict, date_reference: date, regles: _Reglementation) -> Ligne:
    return Ligne(_enregistrement(demande), date_reference, regles)


def _verifier(grille: g.Grille, jour: date) -> None:
    """The same refusal as the engine's for a grid not in force on the reference date."""
    if not grille.applicable_a(jour):
        meta = grille.grille
        fin = meta.valide_au.isoformat() if meta.valide_au else "sans limite"
        raise ErreurCotation(
            f"la grille « {meta.territoire} » version {meta.version} n'est pas en vigueur le "
            f"{jour.isoformat()} (valide du {meta.valide_du.isoformat()} au {fin})"
        )


def evaluer_ligne(
    grille: g.Grille,
    demande: Demande | dict,
    date_reference: date,
    parametres: Parametres | None = None,
    verifier_validite: bool = True,
) -> dict[str, float]:
    """Raw points of each criterion (before exclusive groups), by criterion id in file order."""
    if verifier_validite:
        _verifier(grille, date_reference)
    regles = _Reglementation(parametres or Parametres.charger(), date_reference)
    return _bruts(grille, _ligne(demande, date_reference, regles))


def score_ligne(
    grille: g.Grille,
    demande: Demande | dict,
    date_reference: date,
    parametres: Parametres | None = None,
    verifier_validite: bool = True,
) -> tuple[float, dict[str, float]]:
    """(total after exclusive groups, points retained by each criterion)."""
    return _retenus(grille, evaluer_ligne(grille, demande, date_reference, parametres, verifier_validite))


def evaluer_lignes(
    grille: g.Grille,
    demandes: Iterable[Demande | dict],
    date_reference: date,
    parametres: Parametres | None = None,
    verifier_validite: bool = True,
) -> list[float]:
    """Totals of the applications, computed one by one (the parameters are looked up once)."""
    if verifier_validite:
        _verifier(grille, date_reference)
    regles = _Reglementation(parametres or Parametres.charger(), date_reference)
    return [_retenus(grille, _bruts(grille, _ligne(d, date_reference, regles)))[0] for d in demandes]
