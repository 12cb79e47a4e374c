"""Versioned rule documents of a territory (grids and policies): drafts, publication, the one in force.

A version is uploaded as a draft (`brouillon`), validated exactly like a file given to the
command line, and numbered after the territory's previous ones. Publishing it (`publiee`)
gives it an effective date and freezes it: from then on it is never changed nor deleted, so a
score computed yesterday can always be explained with the text that produced it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import tracer
from api.auth import Appelant
from api.models import Run, Territoire, VersionRegles, maintenant
from api.problems import Probleme
from rules.chargement import charger_grille, lire_yaml
from rules.grille import Grille
from rules.politique import Politique, charger_politique

NOMS = {"grille": "grille", "politique": "politique"}  # genre -> French word used in messages


def version_en_vigueur(s: Session, territoire_id: int, genre: str, jour: date) -> VersionRegles | None:
    """The published version of `genre` in force on `jour`: latest effective date, then highest number."""
    return s.scalar(
        select(VersionRegles)
        .where(VersionRegles.territoire_id == territoire_id, VersionRegles.genre == genre,
               VersionRegles.statut == "publiee", VersionRegles.date_effet <= jour)
        .order_by(VersionRegles.date_effet.desc(), VersionRegles.version.desc())
        .limit(1)
    )


def charger_document(genre: str, texte: str, source: str) -> Grille | Politique:
    """Validate a YAML document of `genre`; ErreurRegles (answered 422 with lines) on any problem."""
    if genre == "grille":
        return charger_grille(source, texte=texte)
    if genre == "politique":
        return charger_politique(source, texte=texte)
    raise ValueError(genre)


def libelle_document(document: Grille | Politique) -> str:
    """The document's own territory and version, as the listing shows them."""
    meta = document.grille if isinstance(document, Grille) else document.politique
    return re.sub(r"[\x00-\x1f]", " ", f"{meta.territoire} — {meta.version}")[:300]


def empreinte_texte(texte: str) -> str:
    """A short digest of a version's text: with its id, a cache key that survives id reuse."""
    return hashlib.sha256(texte.encode()).hexdigest()[:16]


def version(s: Session, territoire: Territoire, genre: str, numero: int) -> VersionRegles:
    """Version `numero` of the territory's `genre`, or 404."""
    row = s.scalar(select(VersionRegles).where(
        VersionRegles.territoire_id == territoire.id, VersionRegles.genre == genre, VersionRegles.version == numero))
    if row is None:
        raise Probleme(404, f"{NOMS[genre]} version {numero} inconnue pour le territoire {territoire.code}")
    return row


def creer_brouillon(s: Session, territoire: Territoire, genre: str, texte: str, auteur: Appelant) -> VersionRegles:
    """Validate and store a new draft, numbered after the territory's highest version of `genre`."""
    source = f"{NOMS[genre]} envoyée"
    document = charger_document(genre, texte, source)
    if isinstance(document, Grille):
        _verifier_epci(document, territoire, texte, source)
    numero = (s.scalar(select(func.max(VersionRegles.version)).where(
        VersionRegles.territoire_id == territoire.id, VersionRegles.genre == genre)) or 0) + 1
    row = VersionRegles(territoire_id=territoire.id, genre=genre, version=numero, statut="brouillon", texte=texte,
                        libelle=libelle_document(document), auteur_id=auteur.organisation_id)
    s.add(row)
    try:
        s.flush()
    except IntegrityError:  # another upload took this number at the same moment
        s.rollback()
        raise Probleme(409, f"une autre version de {NOMS[genre]} vient d'être enregistrée en même temps : "
                            "renvoyez le document") from None
    tracer(s, auteur, f"depot_{genre}", f"territoire {territoire.code} {genre} {numero}", version=numero)
    return row


def _verifier_epci(grille: Grille, territoire: Territoire, texte: str, source: str) -> None:
    """A grid naming another EPCI in its metadata is not this territory's grid."""
    code = grille.grille.code_epci
    if code is None or code == territoire.code:
        return
    line = lire_yaml(texte, source).keys.get(("grille", "code_epci"))
    raise Probleme(422, "la grille est celle d'un autre territoire : elle n'a pas été enregistrée", [{
        "ligne": line, "champ": "grille.code_epci", "critere": None,
        "message": f"code EPCI {code} différent de celui du territoire ({territoire.code}) : "
                   "corrigez grille.code_epci ou envoyez la grille au bon territoire",
    }])


def supprimer_brouillon(s: Session, territoire: Territoire, row: VersionRegles, auteur: Appelant) -> None:
    """Delete a draft; a published version is immutable (409)."""
    if row.statut != "brouillon":
        raise Probleme(409, f"la {NOMS[row.genre]} version {row.version} est publiée : une version publiée ne "
                            "peut être ni modifiée ni supprimée")
    used = s.scalar(select(func.count()).select_from(Run).where(
        (Run.grille_id == row.id) | (Run.politique_id == row.id))) or 0
    if used:
        raise Probleme(409, f"la {NOMS[row.genre]} version {row.version} est utilisée par {used} calcul(s) de "
                            "propositions : elle ne peut pas être supprimée")
    s.delete(row)
    tracer(s, auteur, f"suppression_{row.genre}", f"territoire {territoire.code} {row.genre} {row.version}",
           version=row.version)


def publier(s: Session, territoire: Territoire, row: VersionRegles, date_effet: date, auteur: Appelant) -> None:
    """Publish a draft from `date_effet` on; publication is final (409 if already published).

    The document's own validity must cover `date_effet`, and versions are published in order
    of their effective dates, so the history of what was in force is never rewritten below a
    version already published.
    """
    nom = NOMS[row.genre]
    if row.statut != "brouillon":
        raise Probleme(409, f"la {nom} version {row.version} est déjà publiée (effet au "
                            f"{_jj_mm_aaaa(row.date_effet)}) : une version publiée est immuable")
    document = charger_document(row.genre, row.texte, f"{nom} version {row.version}")
    if not document.applicable_a(date_effet):
        meta: Any = document.grille if isinstance(document, Grille) else document.politique
        fin = f"au {_jj_mm_aaaa(meta.valide_au)}" if meta.valide_au else "sans date de fin"
        raise Probleme(422, f"la {nom} version {row.version} n'est pas valide le {_jj_mm_aaaa(date_effet)} d'après "
                            f"ses propres dates (valide du {_jj_mm_aaaa(meta.valide_du)} {fin}) : choisissez une "
                            "date d'effet dans cette période ou corrigez le document", [{
                                "champ": "date_effet", "message": "date hors de la période de validité du document"}])
    latest = s.scalar(select(func.max(VersionRegles.date_effet)).where(
        VersionRegles.territoire_id == territoire.id, VersionRegles.genre == row.genre,
        VersionRegles.statut == "publiee"))
    if latest is not None and date_effet < latest:
        raise Probleme(422, f"une {nom} publiée prend déjà effet le {_jj_mm_aaaa(latest)} : la date d'effet d'une "
                            "nouvelle version ne peut pas être antérieure (l'historique des versions en vigueur "
                            "ne se réécrit pas)", [{"champ": "date_effet", "message": "date d'effet trop ancienne"}])
    done = s.execute(
        update(VersionRegles).where(VersionRegles.id == row.id, VersionRegles.statut == "brouillon")
        .values(statut="publiee", date_effet=date_effet, publiee_le=maintenant())
    ).rowcount
    if not done:  # published by a concurrent request in the meantime
        raise Probleme(409, f"la {nom} version {row.version} vient d'être publiée par une autre requête")
    tracer(s, auteur, f"publication_{row.genre}", f"territoire {territoire.code} {row.genre} {row.version}",
           version=row.version, date_effet=date_effet.isoformat())
    s.refresh(row)


def _jj_mm_aaaa(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "—"
