"""The vacant unit (logement) as a record, its columnar table, and the zone of a commune.

`Logement` is the pydantic record of one unit offered to the CAL. The batch form is a pandas
DataFrame with one column per field (`lire_logements` reads CSV or Parquet with the same
all-or-nothing French validation as the applications: every bad cell reported, nothing imported
if anything is wrong). The column rules come from the record's JSON schema through
`cotation.table.spec_depuis_modele`, so record and table accept the same values.

Decisions (documented here because no national text fixes them):

- typologie and pieces: T1 to T5 have exactly 1 to 5 rooms, T6 has 6 rooms or more (10 at
  most). A T1 bis or a duplex is declared with its real number of rooms.
- zone: the income-ceiling zone is a function of the commune (`zone_de_commune`). The `zone`
  column is optional; when given it must agree with the commune, so a typing error cannot
  silently apply Paris ceilings in Lyon. Corse (2A, 2B) and overseas (97x, 98x) communes are
  rejected: they have their own ceiling tables, which this engine does not hold.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cotation.derivees import DEPARTEMENTS_ILE_DE_FRANCE
from cotation.table import _Errors, en_texte, lire_brut, parser_colonnes, spec_depuis_modele
from rules.vocabulaire import TYPOLOGIES

__all__ = [
    "COMMUNES_LIMITROPHES_PARIS",
    "CommuneHorsZone",
    "FINANCEMENTS",
    "Logement",
    "RESERVATAIRES",
    "colonnes_logement",
    "lire_logements",
    "logements_depuis_table",
    "table_depuis_logements",
    "typer_logements",
    "zone_de_commune",
]

FINANCEMENTS = ("PLAI", "PLUS", "PLS", "PLI")
RESERVATAIRES = ("prefet", "action_logement", "collectivite", "bailleur", "autre")

# Zones ------------------------------------------------------------------------------------------

PARIS = ("75056",) + tuple(f"751{k:02d}" for k in range(1, 21))  # commune and its 20 arrondissements

# The 29 communes sharing a border with Paris (the Bois de Boulogne and Bois de Vincennes belong to
# Paris, hence Saint-Cloud, Suresnes, Puteaux, Joinville, Nogent, Saint-Maurice...). Source: the
# list of communes adjacent to Paris (11 in Hauts-de-Seine, 8 in Seine-Saint-Denis, 10 in
# Val-de-Marne), cross-checked against OpenFisca-France `zone_logement_social`, whose comment names
# the same 29 communes but whose 28 codes are shifted against their labels (93001 labelled
# Bagnolet is Aubervilliers, 93006 labelled Boulogne-Billancourt is Bagnolet) and which misses
# Boulogne-Billancourt 92012 (regles-du-domaine.md §5.3). À vérifier sur l'arrêté du 29 juillet
# 1987 modifié (annexe I, « Paris et communes limitrophes »). Codes of 2026; 93066 Saint-Denis kept
# its code when it absorbed Pierrefitte-sur-Seine on 1 January 2025.
COMMUNES_LIMITROPHES_PARIS: dict[str, str] = {
    "92012": "Boulogne-Billancourt",
    "92024": "Clichy",
    "92040": "Issy-les-Moulineaux",
    "92044": "Levallois-Perret",
    "92046": "Malakoff",
    "92049": "Montrouge",
    "92051": "Neuilly-sur-Seine",
    "92062": "Puteaux",
    "92064": "Saint-Cloud",
    "92073": "Suresnes",
    "92075": "Vanves",
    "93001": "Aubervilliers",
    "93006": "Bagnolet",
    "93045": "Les Lilas",
    "93048": "Montreuil",
    "93055": "Pantin",
    "93061": "Le Pré-Saint-Gervais",
    "93066": "Saint-Denis",
    "93070": "Saint-Ouen-sur-Seine",
    "94018": "Charenton-le-Pont",
    "94033": "Fontenay-sous-Bois",
    "94037": "Gentilly",
    "94041": "Ivry-sur-Seine",
    "94042": "Joinville-le-Pont",
    "94043": "Le Kremlin-Bicêtre",
    "94052": "Nogent-sur-Marne",
    "94067": "Saint-Mandé",
    "94069": "Saint-Maurice",
    "94080": "Vincennes",
}
ZONE_1 = frozenset(PARIS) | frozenset(COMMUNES_LIMITROPHES_PARIS)
MOTIF_COMMUNE = r"^(\d{5}|2[AB]\d{3})$"
_HORS_ZONE = -1  # Corse or overseas: a commune with its own ceiling tables
_INVALIDE = -2  # not an INSEE code


class CommuneHorsZone(ValueError):
    """A commune outside the three zones (Corse, overseas) or not an INSEE code."""


def _zone_un_code(code: str) -> int:
    if not isinstance(code, str) or not re.fullmatch(MOTIF_COMMUNE, code):
        return _INVALIDE
    departement = code[:2]
    if departement in ("2A", "2B", "20", "97", "98"):
        return _HORS_ZONE
    if departement == "75" or code in ZONE_1:
        return 1
    return 2 if departement in DEPARTEMENTS_ILE_DE_FRANCE else 3


def _zones(codes: Any) -> np.ndarray:
    """Zone of each code (1, 2, 3), or _HORS_ZONE / _INVALIDE; one computation per distinct code."""
    values = pd.Series(np.atleast_1d(np.asarray(codes, dtype=object)))
    inverse, uniques = pd.factorize(values, use_na_sentinel=False)
    per_code = np.array([_zone_un_code(c) for c in uniques], dtype=np.int8)
    return per_code[inverse] if len(uniques) else np.zeros(0, dtype=np.int8)


def _raison_hors_zone(code: str) -> str:
    if code[:2] in ("2A", "2B", "20"):
        return "commune de Corse : plafonds propres à la Corse, non couverts par les zones 1 à 3"
    return "commune d'outre-mer : plafonds propres à l'outre-mer, non couverts par les zones 1 à 3"


def zone_de_commune(codes: Any) -> np.ndarray:
    """Income-ceiling zone (int8) of INSEE commune codes, vectorized.

    1 = Paris (75056 and its arrondissements 75101-75120) and the 29 communes limitrophes;
    2 = the rest of Île-de-France (départements 75, 77, 78, 91, 92, 93, 94, 95);
    3 = the rest of metropolitan France. Corse (2A, 2B), overseas (97x, 98x) and malformed codes
    raise `CommuneHorsZone` naming every such code: their tables are not held, nothing is guessed.
    """
    zones = _zones(codes)
    bad = zones < 0
    if bad.any():
        flat = np.atleast_1d(np.asarray(codes, dtype=object))
        problems = []
        for code in sorted({str(c) for c in flat[bad]}):
            zone = _zone_un_code(code)
            why = _raison_hors_zone(code) if zone == _HORS_ZONE else "code INSEE invalide (5 caractères attendus)"
            problems.append(f"« {code} » : {why}")
        raise CommuneHorsZone("zone de plafonds indéterminée ; " + " ; ".join(problems))
    return zones


# Record ----------------------------------------------------------------------------------------

Typologie = Literal[tuple(TYPOLOGIES)]  # type: ignore[valid-type]
Financement = Literal[FINANCEMENTS]  # type: ignore[valid-type]
Reservataire = Literal[RESERVATAIRES]  # type: ignore[valid-type]


class Logement(BaseModel):
    """One vacant unit offered to the allocation commission (CAL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identifiant: str = Field(min_length=1, max_length=40, description="identifiant du logement (RPLS ou bailleur)")
    bailleur: str = Field(min_length=1, max_length=200, description="organisme propriétaire")
    commune: str = Field(pattern=MOTIF_COMMUNE, description="code INSEE de la commune")
    epci: str = Field(pattern=r"^\d{9}$", description="code SIREN de l'EPCI")
    qpv: bool = Field(description="situé en quartier prioritaire de la politique de la ville")
    quartier_veille: bool = Field(
        False, description="quartier fragile ou de veille, qu'une politique peut traiter comme un QPV")
    typologie: Typologie = Field(description="T1 à T6 (T6 : 6 pièces ou plus)")
    pieces: int = Field(ge=1, le=10, description="nombre de pièces principales")
    surface: float = Field(gt=0, le=1000, allow_inf_nan=False, description="surface habitable (m²)")
    loyer: float = Field(gt=0, le=100_000, allow_inf_nan=False, description="loyer mensuel hors charges (€)")
    charges: float = Field(0, ge=0, le=100_000, allow_inf_nan=False, description="charges mensuelles (€)")
    financement: Financement = Field(description="financement : PLAI, PLUS, PLS ou PLI")
    zone: int | None = Field(
        None, ge=1, le=3, description="zone de plafonds 1, 2 ou 3 (déduite de la commune si absente)")
    reservataire: Reservataire = Field(description="réservataire dont c'est le tour dans le flux")
    adapte_handicap: bool = Field(False, description="logement adapté au handicap (art. R.441-4 CCH)")
    date_disponibilite: date | None = Field(None, description="date à laquelle le logement est libre")

    @model_validator(mode="after")
    def _coherence(self):
        zones = _zones([self.commune])
        for problem in incoherences_logement(
            np.array([self.typologie], dtype=object), np.array([self.pieces]), np.array([self.commune], dtype=object),
            np.array([np.nan if self.zone is None else self.zone], dtype=float), zones,
        ):
            raise ValueError(problem[1])
        if self.zone is None:
            object.__setattr__(self, "zone", int(zones[0]))  # frozen record: derived once, here
        return self


def incoherences_logement(
    typologie: np.ndarray, pieces: np.ndarray, commune: np.ndarray, zone: np.ndarray, zones_commune: np.ndarray,
) -> list[tuple[str, str, np.ndarray]]:
    """Cross-field rules shared by the record and the table: (column, French message, bad-row mask)."""
    out = []
    text = pd.Series(typologie, dtype=object)
    known = text.isin(tuple(TYPOLOGIES)).to_numpy()
    n = np.where(known, text.str[1:].where(known, "0").astype(int).to_numpy(), 0)
    pieces = np.asarray(pieces, dtype=float)
    bad = known & ~np.isnan(pieces) & np.where(n == 6, pieces < 6, pieces != n)
    for t in np.unique(text[bad].to_numpy()).tolist() if bad.any() else []:
        rows = bad & (text == t).to_numpy()
        k = int(t[1:])
        rule = "6 pièces ou plus" if k == 6 else f"{k} pièce{'s' if k > 1 else ''}"
        out.append(("typologie", f"typologie {t} incohérente avec le nombre de pièces ({t} = {rule})", rows))
    zone = np.asarray(zone, dtype=float)
    hors = zones_commune == _HORS_ZONE
    corse = hors & pd.Series(commune, dtype=object).str[:2].isin(("2A", "2B", "20")).to_numpy()
    if corse.any():
        out.append(("commune", _raison_hors_zone("2A000"), corse))
    if (hors & ~corse).any():
        out.append(("commune", _raison_hors_zone("97000"), hors & ~corse))
    given = ~np.isnan(zone) & (zones_commune > 0)
    for z in (1, 2, 3):
        rows = given & (zones_commune == z) & (zone != z)
        if rows.any():
            out.append(("zone", f"zone incohérente avec la commune, qui est en zone {z} ({_LIBELLES_ZONES[z]})", rows))
    return out


_LIBELLES_ZONES = {
    1: "Paris et communes limitrophes",
    2: "Île-de-France hors Paris et communes limitrophes",
    3: "autres régions",
}


# Table -----------------------------------------------------------------------------------------


def colonnes_logement() -> list[str]:
    """Columns of the unit table, in the record's order."""
    return list(Logement.model_fields)


def lire_logements(chemin: str | Path, separateur: str = ",") -> pd.DataFrame:
    """Read a CSV or Parquet file of units, validated, or raise ErreurDonnees (nothing imported)."""
    chemin = Path(chemin)
    raw = lire_brut(chemin, separateur)
    return typer_logements(raw, str(chemin), premiere_ligne=2 if chemin.suffix.lower() != ".parquet" else 1)


def typer_logements(raw: pd.DataFrame, fichier: str = "logements", premiere_ligne: int = 2) -> pd.DataFrame:
    """Validate a frame of strings and return the typed unit table (zone filled from the commune)."""
    raw = raw.reset_index(drop=True)
    errors = _Errors(raw, premiere_ligne, cle="identifiant", entite="logement")
    out = parser_colonnes(raw, spec_depuis_modele(Logement), errors, fichier)
    ids = pd.Series(out["identifiant"], dtype=object)
    dup = ids.duplicated(keep=False).to_numpy() & (ids != "").to_numpy()
    errors.cells(dup, "identifiant", "identifiant en double dans le fichier", ids)
    commune = pd.Series(out["commune"], dtype=object)
    valid_commune = commune.fillna("").str.fullmatch(MOTIF_COMMUNE).to_numpy(dtype=bool)
    zones_commune = np.where(valid_commune, _zones(commune.fillna("").to_numpy()), 0).astype(np.int8)
    typologie = np.asarray(out["typologie"].astype(object), dtype=object)
    for column, message, rows in incoherences_logement(
        typologie, out["pieces"], commune.to_numpy(), out["zone"], zones_commune
    ):
        errors.cells(rows, column, message, raw[column] if column in raw.columns else None)
    errors.raise_if_any(fichier)
    out["zone"] = zones_commune.astype(np.int8)  # equal to the given zone wherever one was given
    return pd.DataFrame(out, columns=colonnes_logement())


def table_depuis_logements(logements: list[Logement]) -> pd.DataFrame:
    """The unit table of records (same conversion as a file)."""
    rows = [
        {k: "" if v is None else (v.isoformat() if isinstance(v, date) else str(v).lower() if isinstance(v, bool)
                                  else str(v))
         for k, v in x.model_dump().items()}
        for x in logements
    ]
    raw = pd.DataFrame(rows, columns=colonnes_logement(), dtype=object).fillna("")
    return typer_logements(raw, "logements", premiere_ligne=1)


def logements_depuis_table(table: pd.DataFrame) -> list[Logement]:
    """Records from rows of a unit table (a typed table, or any frame with the same columns)."""
    text = en_texte(table)
    out = []
    for row in text.to_dict("records"):
        data = {k: v for k, v in row.items() if v != ""}
        out.append(Logement.model_validate(data))
    return out
