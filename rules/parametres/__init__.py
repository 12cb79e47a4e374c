"""Dated regulatory parameters and their lookup.

The data lives beside this module as French YAML files (one per parameter family), each value
dated by its start date and citing the text (arrêté, article) it comes from:

- ``seuils_premier_quartile.yaml``: first-quartile thresholds per EPCI (SIREN) and year, with a
  single regional value for Île-de-France;
- ``plafonds_ressources.yaml``: income ceilings by financing, zone and household category;
- ``unites_consommation.yaml``: the consumption-unit scale (presumed);
- ``sur_occupation.yaml``: the R.822-25 minimum-surface table;
- ``menage.yaml``: household-category rule parameters;
- ``delai_anormalement_long.yaml``: the "délai anormalement long" per département.

Date rule, shared by every lookup through :func:`date_en_vigueur`: the value in force on a day D
is the one whose start date is the latest on or before D, provided D is not after that value's
``valable_jusqu_au`` (last date known valid). Otherwise :class:`ParametreManquant` is raised: a
missing value is never replaced by a guess or by an older year.

Each value carries a ``statut``: ``confirme`` (official text or cross-checked sources),
``source_secondaire`` (press or federation page quoting the text), ``source_unique`` (a single
secondary source), ``presume`` (assumption), ``a_confirmer`` (supposed practice).

Files are validated with pydantic when loaded; a malformed file raises
:class:`ParametreInvalide` naming the file and the key.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)

__all__ = [
    "ParametreInvalide",
    "ParametreManquant",
    "Parametres",
    "Statut",
    "date_en_vigueur",
    "valeur_en_vigueur",
]

DOSSIER_PAR_DEFAUT = Path(__file__).resolve().parent

FICHIER_SEUILS = "seuils_premier_quartile.yaml"
FICHIER_PLAFONDS = "plafonds_ressources.yaml"
FICHIER_UC = "unites_consommation.yaml"
FICHIER_SUR_OCCUPATION = "sur_occupation.yaml"
FICHIER_MENAGE = "menage.yaml"
FICHIER_DAL = "delai_anormalement_long.yaml"

ZONES = (1, 2, 3)
CATEGORIES = (1, 2, 3, 4, 5, 6)

V = TypeVar("V")
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ParametreManquant(LookupError):
    """No regulatory value is known for this parameter, key and date.

    The message (French) says which parameter, which key, which date, what is known, and how
    to fix it: add the value to the YAML file, citing its arrêté.
    """

    def __init__(
        self,
        parametre: str,
        cle: str,
        jour: date | None,
        connu: str,
        fichier: str,
    ) -> None:
        self.parametre = parametre
        self.cle = cle
        self.jour = jour
        self.connu = connu
        self.fichier = fichier
        au = f" au {jour.isoformat()}" if jour is not None else ""
        message = (
            f"Paramètre réglementaire manquant : {parametre}, {cle}{au}. "
            f"Connu : {connu.rstrip(' .')}. "
            f"Pour corriger : ajouter la valeur dans {fichier} en citant l'arrêté ou le texte "
            f"qui la fixe."
        )
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.parametre, self.cle, self.jour, self.connu, self.fichier))


class ParametreInvalide(ValueError):
    """A YAML parameter file is malformed (the French message names the file and the key)."""

    def __init__(self, fichier: str, cle: str, detail: str) -> None:
        self.fichier = fichier
        self.cle = cle
        self.detail = detail
        ou = f", clé « {cle} »" if cle else ""
        super().__init__(f"Fichier de paramètres invalide : {fichier}{ou} : {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.fichier, self.cle, self.detail))


# --------------------------------------------------------------------------------------------
# The shared date rule
# --------------------------------------------------------------------------------------------


def _en_date(jour: Any) -> date:
    """Normalise a day given as date, datetime, pandas/numpy timestamp or ISO string."""
    if isinstance(jour, datetime):
        return jour.date()
    if isinstance(jour, date):
        return jour
    if isinstance(jour, np.datetime64):
        return pd.Timestamp(jour).date()
    if isinstance(jour, str):
        try:
            return date.fromisoformat(jour)
        except ValueError:
            pass
    raise TypeError(f"Date invalide : {jour!r} (attendu : une date, par exemple date(2026, 1, 1)).")


def _decrire_periodes(debuts: Iterable[date], fins: Mapping[date, date | None]) -> str:
    parties = []
    for debut in sorted(debuts):
        fin = fins.get(debut)
        if fin is None:
            parties.append(f"depuis le {debut.isoformat()}")
        else:
            parties.append(f"du {debut.isoformat()} au {fin.isoformat()}")
    return ", ".join(parties) if parties else "aucune valeur"


def date_en_vigueur(
    debuts: Iterable[date],
    jour: date,
    *,
    fins: Mapping[date, date | None] | None = None,
    parametre: str = "paramètre",
    cle: str = "",
    fichier: str = "rules/parametres",
) -> date:
    """Return the start date of the value in force on ``jour``.

    That is the latest start date on or before ``jour``, provided ``jour`` is not after that
    value's end of validity (``fins[start]``, when given). Raise :class:`ParametreManquant`
    otherwise (no value, a day before the first value, or a day past the last date known valid).
    """
    jour = _en_date(jour)
    fins = fins or {}
    ordonnees = sorted(debuts)
    position = bisect.bisect_right(ordonnees, jour)
    if position == 0:
        if not ordonnees:
            connu = "aucune valeur datée"
        else:
            connu = (
                f"valeurs {_decrire_periodes(ordonnees, fins)} ; la date demandée précède la "
                f"première valeur connue ({ordonnees[0].isoformat()})"
            )
        raise ParametreManquant(parametre, cle, jour, connu, fichier)
    debut = ordonnees[position - 1]
    fin = fins.get(debut)
    if fin is not None and jour > fin:
        connu = (
            f"valeurs {_decrire_periodes(ordonnees, fins)} ; la valeur du {debut.isoformat()} "
            f"n'est connue valide que jusqu'au {fin.isoformat()} et aucune valeur plus récente "
            f"n'est enregistrée"
        )
        raise ParametreManquant(parametre, cle, jour, connu, fichier)
    return debut


def valeur_en_vigueur(
    valeurs: Mapping[date, V],
    jour: date,
    *,
    fins: Mapping[date, date | None] | None = None,
    parametre: str = "paramètre",
    cle: str = "",
    fichier: str = "rules/parametres",
) -> V:
    """Return the value of ``valeurs`` (start date -> value) in force on ``jour``.

    Same rule as :func:`date_en_vigueur`, which it uses.
    """
    debut = date_en_vigueur(
        valeurs.keys(), jour, fins=fins, parametre=parametre, cle=cle, fichier=fichier
    )
    return valeurs[debut]


# --------------------------------------------------------------------------------------------
# YAML schemas (pydantic)
# --------------------------------------------------------------------------------------------


class Statut(StrEnum):
    """How sure a stored value is."""

    CONFIRME = "confirme"
    SOURCE_SECONDAIRE = "source_secondaire"
    SOURCE_UNIQUE = "source_unique"
    PRESUME = "presume"
    A_CONFIRMER = "a_confirmer"


Texte = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
CodeSiren = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
CodeDepartement = Annotated[str, StringConstraints(pattern=r"^(\d{2}|2[AB]|97\d)$")]
CodeRegion = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
Zone = Literal[1, 2, 3]


class _Modele(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EnTete(_Modele):
    description: Texte
    unite: Texte


class _Datation(_Modele):
    """What every dated value says about itself: its source, status and end of validity."""

    reference: Texte
    statut: Statut
    note: Texte | None = None
    valable_jusqu_au: date | None = None


def _verifier_periodes(periodes: Mapping[date, _Datation], ou: str) -> None:
    """Each end of validity is on or after its start and before the next start."""
    debuts = sorted(periodes)
    for i, debut in enumerate(debuts):
        fin = periodes[debut].valable_jusqu_au
        if fin is None:
            continue
        if fin < debut:
            raise ValueError(
                f"{ou}.{debut.isoformat()} : valable_jusqu_au ({fin.isoformat()}) précède la "
                f"date de début"
            )
        if i + 1 < len(debuts) and fin >= debuts[i + 1]:
            raise ValueError(
                f"{ou}.{debut.isoformat()} : valable_jusqu_au ({fin.isoformat()}) chevauche la "
                f"valeur suivante ({debuts[i + 1].isoformat()})"
            )


class _ValeurDatee(_Datation, Generic[T]):
    valeur: T


class _ParametreDate(_Modele, Generic[T]):
    description: Texte
    unite: Texte
    valeurs: dict[date, _ValeurDatee[T]] = Field(min_length=1)

    @model_validator(mode="after")
    def _periodes(self) -> _ParametreDate[T]:
        _verifier_periodes(self.valeurs, "valeurs")
        return self


# -- first-quartile thresholds ---------------------------------------------------------------


class _Arrete(_Datation):
    pass


class _RegionSeuils(_Modele):
    code_region: CodeRegion
    nom: Texte
    valeurs: dict[date, PositiveFloat] = Field(min_length=1)


class _EpciSeuils(_Modele):
    nom: Texte
    departement: CodeDepartement | None = None
    remarque: Texte | None = None
    valeurs: dict[date, PositiveFloat] | None = None
    region: Texte | None = None

    @model_validator(mode="after")
    def _une_source(self) -> _EpciSeuils:
        if (self.valeurs is None) == (self.region is None):
            raise ValueError(
                "un EPCI porte soit ses propres `valeurs`, soit `region` (clé d'une valeur "
                "régionale), et pas les deux"
            )
        return self


class _FichierSeuils(_EnTete):
    arretes: dict[date, _Arrete] = Field(min_length=1)
    regions: dict[Texte, _RegionSeuils] = Field(default_factory=dict)
    epcis: dict[CodeSiren, _EpciSeuils]

    @model_validator(mode="after")
    def _coherence(self) -> _FichierSeuils:
        _verifier_periodes(self.arretes, "arretes")
        codes_region = [r.code_region for r in self.regions.values()]
        if len(set(codes_region)) != len(codes_region):
            raise ValueError("regions : deux valeurs régionales portent le même code_region")
        series = [(f"regions.{k}", r.valeurs) for k, r in self.regions.items()]
        series += [(f"epcis.{k}", e.valeurs) for k, e in self.epcis.items() if e.valeurs]
        for ou, valeurs in series:
            for debut in valeurs:
                if debut not in self.arretes:
                    raise ValueError(
                        f"{ou}.{debut.isoformat()} : aucun arrêté daté du {debut.isoformat()} "
                        f"dans `arretes` pour justifier cette valeur"
                    )
        for code, epci in self.epcis.items():
            if epci.region is not None and epci.region not in self.regions:
                raise ValueError(
                    f"epcis.{code}.region : « {epci.region} » n'est pas une clé de `regions`"
                )
        return self


# -- income ceilings -------------------------------------------------------------------------


class _PlafondsZone(_Modele):
    # Every key is required (completeness); null means "unknown".
    categorie_1: PositiveFloat | None
    categorie_2: PositiveFloat | None
    categorie_3: PositiveFloat | None
    categorie_4: PositiveFloat | None
    categorie_5: PositiveFloat | None
    categorie_6: PositiveFloat | None
    personne_supplementaire: PositiveFloat | None
    statut: Statut | None = None
    note: Texte | None = None

    def par_categorie(self) -> list[float | None]:
        return [getattr(self, f"categorie_{c}") for c in CATEGORIES]


class _TablePlafonds(_Datation):
    zones: dict[Zone, _PlafondsZone] = Field(min_length=1)


class _Financement(_Modele):
    nom: Texte
    note: Texte | None = None
    tables: dict[date, _TablePlafonds] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _periodes(self) -> _Financement:
        _verifier_periodes(self.tables, "tables")
        return self


class _FichierPlafonds(_EnTete):
    zones: dict[Zone, Texte]
    financements: dict[Texte, _Financement] = Field(min_length=1)

    @model_validator(mode="after")
    def _zones_completes(self) -> _FichierPlafonds:
        if sorted(self.zones) != list(ZONES):
            raise ValueError("zones : les libellés des zones 1, 2 et 3 sont attendus")
        return self


# -- consumption units, household rules ------------------------------------------------------


class _ParametresUC(_Modele):
    premier_adulte: _ParametreDate[PositiveFloat]
    autre_14_ans_et_plus: _ParametreDate[PositiveFloat]
    moins_14_ans: _ParametreDate[PositiveFloat]


class _FichierUC(_EnTete):
    parametres: _ParametresUC


class _ParametresMenage(_Modele):
    age_max_cumule_jeune_menage: _ParametreDate[PositiveInt]
    naissances_attendues_a_charge: _ParametreDate[StrictBool]
    handicap_categorie_supplementaire: _ParametreDate[NonNegativeInt]


class _FichierMenage(_EnTete):
    parametres: _ParametresMenage


# -- over-occupation -------------------------------------------------------------------------


class _TableSurfaces(_Datation):
    surface_minimale_m2: dict[PositiveInt, PositiveFloat] = Field(min_length=1)

    @model_validator(mode="after")
    def _consecutive(self) -> _TableSurfaces:
        personnes = sorted(self.surface_minimale_m2)
        if personnes != list(range(1, len(personnes) + 1)):
            raise ValueError(
                "surface_minimale_m2 : les nombres de personnes doivent se suivre à partir de 1"
            )
        surfaces = [self.surface_minimale_m2[p] for p in personnes]
        if any(b < a for a, b in zip(surfaces, surfaces[1:], strict=False)):
            raise ValueError(
                "surface_minimale_m2 : la surface minimale ne peut pas diminuer quand le nombre "
                "de personnes augmente"
            )
        return self


class _FichierSurfaces(_EnTete):
    valeurs: dict[date, _TableSurfaces] = Field(min_length=1)

    @model_validator(mode="after")
    def _periodes(self) -> _FichierSurfaces:
        _verifier_periodes(self.valeurs, "valeurs")
        return self


# -- délai anormalement long -----------------------------------------------------------------


class _TrancheTypologie(_Modele):
    pieces_min: PositiveInt
    pieces_max: PositiveInt | None = None
    mois: PositiveInt


class _ValeurDelai(_Datation):
    mois: PositiveInt | None = None
    par_typologie: list[_TrancheTypologie] | None = None

    @model_validator(mode="after")
    def _forme(self) -> _ValeurDelai:
        if (self.mois is None) == (self.par_typologie is None):
            raise ValueError("une valeur porte soit `mois`, soit `par_typologie`, pas les deux")
        if self.par_typologie is not None:
            attendu = 1
            for i, tranche in enumerate(self.par_typologie):
                derniere = i == len(self.par_typologie) - 1
                if tranche.pieces_min != attendu:
                    raise ValueError(
                        f"par_typologie : la tranche {i + 1} doit commencer à {attendu} pièce(s)"
                    )
                if derniere != (tranche.pieces_max is None):
                    raise ValueError(
                        "par_typologie : seule la dernière tranche est ouverte (sans pieces_max)"
                    )
                if tranche.pieces_max is not None:
                    if tranche.pieces_max < tranche.pieces_min:
                        raise ValueError(f"par_typologie : tranche {i + 1} vide")
                    attendu = tranche.pieces_max + 1
        return self


class _DepartementDelai(_Modele):
    nom: Texte
    valeurs: dict[date, _ValeurDelai] = Field(min_length=1)

    @model_validator(mode="after")
    def _periodes(self) -> _DepartementDelai:
        _verifier_periodes(self.valeurs, "valeurs")
        return self


class _FichierDelai(_EnTete):
    departements: dict[CodeDepartement, _DepartementDelai]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

_MESSAGES_PYDANTIC = {
    "missing": "champ obligatoire absent",
    "extra_forbidden": "champ inconnu",
    "greater_than": "doit être strictement positif",
    "greater_than_equal": "doit être positif ou nul",
    "too_short": "ne doit pas être vide",
    "string_type": "doit être un texte (mettre entre guillemets)",
    "string_too_short": "ne doit pas être vide",
    "string_pattern_mismatch": "format invalide",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "float_type": "doit être un nombre",
    "float_parsing": "doit être un nombre",
    "bool_type": "doit valoir true ou false",
    "date_type": "doit être une date AAAA-MM-JJ",
    "date_parsing": "doit être une date AAAA-MM-JJ",
    "date_from_datetime_parsing": "doit être une date AAAA-MM-JJ",
    "date_from_datetime_inexact": "doit être une date AAAA-MM-JJ (sans heure)",
    "dict_type": "doit être une table de clés et valeurs",
    "list_type": "doit être une liste",
    "model_type": "doit être une table de clés et valeurs",
    "literal_error": "valeur non autorisée",
    "enum": "valeur non autorisée",
}


def _traduire(erreur: Mapping[str, Any]) -> str:
    type_ = erreur.get("type", "")
    if type_ == "value_error":
        cause = erreur.get("ctx", {}).get("error")
        return str(cause) if cause is not None else str(erreur.get("msg", ""))
    texte = _MESSAGES_PYDANTIC.get(type_)
    if texte is None:
        return f"valeur invalide ({erreur.get('msg', '')})"
    if type_ in {"enum", "literal_error"} and "expected" in erreur.get("ctx", {}):
        texte += f" (attendu : {erreur['ctx']['expected']})"
    if "input" in erreur and type_ not in {"missing", "model_type", "dict_type"}:
        valeur = erreur["input"]
        if not isinstance(valeur, dict | list):
            texte += f", reçu {valeur!r}"
    return texte


_REPR_DATE = re.compile(r"^datetime\.date\((\d+), (\d+), (\d+)\)$")


def _cle(loc: Iterable[Any]) -> str:
    """Dotted key path of a pydantic error location (dates shown as ISO dates)."""
    parties = []
    for morceau in loc:
        repr_date = _REPR_DATE.match(morceau) if isinstance(morceau, str) else None
        if isinstance(morceau, date):
            parties.append(morceau.isoformat())
        elif repr_date is not None:
            annee, mois, jour = (int(x) for x in repr_date.groups())
            parties.append(date(annee, mois, jour).isoformat())
        elif morceau == "[key]":
            parties.append("(clé)")
        else:
            parties.append(str(morceau))
    return ".".join(parties)


def _nom_fichier(dossier: Path, nom: str) -> str:
    if dossier == DOSSIER_PAR_DEFAUT:
        return f"rules/parametres/{nom}"
    return str(dossier / nom)


class _ChargeurYaml(yaml.SafeLoader):
    """Safe loader that leaves an impossible date (2019-13-01) as text for pydantic to report."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_ChargeurYaml.add_constructor("tag:yaml.org,2002:timestamp", _ChargeurYaml.construct_yaml_timestamp)


def _lire(dossier: Path, nom: str, modele: type[BaseModel]) -> Any:
    affiche = _nom_fichier(dossier, nom)
    chemin = dossier / nom
    try:
        texte = chemin.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParametreInvalide(affiche, "", "fichier absent") from None
    try:
        brut = yaml.load(texte, Loader=_ChargeurYaml)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        marque = getattr(exc, "problem_mark", None)
        ligne = f"ligne {marque.line + 1} : " if marque is not None else ""
        probleme = getattr(exc, "problem", None) or str(exc)
        raise ParametreInvalide(affiche, "", f"YAML illisible, {ligne}{probleme}") from None
    if not isinstance(brut, dict):
        raise ParametreInvalide(affiche, "", "le fichier doit contenir une table de clés")
    try:
        return modele.model_validate(brut)
    except ValidationError as exc:
        erreurs = exc.errors()
        premiere = erreurs[0]
        details = "; ".join(f"{_cle(e['loc']) or '(racine)'} : {_traduire(e)}" for e in erreurs[:5])
        if len(erreurs) > 5:
            details += f" (et {len(erreurs) - 5} autre(s) erreur(s))"
        raise ParametreInvalide(affiche, _cle(premiere["loc"]), details) from None


@dataclass(frozen=True)
class _TablePlafondsCompilee:
    debut: date
    fin: date | None
    reference: str
    statut: Statut
    base: np.ndarray  # shape (4, 7): [zone, categorie], NaN where unknown (index 0 unused)
    supplement: np.ndarray  # shape (4,): per extra person, NaN where unknown


def _compiler_table(debut: date, table: _TablePlafonds) -> _TablePlafondsCompilee:
    base = np.full((len(ZONES) + 1, len(CATEGORIES) + 1), np.nan)
    supplement = np.full(len(ZONES) + 1, np.nan)
    for zone, valeurs in table.zones.items():
        base[zone, 1:] = [np.nan if v is None else v for v in valeurs.par_categorie()]
        if valeurs.personne_supplementaire is not None:
            supplement[zone] = valeurs.personne_supplementaire
    base.setflags(write=False)
    supplement.setflags(write=False)
    return _TablePlafondsCompilee(
        debut, table.valable_jusqu_au, table.reference, table.statut, base, supplement
    )


def _normaliser_code(valeur: Any) -> str:
    """EPCI / département / region codes as strings (ints accepted, e.g. 243100518)."""
    if valeur is None or (isinstance(valeur, float) and np.isnan(valeur)):
        return ""
    if isinstance(valeur, bool):
        return str(valeur)
    if isinstance(valeur, int | np.integer):
        return str(int(valeur))
    if isinstance(valeur, float) and valeur.is_integer():
        return str(int(valeur))
    if valeur is pd.NA or valeur is pd.NaT:
        return ""
    return str(valeur).strip()


def _entiers(valeurs: np.ndarray, nom: str) -> np.ndarray:
    """Integer array from ints, integral floats or objects; French ValueError otherwise."""
    if valeurs.dtype.kind in "iu":
        return valeurs.astype(np.int64, copy=False)
    if valeurs.dtype.kind == "b":
        raise ValueError(f"{nom} : nombres entiers attendus, booléens reçus.")
    try:
        flottants = valeurs.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{nom} : nombres entiers attendus.") from None
    if not np.all(np.isfinite(flottants)) or np.any(flottants != np.round(flottants)):
        raise ValueError(f"{nom} : nombres entiers attendus (valeur manquante ou décimale).")
    return flottants.astype(np.int64)


_TYPOLOGIE = re.compile(r"^\s*(?:T|F)?\s*(\d+)", re.IGNORECASE)


def _pieces(typologie: str | int) -> int:
    if isinstance(typologie, int | np.integer) and not isinstance(typologie, bool):
        return int(typologie)
    texte = str(typologie).strip()
    if texte.lower() == "studio":
        return 1
    trouve = _TYPOLOGIE.match(texte)
    if trouve is None:
        raise ValueError(
            f"Typologie invalide : {typologie!r} (attendu par exemple « T1 », « T4 », « T5+ »)."
        )
    return max(int(trouve.group(1)), 1)


# --------------------------------------------------------------------------------------------
# The parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Parametres:
    """All regulatory parameters, loaded once from a folder (default: the shipped one)."""

    dossier: Path
    _seuils: _FichierSeuils = field(repr=False)
    _plafonds: _FichierPlafonds = field(repr=False)
    _plafonds_compiles: dict[str, dict[date, _TablePlafondsCompilee]] = field(repr=False)
    _uc: _FichierUC = field(repr=False)
    _surfaces: _FichierSurfaces = field(repr=False)
    _menage: _FichierMenage = field(repr=False)
    _delais: _FichierDelai = field(repr=False)

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def charger(cls, dossier: Path | None = None) -> Parametres:
        """Load and validate every parameter file of ``dossier`` (cached for the default)."""
        if dossier is None or Path(dossier).resolve() == DOSSIER_PAR_DEFAUT:
            return _charger_defaut()
        return cls._lire_dossier(Path(dossier).resolve())

    @classmethod
    def _lire_dossier(cls, dossier: Path) -> Parametres:
        plafonds = _lire(dossier, FICHIER_PLAFONDS, _FichierPlafonds)
        compiles = {
            nom: {debut: _compiler_table(debut, t) for debut, t in fin.tables.items()}
            for nom, fin in plafonds.financements.items()
        }
        return cls(
            dossier=dossier,
            _seuils=_lire(dossier, FICHIER_SEUILS, _FichierSeuils),
            _plafonds=plafonds,
            _plafonds_compiles=compiles,
            _uc=_lire(dossier, FICHIER_UC, _FichierUC),
            _surfaces=_lire(dossier, FICHIER_SUR_OCCUPATION, _FichierSurfaces),
            _menage=_lire(dossier, FICHIER_MENAGE, _FichierMenage),
            _delais=_lire(dossier, FICHIER_DAL, _FichierDelai),
        )

    def _fichier(self, nom: str) -> str:
        return _nom_fichier(self.dossier, nom)

    # -- first-quartile thresholds -----------------------------------------------------------

    def _fins_arretes(self) -> dict[date, date | None]:
        return {d: a.valable_jusqu_au for d, a in self._seuils.arretes.items()}

    def _series_seuil(self, epci: str, region: str) -> tuple[dict[date, float], str] | None:
        """The dated thresholds for an EPCI code (or regional key), or the regional fallback."""
        seuils = self._seuils
        fiche = seuils.epcis.get(epci)
        if fiche is not None:
            if fiche.valeurs is not None:
                return fiche.valeurs, f"EPCI {epci} ({fiche.nom})"
            regionale = seuils.regions[fiche.region or ""]
            return regionale.valeurs, f"EPCI {epci} ({fiche.nom}, valeur régionale {regionale.nom})"
        if epci in seuils.regions:
            return seuils.regions[epci].valeurs, f"valeur régionale {seuils.regions[epci].nom}"
        for regionale in seuils.regions.values():
            if region and regionale.code_region == region:
                return (
                    regionale.valeurs,
                    f"EPCI {epci or '(vide)'} (valeur régionale {regionale.nom})",
                )
        return None

    def _connus_seuils(self) -> str:
        seuils = self._seuils
        regions = ", ".join(
            f"{r.nom} pour region={r.code_region!r}" for r in seuils.regions.values()
        )
        texte = f"{len(seuils.epcis)} EPCI enregistrés ({', '.join(sorted(seuils.epcis))})"
        if regions:
            texte += f" ; valeur régionale de repli : {regions}"
        return texte

    def epcis_premier_quartile(self) -> list[tuple[str, str, str | None]]:
        """The EPCIs of the first-quartile table: (SIREN, name, département or None)."""
        return [(code, e.nom, e.departement) for code, e in sorted(self._seuils.epcis.items())]

    def seuil_premier_quartile(self, epci: str, jour: date, region: str | None = None) -> float:
        """First-quartile threshold (€/UC/year) for an EPCI (SIREN code) on ``jour``.

        ``region`` (INSEE region code, "11" for Île-de-France) lets an EPCI absent from the
        file take the regional value where one exists.
        """
        jour = _en_date(jour)
        code = _normaliser_code(epci)
        serie = self._series_seuil(code, _normaliser_code(region))
        if serie is None:
            raise ParametreManquant(
                "seuil du premier quartile",
                f"EPCI {code or '(vide)'}" + (f", région {region}" if region else ""),
                jour,
                self._connus_seuils() + " ; si l'EPCI est en Île-de-France, passer region='11'",
                self._fichier(FICHIER_SEUILS),
            )
        valeurs, libelle = serie
        return float(
            valeur_en_vigueur(
                valeurs,
                jour,
                fins=self._fins_arretes(),
                parametre="seuil du premier quartile",
                cle=libelle,
                fichier=self._fichier(FICHIER_SEUILS),
            )
        )

    def seuils_premier_quartile(
        self,
        epcis: np.ndarray | pd.Series,
        jour: date,
        regions: np.ndarray | pd.Series | str | None = None,
    ) -> np.ndarray:
        """Vectorized :meth:`seuil_premier_quartile` (one lookup per distinct EPCI/region).

        Raises :class:`ParametreManquant` listing every EPCI code without a value.
        """
        jour = _en_date(jour)
        codes_epci, uniques_epci = pd.factorize(
            pd.Series(np.asarray(epcis, dtype=object)), use_na_sentinel=False
        )
        n = len(codes_epci)
        if regions is None or isinstance(regions, str | int | np.integer):
            codes_region = np.zeros(n, dtype=np.int64)
            uniques_region = np.array([regions], dtype=object)
        else:
            regions_tab = np.asarray(regions, dtype=object)
            if regions_tab.shape != (n,):
                raise ValueError("regions : même longueur que epcis attendue.")
            codes_region, uniques_region = pd.factorize(
                pd.Series(regions_tab), use_na_sentinel=False
            )
        paires = codes_epci.astype(np.int64) * len(uniques_region) + codes_region
        uniques_paires, inverse = np.unique(paires, return_inverse=True)
        valeurs = np.empty(len(uniques_paires), dtype=np.float64)
        manquants: dict[str, str] = {}
        for i, paire in enumerate(uniques_paires):
            epci = _normaliser_code(uniques_epci[paire // len(uniques_region)])
            region = _normaliser_code(uniques_region[paire % len(uniques_region)])
            try:
                valeurs[i] = self.seuil_premier_quartile(epci, jour, region or None)
            except ParametreManquant as exc:
                manquants.setdefault(epci or "(vide)", exc.connu)
                valeurs[i] = np.nan
        if manquants:
            codes = sorted(manquants)
            if len(set(manquants.values())) == 1:
                connu = next(iter(manquants.values()))
            else:
                connu = self._connus_seuils()
            raise ParametreManquant(
                "seuil du premier quartile",
                f"{len(codes)} EPCI sans valeur : {', '.join(codes)}",
                jour,
                connu,
                self._fichier(FICHIER_SEUILS),
            )
        return valeurs[inverse.reshape(-1)]

    def epcis_connus(self, jour: date) -> list[str]:
        """EPCI codes (SIREN) that have a first-quartile threshold in force on ``jour``."""
        jour = _en_date(jour)
        fins = self._fins_arretes()
        connus = []
        for code in self._seuils.epcis:
            serie = self._series_seuil(code, "")
            assert serie is not None
            try:
                date_en_vigueur(serie[0].keys(), jour, fins=fins)
            except ParametreManquant:
                continue
            connus.append(code)
        return sorted(connus)

    def nom_epci(self, epci: str) -> str:
        """Name of an EPCI (or regional key) of the thresholds file."""
        code = _normaliser_code(epci)
        if code in self._seuils.epcis:
            return self._seuils.epcis[code].nom
        if code in self._seuils.regions:
            return self._seuils.regions[code].nom
        raise ParametreManquant(
            "nom d'EPCI",
            f"EPCI {code or '(vide)'}",
            None,
            self._connus_seuils(),
            self._fichier(FICHIER_SEUILS),
        )

    # -- income ceilings ---------------------------------------------------------------------

    def _table_plafonds(self, financement: str, jour: date) -> _TablePlafondsCompilee:
        nom = str(financement).strip().upper()
        fichier = self._fichier(FICHIER_PLAFONDS)
        if nom not in self._plafonds.financements:
            connus = ", ".join(self._plafonds.financements)
            raise ValueError(f"Financement inconnu : {financement!r} (connus : {connus}).")
        tables = self._plafonds_compiles[nom]
        fins = {d: t.fin for d, t in tables.items()}
        note = self._plafonds.financements[nom].note
        try:
            debut = date_en_vigueur(
                tables.keys(),
                jour,
                fins=fins,
                parametre=f"plafond de ressources {nom}",
                cle="table de plafonds",
                fichier=fichier,
            )
        except ParametreManquant as exc:
            if note:
                raise ParametreManquant(
                    exc.parametre, exc.cle, exc.jour, f"{exc.connu} ; {note}", exc.fichier
                ) from None
            raise
        return tables[debut]

    def plafond_ressources(
        self,
        financement: str,
        zone: int,
        categorie: int,
        personnes_supplementaires: int,
        jour: date,
    ) -> float:
        """Income ceiling (RFR N-2, €/year) for one household; see :meth:`plafonds_ressources`."""
        resultat = self.plafonds_ressources(
            financement,
            np.array([zone]),
            np.array([categorie]),
            np.array([personnes_supplementaires]),
            jour,
        )
        return float(resultat[0])

    def plafonds_ressources(
        self,
        financement: str,
        zones: np.ndarray,
        categories: np.ndarray,
        personnes_supplementaires: np.ndarray,
        jour: date,
    ) -> np.ndarray:
        """Income ceilings (RFR N-2, €/year), vectorized over households.

        ``financement``: PLAI, PLUS, PLS or PLI; ``zones``: 1, 2 or 3; ``categories``: 1 to 6;
        ``personnes_supplementaires``: persons beyond six (only with category 6). The table is
        the one in force on ``jour`` (a CAL date); the arrays broadcast together.
        """
        jour = _en_date(jour)
        nom = str(financement).strip().upper()
        table = self._table_plafonds(nom, jour)
        z, c, n = np.broadcast_arrays(
            _entiers(np.asarray(zones), "zones"),
            _entiers(np.asarray(categories), "categories"),
            _entiers(np.asarray(personnes_supplementaires), "personnes_supplementaires"),
        )
        for valeurs, permis, libelle in (
            (z, ZONES, "zone"),
            (c, CATEGORIES, "catégorie de ménage"),
        ):
            hors = ~np.isin(valeurs, permis)
            if hors.any():
                raise ValueError(
                    f"{libelle} invalide : {sorted(set(valeurs[hors].tolist()))} "
                    f"(valeurs permises : {', '.join(map(str, permis))})."
                )
        if (n < 0).any():
            raise ValueError("personnes_supplementaires : nombre positif ou nul attendu.")
        if ((n > 0) & (c < 6)).any():
            raise ValueError(
                "personnes_supplementaires : seulement pour la catégorie 6 (ménages de plus de "
                "six personnes)."
            )
        base = table.base[z, c]
        avec_supplement = n > 0
        plafonds = base + np.where(avec_supplement, table.supplement[z] * n, 0.0)
        inconnus = np.isnan(plafonds)
        if inconnus.any():
            cles = sorted(
                set(
                    zip(
                        z[inconnus].tolist(),
                        c[inconnus].tolist(),
                        avec_supplement[inconnus].tolist(),
                        strict=True,
                    )
                )
            )
            libelles = [
                f"zone {zone} « {self._plafonds.zones[zone]} », catégorie {cat}"
                + (" + personnes supplémentaires" if supp else "")
                for zone, cat, supp in cles
            ]
            raise ParametreManquant(
                f"plafond de ressources {nom}",
                "; ".join(libelles),
                jour,
                self._decrire_table(nom, table),
                self._fichier(FICHIER_PLAFONDS),
            )
        return plafonds

    def _decrire_table(self, nom: str, table: _TablePlafondsCompilee) -> str:
        source = self._plafonds.financements[nom].tables[table.debut]
        zones = []
        for zone, valeurs in sorted(source.zones.items()):
            connues = [
                str(c)
                for c, v in zip(CATEGORIES, valeurs.par_categorie(), strict=True)
                if v is not None
            ]
            if len(connues) == len(CATEGORIES) and valeurs.personne_supplementaire is not None:
                zones.append(f"zone {zone} complète")
            else:
                zones.append(
                    f"zone {zone} : catégorie(s) {', '.join(connues) or 'aucune'} seulement"
                )
        fin = f" au {table.fin.isoformat()}" if table.fin else ""
        texte = (
            f"table {nom} du {table.debut.isoformat()}{fin} ({'; '.join(zones)}), "
            f"source : {table.reference}"
        )
        note = source.note or self._plafonds.financements[nom].note
        return f"{texte} ; {note}" if note else texte

    # -- simple dated parameters -------------------------------------------------------------

    def _valeur(
        self, parametre: _ParametreDate[Any], libelle: str, cle: str, jour: date, fichier: str
    ) -> Any:
        valeurs = {d: v.valeur for d, v in parametre.valeurs.items()}
        fins = {d: v.valable_jusqu_au for d, v in parametre.valeurs.items()}
        return valeur_en_vigueur(
            valeurs, jour, fins=fins, parametre=libelle, cle=cle, fichier=self._fichier(fichier)
        )

    def echelle_uc(self, jour: date) -> dict[str, float]:
        """Consumption-unit weights in force on ``jour`` (presumed modified OECD scale)."""
        jour = _en_date(jour)
        p = self._uc.parametres
        return {
            nom: float(
                self._valeur(
                    getattr(p, nom), "échelle d'unités de consommation", nom, jour, FICHIER_UC
                )
            )
            for nom in ("premier_adulte", "autre_14_ans_et_plus", "moins_14_ans")
        }

    def surfaces_minimales(self, jour: date) -> np.ndarray:
        """Minimum surface (m²) by number of persons: index i = persons (index 0 is NaN).

        The last entry applies to every larger household (8 persons and more).
        """
        jour = _en_date(jour)
        valeurs = self._surfaces.valeurs
        table = valeur_en_vigueur(
            valeurs,
            jour,
            fins={d: v.valable_jusqu_au for d, v in valeurs.items()},
            parametre="surface minimale (sur-occupation)",
            cle="table R.822-25",
            fichier=self._fichier(FICHIER_SUR_OCCUPATION),
        )
        surfaces = table.surface_minimale_m2
        return np.array([np.nan] + [float(surfaces[p]) for p in sorted(surfaces)])

    def menage(self, jour: date) -> dict[str, Any]:
        """Household-category rule parameters in force on ``jour``."""
        jour = _en_date(jour)
        p = self._menage.parametres
        return {
            nom: self._valeur(
                getattr(p, nom), "règle de catégorie de ménage", nom, jour, FICHIER_MENAGE
            )
            for nom in (
                "age_max_cumule_jeune_menage",
                "naissances_attendues_a_charge",
                "handicap_categorie_supplementaire",
            )
        }

    def delai_anormalement_long(
        self, departement: str, jour: date, typologie: str | None = None
    ) -> int:
        """Délai anormalement long (months) in a département on ``jour``.

        ``typologie`` ("T1", "T4", "T5+", or a number of rooms) is needed where the délai
        depends on the unit size.
        """
        jour = _en_date(jour)
        code = _normaliser_code(departement)
        if code.isdigit() and len(code) == 1:
            code = f"0{code}"
        fichier = self._fichier(FICHIER_DAL)
        fiche = self._delais.departements.get(code)
        parametre = "délai anormalement long"
        if fiche is None:
            connus = ", ".join(
                f"{c} ({d.nom})" for c, d in sorted(self._delais.departements.items())
            )
            raise ParametreManquant(
                parametre,
                f"département {code or '(vide)'}",
                jour,
                f"départements enregistrés : {connus}",
                fichier,
            )
        cle = f"département {code} ({fiche.nom})"
        valeur = valeur_en_vigueur(
            fiche.valeurs,
            jour,
            fins={d: v.valable_jusqu_au for d, v in fiche.valeurs.items()},
            parametre=parametre,
            cle=cle,
            fichier=fichier,
        )
        if valeur.mois is not None:
            return int(valeur.mois)
        assert valeur.par_typologie is not None
        tranches = ", ".join(
            f"T{t.pieces_min}"
            + (f"–T{t.pieces_max}" if t.pieces_max else " et plus")
            + f" : {t.mois} mois"
            for t in valeur.par_typologie
        )
        if typologie is None:
            raise ParametreManquant(
                parametre,
                f"{cle}, typologie non précisée",
                jour,
                f"le délai dépend de la typologie ({tranches}) : préciser `typologie`",
                fichier,
            )
        pieces = _pieces(typologie)
        for tranche in valeur.par_typologie:
            if tranche.pieces_min <= pieces and (
                tranche.pieces_max is None or pieces <= tranche.pieces_max
            ):
                return int(tranche.mois)
        raise AssertionError("tranches validées au chargement : toujours couvrantes")


@functools.lru_cache(maxsize=1)
def _charger_defaut() -> Parametres:
    return Parametres._lire_dossier(DOSSIER_PAR_DEFAUT)
