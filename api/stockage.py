"""Applications and units in the database: bulk import (all-or-nothing, upsert) and loading as tables.

A request body (JSON list of records, or CSV) becomes a frame of strings, is validated by the
same vectorized code as a file (`typer_demandes`, `typer_logements`: every error listed, with its
line, field and identifier), and is then written in its file form, one JSON object per row. Loading
reverses it: rows -> frame of strings -> typed table, so the database holds nothing the file
path would not accept.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pandas as pd
from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.models import Demande, Logement, Territoire, maintenant
from cotation.demande import Demande as FicheDemande
from cotation.table import ErreurDonnees, ErreurLigne, demandes_en_texte, en_texte, typer_demandes
from matching.logement import colonnes_logement, typer_logements

LOT_ECRITURE = 5000  # rows per INSERT statement


def brut_depuis_corps(corps: bytes, type_contenu: str, cle: str, source: str) -> tuple[pd.DataFrame, int]:
    """A request body as a frame of stripped strings, and the number of its first row for messages.

    JSON: a list of records (or {"elements": [...]}); list fields as JSON lists, past proposals
    as {"date", "issue"} objects. CSV: the file format of `cotation genere` (header line 1).
    """
    media = type_contenu.split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        try:
            text = corps.decode("utf-8-sig")
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except UnicodeDecodeError:
            raise ErreurDonnees(source, [ErreurLigne(None, None, "le CSV doit être encodé en UTF-8")]) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise ErreurDonnees(source, [ErreurLigne(None, None, f"CSV illisible : {exc}")]) from None
        return frame.apply(lambda s: s.str.strip()), 2
    if media != "application/json":
        raise ErreurDonnees(source, [ErreurLigne(None, None, f"type de contenu « {media} » non pris en charge : "
                                                 "envoyez application/json ou text/csv")])
    try:
        items = json.loads(corps)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ErreurDonnees(source, [ErreurLigne(None, None, f"JSON mal formé : {exc}")]) from None
    if isinstance(items, dict) and isinstance(items.get("elements"), list):
        items = items["elements"]
    if not isinstance(items, list):
        raise ErreurDonnees(source, [ErreurLigne(None, None, "une liste d'objets est attendue")])
    errors = [ErreurLigne(i, None, "un objet JSON est attendu", entite="élément")
              for i, x in enumerate(items, start=1) if not isinstance(x, dict)]
    if errors:
        raise ErreurDonnees(source, errors)
    rows = [{k: _cellule(k, v) for k, v in x.items()} for x in items]
    columns = list(dict.fromkeys(k for row in rows for k in row)) or [cle]
    return pd.DataFrame(rows, columns=columns, dtype=object).fillna("").astype(str), 1


def _cellule(name: str, value: Any) -> str:
    """One JSON value as the CSV cell the file format holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name == "propositions" and isinstance(value, list):
        return ";".join(f"{p.get('date', '')}:{p.get('issue', '')}" if isinstance(p, dict) else str(p) for p in value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)  # rejected by the column's parser with its own message
    return str(value).strip()


def _upsert(s: Session, model, keys: list[str], rows: list[dict[str, Any]], updated: list[str],
            computed: dict[str, Any] | None = None) -> None:
    """INSERT ... ON CONFLICT DO UPDATE, as one executemany (batched by the driver).

    `updated` columns take the sent value; `computed` ones an expression on the stored row.
    """
    dialect = s.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stmt = insert(model.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={**{c: stmt.excluded[c] for c in updated}, **(computed or {})})
    connection = s.connection()
    for start in range(0, len(rows), LOT_ECRITURE):
        connection.execute(stmt, rows[start:start + LOT_ECRITURE])


def importer_demandes(s: Session, territoire: Territoire, raw: pd.DataFrame, premiere_ligne: int,
                      source: str) -> dict[str, int]:
    """Validate and upsert applications by registration number; nothing is written on any error."""
    table = typer_demandes(raw, source, premiere_ligne)
    wrong = table["epci"].astype(str) != territoire.code
    if wrong.any():
        errors = [ErreurLigne(int(i) + premiere_ligne, "epci", f"demande de l'EPCI {e}, pas du territoire "
                              f"{territoire.code} : envoyez-la au bon territoire", n)
                  for i, e, n in zip(table.index[wrong][:200], table["epci"][wrong][:200],
                                     table["numero_unique"][wrong][:200], strict=True)]
        raise ErreurDonnees(source, errors, int(wrong.sum()))
    text = demandes_en_texte(table)
    numbers = text["numero_unique"].tolist()
    stored = dict(s.execute(select(Demande.numero_unique, Demande.donnees).where(
        Demande.territoire_id == territoire.id, Demande.numero_unique.in_(numbers))).all())
    existing = set(stored)
    if stored:  # refusals the service recorded survive a re-import of an older export
        history = text["propositions"].tolist()
        for i, n in enumerate(numbers):
            if n in stored:
                history[i] = fusionner_historique(history[i], json.loads(stored[n]).get("propositions") or "")
        text = text.assign(propositions=history)
    records = _json_lignes(text)
    now = maintenant()
    rows = [{"territoire_id": territoire.id, "numero_unique": n, "statut": "active", "donnees": r, "modifiee_le": now}
            for n, r in zip(numbers, records, strict=True)]
    _upsert(s, Demande, ["territoire_id", "numero_unique"], rows, ["donnees", "modifiee_le"])
    s.execute(update(Territoire).where(Territoire.id == territoire.id)
              .values(revision_demandes=Territoire.revision_demandes + 1))
    return {"recues": len(rows), "creees": len(rows) - len(existing), "mises_a_jour": len(existing)}


def fusionner_historique(importe: str, enregistre: str) -> str:
    """An application's past proposals ('AAAA-MM-JJ:issue;...'): the imported ones and the stored ones.

    Each event is kept as many times as the side that has it most often (two refusals on one day
    stay two), in date order: a re-import adds events and never drops one, such as a refusal
    recorded by the service after the export the import comes from.
    """
    events = Counter(x for x in importe.split(";") if x) | Counter(x for x in enregistre.split(";") if x)
    return ";".join(sorted(events.elements(), key=lambda e: e.split(":", 1)[0]))


def table_demandes(s: Session, territoire_id: int, statuts: tuple[str, ...] = ("active",),
                   numeros: list[str] | None = None) -> pd.DataFrame:
    """The typed application table of a territory (ordered by registration number)."""
    query = select(Demande.donnees).where(Demande.territoire_id == territoire_id, Demande.statut.in_(statuts))
    if numeros is not None:
        query = query.where(Demande.numero_unique.in_(numeros))
    rows = list(s.scalars(query.order_by(Demande.numero_unique)))
    return typer_demandes(frame_json(rows, list(FicheDemande.model_fields)), "base de données", premiere_ligne=1)


def importer_logements(s: Session, organisation_id: int, bailleur: str, territoires: dict[str, int],
                       raw: pd.DataFrame, premiere_ligne: int, source: str) -> dict[str, int]:
    """Validate and upsert a bailleur's units by identifier; `bailleur` is filled in if absent.

    `territoires` maps the EPCI codes the service knows to their ids: a unit of an unknown EPCI,
    or of another bailleur, rejects the whole batch.
    """
    if "bailleur" not in raw.columns:
        raw = raw.assign(bailleur=bailleur)
    table = typer_logements(raw, source, premiere_ligne)
    errors = []
    for i, row in enumerate(table[["identifiant", "bailleur", "epci"]].itertuples(index=False)):
        if row.bailleur != bailleur:
            errors.append(ErreurLigne(i + premiere_ligne, "bailleur", f"logement du bailleur « {row.bailleur} » : "
                                      f"vous ne pouvez charger que les logements de « {bailleur} »",
                                      row.identifiant, "logement"))
        elif row.epci not in territoires:
            errors.append(ErreurLigne(i + premiere_ligne, "epci", f"territoire {row.epci} inconnu du service",
                                      row.identifiant, "logement"))
    if errors:
        raise ErreurDonnees(source, errors)
    text = en_texte(table)
    ids = text["identifiant"].tolist()
    records = _json_lignes(text)
    existing = dict(s.execute(select(Logement.identifiant, Logement.statut).where(
        Logement.organisation_id == organisation_id, Logement.identifiant.in_(ids))).all())
    now = maintenant()
    rows = [{"organisation_id": organisation_id, "territoire_id": territoires[e], "identifiant": i,
             "statut": "vacant", "donnees": r, "modifie_le": now}
            for i, e, r in zip(ids, text["epci"].tolist(), records, strict=True)]
    # a let unit sent again is a new vacancy; one proposed or attributed stays in its CAL process
    current = Logement.__table__.c.statut
    _upsert(s, Logement, ["organisation_id", "identifiant"], rows, ["donnees", "territoire_id", "modifie_le"],
            {"statut": case((current == "loue", "vacant"), else_=current)})
    return {"recus": len(rows), "crees": len(rows) - len(existing), "mis_a_jour": len(existing),
            "remis_vacants": sum(1 for x in existing.values() if x == "loue")}


def table_logements(rows: list[Logement]) -> pd.DataFrame:
    """The typed unit table of stored units, in the given order."""
    raw = frame_json([r.donnees for r in rows], colonnes_logement())
    return typer_logements(raw, "base de données", premiere_ligne=1)


def _json_lignes(text: pd.DataFrame) -> list[str]:
    """Each row of a frame of strings as a JSON object (the stored form)."""
    columns = list(text.columns)
    return [json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False)
            for values in text.to_numpy().tolist()]


def frame_json(rows: list[str], columns: list[str]) -> pd.DataFrame:
    """Stored JSON rows back to a frame of strings, decoded in one call."""
    records = json.loads("[" + ",".join(rows) + "]")
    return pd.DataFrame.from_records(records, columns=columns).fillna("").astype(object)
