"""The application (demande de logement social) as a record, and its columnar table schema.

`Demande` is the pydantic record of one application, with the CERFA 14069 fields real grids
score. The batch form is a pandas DataFrame with one scalar column per field: list fields are
spread into boolean columns (`motif_<code>`, `prioritaire_<lettre>`, `typologie_<Tn>`) so that
criteria evaluate as vectors; desired communes and proposals stay as `;`-joined text. The
column list is derived from the record, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.vocabulaire import (
    CATEGORIES_PRIORITAIRES,
    ISSUES_PROPOSITION,
    MOTIFS,
    SITUATIONS_LOGEMENT,
    TYPOLOGIES,
)

SituationLogement = Literal[tuple(SITUATIONS_LOGEMENT)]  # type: ignore[valid-type]
Motif = Literal[tuple(MOTIFS)]  # type: ignore[valid-type]
LettrePrioritaire = Literal[tuple(CATEGORIES_PRIORITAIRES)]  # type: ignore[valid-type]
Typologie = Literal[tuple(TYPOLOGIES)]  # type: ignore[valid-type]
IssueProposition = Literal[tuple(ISSUES_PROPOSITION)]  # type: ignore[valid-type]
CodeInsee = Annotated[str, Field(pattern=r"^(\d{5}|2[AB]\d{3})$")]
Euros = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Effectif = Annotated[int, Field(ge=0, le=30)]


LIST_COLUMNS = {
    "motifs": ("motif_", tuple(MOTIFS)),
    "categories_prioritaires": ("prioritaire_", tuple(CATEGORIES_PRIORITAIRES)),
    "typologies_souhaitees": ("typologie_", tuple(TYPOLOGIES)),
}

class Proposition(BaseModel):
    """A past proposal of a unit and how it ended (for the refusal penalty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: date
    issue: IssueProposition


class Demande(BaseModel):
    """One application, as registered in the SNE (CERFA 14069)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numero_unique: str = Field(min_length=1, max_length=40, description="numéro unique d'enregistrement")
    date_depot: date = Field(description="date de la demande initiale (ancienneté)")
    date_renouvellement: date | None = Field(None, description="date du dernier renouvellement")
    epci: str = Field(pattern=r"^\d{9}$", description="code SIREN de l'EPCI de la demande")
    departement: str | None = Field(None, pattern=r"^(\d{2,3}|2A|2B)$", description="département")

    nb_adultes: int = Field(ge=1, le=20, description="adultes au foyer, demandeur compris")
    couple: bool = Field(False, description="demandeur marié, pacsé ou en concubinage")
    date_naissance_demandeur: date | None = Field(None, description="sert seulement au jeune ménage")
    date_naissance_conjoint: date | None = Field(None, description="sert seulement au jeune ménage")
    nb_enfants_moins_14: Effectif = Field(0, description="enfants à charge de moins de 14 ans")
    nb_enfants_14_plus: Effectif = Field(0, description="enfants à charge de 14 ans et plus")
    nb_autres_personnes_a_charge: Effectif = Field(0, description="autres personnes à charge")
    naissances_attendues: Effectif = Field(0, description="enfants à naître")
    nb_personnes_handicapees: Effectif = Field(0, description="personnes handicapées (CMI invalidité)")

    revenus_mensuels: Euros = Field(description="revenus mensuels du foyer (€)")
    revenu_fiscal_reference: Euros | None = Field(None, description="revenu fiscal de référence N-2 (€/an)")

    situation_logement: SituationLogement = Field(description="situation de logement actuelle")
    loyer_actuel: Euros | None = Field(None, description="loyer mensuel actuel charges comprises (€)")
    aide_logement: Euros = Field(0, description="aide au logement mensuelle (€)")
    surface_actuelle: Annotated[float, Field(gt=0, le=1000)] | None = Field(None, description="m²")
    pieces_actuelles: Annotated[int, Field(ge=1, le=30)] | None = Field(None, description="pièces")
    motifs: list[Motif] = Field(default_factory=list, description="motifs de la demande")

    date_decision_dalo: date | None = Field(None, description="date de la décision DALO favorable")
    categories_prioritaires: list[LettrePrioritaire] = Field(default_factory=list, description="lettres L.441-1")
    pdalhpd: bool = Field(False, description="labellisé prioritaire PDALHPD")
    relogement_anru: bool = Field(False, description="relogement ANRU / renouvellement urbain")

    communes_souhaitees: list[CodeInsee] = Field(default_factory=list, description="codes INSEE souhaités")
    typologies_souhaitees: list[Typologie] = Field(default_factory=list, description="T1 à T6")
    besoin_accessibilite: bool = Field(False, description="besoin d'un logement accessible ou adapté")
    propositions: list[Proposition] = Field(default_factory=list, description="propositions passées")

    @field_validator("motifs", "categories_prioritaires", "typologies_souhaitees")
    @classmethod
    def _as_set(cls, values: list[str], info) -> list[str]:
        """These lists are sets: kept once each, in the vocabulary's order (as the table stores them)."""
        order = LIST_COLUMNS[info.field_name][1]
        return [v for v in order if v in set(values)]

    @model_validator(mode="after")
    def _coherence(self):
        size = self.nb_adultes + self.nb_enfants_moins_14 + self.nb_enfants_14_plus + self.nb_autres_personnes_a_charge
        for problem in incoherences(self, size):
            raise ValueError(problem)
        return self


def incoherences(d, size: int) -> list[str]:
    """Cross-field rules shared by the record and the table validation (scalar version)."""
    out = []
    if d.date_renouvellement is not None and d.date_renouvellement < d.date_depot:
        out.append("date_renouvellement antérieure à date_depot")
    if d.nb_personnes_handicapees > size:
        out.append("nb_personnes_handicapees supérieur au nombre de personnes au foyer")
    if d.couple and d.nb_adultes < 2:
        out.append("couple = oui demande au moins 2 adultes")
    if d.aide_logement and d.loyer_actuel is not None and d.aide_logement > d.loyer_actuel:
        out.append("aide_logement supérieure au loyer_actuel")
    return out


# Batch schema ---------------------------------------------------------------------------------



def colonnes_table() -> list[str]:
    """Columns of the batch table, in order."""
    out: list[str] = []
    for name in Demande.model_fields:
        if name in LIST_COLUMNS:
            prefix, values = LIST_COLUMNS[name]
            out += [prefix + v for v in values]
        else:
            out.append(name)
    return out
