"""The service's tables (SQLAlchemy 2). Alembic migrations in `api/migrations` create them.

Applications and units are stored as their validated file form (one JSON object of strings per
row, exactly what `typer_demandes` / `typer_logements` read back; kept as text, so a whole pool
is decoded in one `json.loads`), with the few columns the service filters on beside it.
Published rule versions, decided proposals and the audit log are append-only: the routes never update them once final.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON().with_variant(JSONB(), "postgresql")

ROLES = ("admin", "epci", "bailleur", "reservataire", "guichet")
GENRES = ("grille", "politique")  # the two kinds of versioned rule documents
STATUTS_VERSION = ("brouillon", "publiee")
STATUTS_DEMANDE = ("active", "attribuee", "relogee")
STATUTS_RUN = ("en_attente", "en_cours", "termine", "echec", "annule")
# The five outcomes of a CAL decision (art. R.441-3 CCH).
DECISIONS = ("attribution", "attribution_par_rang", "attribution_sous_condition", "non_attribution", "irrecevabilite")
DECISIONS_ATTRIBUTION = DECISIONS[:3]
ISSUES_BAIL = ("signe", "refuse")


def maintenant() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: Json, list[Any]: Json}


class Territoire(Base):
    """An EPCI: its grids, policies, applications and objectives."""

    __tablename__ = "territoires"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)  # SIREN of the EPCI
    nom: Mapped[str] = mapped_column(String(200))
    departement: Mapped[str | None] = mapped_column(String(3))
    # bumped by every change to the applications, so cached scores know when they are stale
    revision_demandes: Mapped[int] = mapped_column(Integer, default=0)
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)


class Organisation(Base):
    """Who calls the service: a bailleur, a reservataire, an EPCI, an applicant-facing desk, an admin."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # a bailleur's code is the units' `bailleur`
    nom: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    territoire_id: Mapped[int | None] = mapped_column(ForeignKey("territoires.id"))  # epci and guichet only
    reservataire: Mapped[str | None] = mapped_column(String(32))  # reservataire role only
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)


class Jeton(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once at creation."""

    __tablename__ = "jetons"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    empreinte: Mapped[str] = mapped_column(String(64), unique=True)
    libelle: Mapped[str] = mapped_column(String(200), default="")
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)
    revoque_le: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VersionRegles(Base):
    """One version of a territory's grid or policy (YAML). Published versions are immutable."""

    __tablename__ = "versions_regles"
    __table_args__ = (UniqueConstraint("territoire_id", "genre", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    genre: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    statut: Mapped[str] = mapped_column(String(16), default="brouillon")
    texte: Mapped[str] = mapped_column(Text)
    libelle: Mapped[str] = mapped_column(String(300))  # the document's own territoire/version metadata
    date_effet: Mapped[date | None] = mapped_column(Date)
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)
    publiee_le: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auteur_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))


class Demande(Base):
    """One application, stored in its validated file form."""

    __tablename__ = "demandes"
    __table_args__ = (UniqueConstraint("territoire_id", "numero_unique"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    numero_unique: Mapped[str] = mapped_column(String(40))
    statut: Mapped[str] = mapped_column(String(16), default="active")
    donnees: Mapped[str] = mapped_column(Text)  # JSON object of the file form
    modifiee_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)


class Logement(Base):
    """One unit of a bailleur, stored in its validated file form."""

    __tablename__ = "logements"
    __table_args__ = (UniqueConstraint("organisation_id", "identifiant"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    identifiant: Mapped[str] = mapped_column(String(40))
    statut: Mapped[str] = mapped_column(String(16), default="vacant")  # vacant, propose, attribue, loue
    donnees: Mapped[str] = mapped_column(Text)  # JSON object of the file form
    modifie_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)


class Run(Base):
    """A proposal run for a bailleur's CAL: inputs, versions, solver report and the proposals."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    statut: Mapped[str] = mapped_column(String(16), default="en_attente")
    date_cal: Mapped[date] = mapped_column(Date)
    logements: Mapped[list[Any]]  # identifiants asked for
    grille_id: Mapped[int | None] = mapped_column(ForeignKey("versions_regles.id"))
    politique_id: Mapped[int | None] = mapped_column(ForeignKey("versions_regles.id"))  # None: the shipped default
    empreinte: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the solved inputs
    solveur: Mapped[dict[str, Any] | None] = mapped_column(Json)
    durees: Mapped[dict[str, Any] | None] = mapped_column(Json)
    resultat: Mapped[dict[str, Any] | None] = mapped_column(Json)  # the CAL sheet as data
    erreur: Mapped[str | None] = mapped_column(Text)
    cree_le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)
    debut: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fin: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expire_le: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Proposition(Base):
    """One candidate proposed for one unit in a run, then the CAL's decision and the lease outcome.

    The unit's and household's facts the objectives are counted on are copied here when the run
    is solved, so the year's report does not change when a record is edited afterwards.
    """

    __tablename__ = "propositions"
    __table_args__ = (UniqueConstraint("run_id", "logement_id", "numero_unique"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    logement_id: Mapped[int] = mapped_column(ForeignKey("logements.id"))
    identifiant_logement: Mapped[str] = mapped_column(String(40))
    numero_unique: Mapped[str] = mapped_column(String(40))
    rang: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    publics: Mapped[dict[str, Any]]  # objective id -> does the household belong to its public
    qpv: Mapped[bool] = mapped_column(Boolean)
    bailleur: Mapped[str] = mapped_column(String(200))
    reservataire: Mapped[str] = mapped_column(String(32))
    commune: Mapped[str] = mapped_column(String(5))
    typologie: Mapped[str] = mapped_column(String(4))
    date_depot: Mapped[date] = mapped_column(Date)
    decision: Mapped[str | None] = mapped_column(String(32))
    decision_motif: Mapped[str | None] = mapped_column(Text)
    decision_le: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bail: Mapped[str | None] = mapped_column(String(16))
    bail_date: Mapped[date | None] = mapped_column(Date)
    bail_motif: Mapped[str | None] = mapped_column(Text)
    refus_legitime: Mapped[bool | None] = mapped_column(Boolean)


Index("ix_propositions_bail", Proposition.territoire_id, Proposition.bail, Proposition.bail_date)


class Verrou(Base):
    """A household held by a run awaiting its CAL: unique per territory, so no two runs share one."""

    __tablename__ = "verrous"
    __table_args__ = (UniqueConstraint("territoire_id", "numero_unique"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoires.id"))
    numero_unique: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    expire_le: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Audit(Base):
    """Who wrote what, when. Never personal data: counts and identifiers of resources only."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    le: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=maintenant)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    jeton_id: Mapped[int | None] = mapped_column(ForeignKey("jetons.id"))
    action: Mapped[str] = mapped_column(String(64))
    ressource: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]
