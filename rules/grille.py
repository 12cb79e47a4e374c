"""The cotation grid as data: its pydantic schema (French keys, as written in `rules/grilles/*.yaml`).

A grid is metadata, optional exclusive groups, a list of criteria of a few kinds, a tie-break,
and the criteria the source mentions without points (`non_transcrits`), kept for publication.
Everything that can be checked without applications is checked here; names are checked against
the vocabulary, expressions against the safe-expression whitelist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.expression import ErreurExpression, analyser, suggestion
from rules.vocabulaire import DEMANDES, MOTIFS_INTERDITS, VARIABLES

Identifiant = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Portee = Literal["toutes", "mutation", "hors_mutation"]
DEPARTAGES = {
    "anciennete": "la demande la plus ancienne (date de dépôt) passe devant",
    "numero_unique": "ordre du numéro unique",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _variable(name: str, kinds: tuple[str, ...]) -> str:
    if name in MOTIFS_INTERDITS:
        raise ValueError(f"« {name} » ne peut pas être un critère : {MOTIFS_INTERDITS[name]}")
    if name not in VARIABLES:
        raise ValueError(f"variable inconnue « {name} »{suggestion(name, VARIABLES)}")
    if VARIABLES[name].type not in kinds:
        raise ValueError(f"« {name} » est de type {VARIABLES[name].type}, attendu : {' ou '.join(kinds)}")
    return name


def _expression(text: str, kind: str) -> str:
    try:
        analyser(text, kind)
    except ErreurExpression as exc:
        raise ValueError(str(exc)) from None
    return text


class _Critere(_Strict):
    id: Identifiant
    libelle: str = Field(min_length=1)
    description: str | None = None
    groupe: Identifiant | None = None
    demandes: Portee = "toutes"
    valide_du: date | None = None
    valide_au: date | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _dates(self):
        if self.valide_du and self.valide_au and self.valide_au < self.valide_du:
            raise ValueError("valide_au doit être postérieure ou égale à valide_du")
        return self


class Drapeau(_Critere):
    """Fixed points when a condition holds (DALO +50, sans-abri +17...)."""

    type: Literal["drapeau"]
    condition: str
    points: float

    @field_validator("condition")
    @classmethod
    def _check_condition(cls, v: str) -> str:
        return _expression(v, "booleen")


class Categorie(_Critere):
    """Points read from a table indexed by a category (the current housing situation)."""

    type: Literal["categorie"]
    variable: str
    points: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _values(self):
        _variable(self.variable, ("categorie",))
        allowed = VARIABLES[self.variable].valeurs
        for value in self.points:
            if value not in allowed:
                raise ValueError(
                    f"valeur « {value} » inconnue pour {self.variable}{suggestion(value, allowed)} ; "
                    f"valeurs possibles : {', '.join(allowed)}"
                )
        return self


class Palier(_Strict):
    """A one-off bonus once a duration is strictly beyond a threshold."""

    au_dela_de: float | Literal["delai_anormalement_long"]
    points: float = Field(ge=0)


class Duree(_Critere):
    """Points per month of a duration, optionally capped, plus threshold bonuses."""

    type: Literal["duree"]
    mesure: Literal["anciennete_mois", "mois_depuis_dalo"] = "anciennete_mois"
    points_par_mois: float = Field(ge=0)
    a_partir_de: float = Field(default=0, ge=0)
    plafond: float | None = Field(default=None, ge=0)
    paliers: list[Palier] = []


class Tranche(_Strict):
    """Half-open interval [de, a) of a measure and its points."""

    de: float | None = None
    a: float | None = None
    points: float

    @model_validator(mode="after")
    def _bounds(self):
        if self.de is None and self.a is None:
            raise ValueError("une tranche doit avoir au moins une borne (de, a)")
        if self.de is not None and self.a is not None and self.a <= self.de:
            raise ValueError(f"tranche vide : « a » ({self.a}) doit être supérieur à « de » ({self.de})")
        return self


class Tranches(_Critere):
    """Brackets on a computed quantity (effort rate, persons per room...)."""

    type: Literal["tranches"]
    mesure: str
    tranches: list[Tranche] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self):
        _expression(self.mesure, "nombre")
        lows = [t.de if t.de is not None else float("-inf") for t in self.tranches]
        highs = [t.a if t.a is not None else float("inf") for t in self.tranches]
        for i in range(1, len(lows)):
            if lows[i] < highs[i - 1]:
                raise ValueError(
                    f"les tranches doivent être rangées dans l'ordre et sans chevauchement "
                    f"(tranche {i + 1} commence à {lows[i]}, la précédente finit à {highs[i - 1]})"
                )
        return self


class Combinaison(_Critere):
    """A bonus when several other criteria are met together."""

    type: Literal["combinaison"]
    criteres: list[Identifiant] = Field(min_length=2)
    minimum: int | None = Field(default=None, ge=1)
    points: float

    @model_validator(mode="after")
    def _minimum(self):
        if self.minimum is not None and self.minimum > len(self.criteres):
            raise ValueError(f"minimum ({self.minimum}) supérieur au nombre de critères ({len(self.criteres)})")
        return self


class PenaliteRefus(_Critere):
    """Points lost for each refusal of an adapted proposal in a time window (R.441-2-10)."""

    type: Literal["penalite_refus"]
    points_par_refus: float = Field(lt=0)
    fenetre_mois: int = Field(ge=1, le=120)
    plancher: float | None = Field(default=None, le=0)
    refus: Literal["non_legitimes", "tous"] = "non_legitimes"


class ExpressionLibre(_Critere):
    """Points computed by a safe expression, when a condition (optional) holds."""

    type: Literal["expression"]
    condition: str | None = None
    valeur: str

    @field_validator("condition")
    @classmethod
    def _check_condition(cls, v: str | None) -> str | None:
        return v if v is None else _expression(v, "booleen")

    @field_validator("valeur")
    @classmethod
    def _check_valeur(cls, v: str) -> str:
        return _expression(v, "nombre")


Critere = Annotated[
    Drapeau | Categorie | Duree | Tranches | Combinaison | PenaliteRefus | ExpressionLibre,
    Field(discriminator="type"),
]
TYPES_CRITERE = ("drapeau", "categorie", "duree", "tranches", "combinaison", "penalite_refus", "expression")


class Groupe(_Strict):
    """An exclusive group: only the most favourable criterion of the group counts."""

    id: Identifiant
    libelle: str = Field(min_length=1)
    regle: Literal["meilleur"] = "meilleur"


class NonTranscrit(_Strict):
    """A criterion the source names without usable points; published, never scored."""

    libelle: str
    raison: str


class Metadonnees(_Strict):
    territoire: str = Field(min_length=1)
    code_epci: str | None = Field(default=None, pattern=r"^\d{9}$")
    departement: str | None = Field(default=None, pattern=r"^(\d{2,3}|2A|2B)$")
    version: str = Field(min_length=1)
    valide_du: date
    valide_au: date | None = None
    statut: Literal["officielle", "partielle", "exemple"]
    demandes: Portee = "toutes"
    sources: list[str] = []
    description: str | None = None

    @model_validator(mode="after")
    def _dates(self):
        if self.valide_au and self.valide_au < self.valide_du:
            raise ValueError("valide_au doit être postérieure ou égale à valide_du")
        return self


class Grille(_Strict):
    """A complete cotation grid."""

    grille: Metadonnees
    groupes: list[Groupe] = []
    criteres: list[Critere] = Field(min_length=1)
    departage: list[Literal["anciennete", "numero_unique"]] = ["anciennete", "numero_unique"]
    non_transcrits: list[NonTranscrit] = []

    @model_validator(mode="after")
    def _references(self):
        ids = [c.id for c in self.criteres]
        seen: set[str] = set()
        for cid in ids:
            if cid in seen:
                raise ValueError(f"identifiant de critère en double : « {cid} »")
            seen.add(cid)
        groups = {g.id for g in self.groupes}
        if len(groups) != len(self.groupes):
            raise ValueError("identifiant de groupe en double")
        kinds = {c.id: c.type for c in self.criteres}
        for c in self.criteres:
            if c.groupe is not None and c.groupe not in groups:
                raise ValueError(
                    f"critère « {c.id} » : groupe « {c.groupe} » non déclaré dans « groupes »"
                    f"{suggestion(c.groupe, groups)}"
                )
            if c.type == "combinaison":
                for ref in c.criteres:
                    if ref not in kinds:
                        raise ValueError(f"critère « {c.id} » : critère « {ref} » inconnu{suggestion(ref, kinds)}")
                    if kinds[ref] == "combinaison":
                        raise ValueError(f"critère « {c.id} » : une combinaison ne peut pas porter sur une combinaison")
            if c.type == "duree" and any(p.au_dela_de == "delai_anormalement_long" for p in c.paliers):
                if self.grille.departement is None:
                    raise ValueError(
                        f"critère « {c.id} » : le délai anormalement long dépend du département ; "
                        "renseignez grille.departement"
                    )
        if "numero_unique" not in self.departage:
            raise ValueError("le départage doit finir par « numero_unique » pour que le rang soit unique")
        if self.departage[-1] != "numero_unique":
            raise ValueError("« numero_unique » doit être le dernier critère de départage")
        if len(set(self.departage)) != len(self.departage):
            raise ValueError("critère de départage en double")
        return self

    def critere(self, cid: str):
        return next(c for c in self.criteres if c.id == cid)

    def libelle_groupe(self, gid: str) -> str:
        return next(g.libelle for g in self.groupes if g.id == gid)

    def applicable_a(self, jour: date) -> bool:
        g = self.grille
        return g.valide_du <= jour and (g.valide_au is None or jour <= g.valide_au)


__all__ = ["Grille", "Critere", "TYPES_CRITERE", "DEPARTAGES", "DEMANDES"]
