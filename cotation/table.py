"""Batch import of applications: CSV or Parquet in, a typed, validated DataFrame out.

Every column is parsed as a vector; every bad cell is reported with its line, column and
registration number, in French, and a file with any error is rejected whole (nothing is
half-imported). The per-column rules come from the JSON schema of the `Demande` record, so
the record and the table accept exactly the same values.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cotation.demande import LIST_COLUMNS, Demande, colonnes_table
from rules.vocabulaire import ISSUES_PROPOSITION, SITUATIONS_LOGEMENT

MAX_SHOWN = 200
TRUE = {"true", "vrai", "oui", "o", "1", "yes", "y", "x"}
FALSE = {"false", "faux", "non", "n", "0", "no", ""}


@dataclass(frozen=True)
class ErreurLigne:
    ligne: int | None
    colonne: str | None
    message: str
    numero_unique: str | None = None  # the row's key: registration number, or unit identifier
    entite: str = "demande"

    def __str__(self) -> str:
        where = []
        if self.ligne is not None:
            where.append(f"ligne {self.ligne}")
        if self.numero_unique:
            where.append(f"{self.entite} {self.numero_unique}")
        if self.colonne:
            where.append(f"colonne « {self.colonne} »")
        return f"{', '.join(where)} : {self.message}" if where else self.message


class ErreurDonnees(ValueError):
    """A data file rejected whole; `erreurs` lists every problem found (up to MAX_SHOWN shown)."""

    def __init__(self, fichier: str, erreurs: list[ErreurLigne], total: int | None = None):
        self.fichier, self.erreurs = fichier, erreurs
        self.total = total if total is not None else len(erreurs)
        lines = [f"{fichier} : {self.total} erreur(s), aucune ligne importée."]
        lines += [f"  - {e}" for e in erreurs[:MAX_SHOWN]]
        if self.total > MAX_SHOWN:
            lines.append(f"  ... et {self.total - MAX_SHOWN} autre(s)")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Colonne:
    """What one record field accepts, read from the record's JSON schema."""

    nom: str
    genre: str  # texte, date, entier, decimal, booleen, choix, liste_choix, liste_texte, propositions
    obligatoire: bool
    defaut: Any = None
    minimum: float | None = None
    maximum: float | None = None
    strict_min: bool = False
    motif: str | None = None
    valeurs: tuple[str, ...] = ()


@cache
def colonnes_demande() -> tuple[Colonne, ...]:
    return tuple(spec_depuis_modele(Demande))


def spec_depuis_modele(model) -> list[Colonne]:
    """Column rules for each field of a flat pydantic model."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema["properties"].items():
        variants = prop.get("anyOf", [prop])
        main = next((v for v in variants if v.get("type") != "null"), variants[0])
        field = model.model_fields[name]
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        out.append(_colonne(name, main, name in required, default))
    return out


def _colonne(name: str, p: dict, required: bool, default: Any) -> Colonne:
    common = dict(nom=name, obligatoire=required, defaut=default)
    if "enum" in p or "const" in p:
        return Colonne(genre="choix", valeurs=tuple(p.get("enum", [p.get("const")])), **common)
    kind = p.get("type")
    if kind == "array":
        items = p.get("items", {})
        if "enum" in items:
            return Colonne(genre="liste_choix", valeurs=tuple(items["enum"]), **common)
        if "$ref" in items:
            return Colonne(genre="propositions", **common)
        return Colonne(genre="liste_texte", motif=items.get("pattern"), **common)
    if kind == "string" and p.get("format") == "date":
        return Colonne(genre="date", **common)
    if kind == "string":
        return Colonne(genre="texte", motif=p.get("pattern"), **common)
    if kind == "boolean":
        return Colonne(genre="booleen", **common)
    bounds = dict(
        minimum=p.get("minimum", p.get("exclusiveMinimum")),
        maximum=p.get("maximum", p.get("exclusiveMaximum")),
        strict_min="exclusiveMinimum" in p,
    )
    return Colonne(genre="entier" if kind == "integer" else "decimal", **bounds, **common)


# Reading ---------------------------------------------------------------------------------------


def lire_demandes(chemin: str | Path, separateur: str = ",") -> pd.DataFrame:
    """Read a CSV or Parquet file of applications, validated, or raise ErreurDonnees."""
    chemin = Path(chemin)
    raw = lire_brut(chemin, separateur)
    return typer_demandes(raw, str(chemin), premiere_ligne=2 if chemin.suffix.lower() != ".parquet" else 1)


def lire_brut(chemin: Path, separateur: str = ",") -> pd.DataFrame:
    """Any tabular file as a frame of stripped strings ('' for missing)."""
    name = str(chemin)
    if not chemin.exists():
        raise ErreurDonnees(name, [ErreurLigne(None, None, "fichier introuvable")])
    suffix = chemin.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(chemin)
            return _as_strings(frame)
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(chemin, sep=separateur, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
            return frame.apply(lambda s: s.str.strip())
    except UnicodeDecodeError:
        raise ErreurDonnees(name, [ErreurLigne(None, None, "le fichier doit être encodé en UTF-8")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise ErreurDonnees(name, [ErreurLigne(None, None, f"fichier illisible : {exc}")]) from None
    raise ErreurDonnees(name, [ErreurLigne(None, None, "format non reconnu : .csv ou .parquet attendu")])


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            text = s.map({True: "true", False: "false"})
        else:
            text = s.astype(object).map(lambda v: v.isoformat() if isinstance(v, date) else v)
            text = text.astype(str)
        out[str(name)] = text.where(s.notna(), "").astype(str).str.strip()
    return pd.DataFrame(out, index=frame.index)


# Typing ----------------------------------------------------------------------------------------


class _Errors:
    """Collects errors as vectors (row mask + message) and renders them once."""

    def __init__(self, raw: pd.DataFrame, first_line: int, cle: str = "numero_unique", entite: str = "demande"):
        self.rows = np.arange(len(raw)) + first_line
        ids = raw[cle] if cle in raw else pd.Series([""] * len(raw))
        self.ids = ids.to_numpy(dtype=object)
        self.entite = entite
        self.items: list[tuple[int, int | None, str | None, str]] = []  # (sort, line, column, msg)
        self.total = 0

    def file(self, message: str, colonne: str | None = None) -> None:
        self.items.append((-1, None, colonne, message))
        self.total += 1

    def cells(self, mask: np.ndarray, colonne: str, message, values: pd.Series | None = None) -> None:
        where = np.flatnonzero(mask)
        self.total += len(where)
        for i in where[:MAX_SHOWN]:
            text = message if values is None else f"{message}, reçu « {values.iloc[i]} »"
            self.items.append((int(i), int(self.rows[i]), colonne, text))

    def raise_if_any(self, fichier: str) -> None:
        if self.total:
            self.items.sort(key=lambda t: (t[0], t[2] or ""))
            errors = [
                ErreurLigne(line, col, msg, self.ids[i] or None if i >= 0 else None, self.entite)
                for i, line, col, msg in self.items
            ]
            raise ErreurDonnees(fichier, errors, self.total)


def parser_colonnes(raw: pd.DataFrame, spec, errors: _Errors, fichier: str) -> dict[str, Any]:
    """Check the header (unknown and missing columns), then parse every column as a vector."""
    known = {c.nom for c in spec}
    for name in raw.columns:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.7)
            hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
            errors.file(f"colonne inconnue{hint}", str(name))
    for col in spec:
        if col.obligatoire and col.nom not in raw.columns:
            errors.file("colonne obligatoire manquante", col.nom)
    if errors.total:
        errors.raise_if_any(fichier)
    n = len(raw)
    out: dict[str, Any] = {}
    for col in spec:
        text = raw[col.nom].astype(str) if col.nom in raw.columns else pd.Series([""] * n, dtype=object)
        out.update(_parse(col, text, errors))
    return out


def typer_demandes(raw: pd.DataFrame, fichier: str = "demandes", premiere_ligne: int = 2) -> pd.DataFrame:
    """Validate a frame of strings and return the typed application table."""
    raw = raw.reset_index(drop=True)
    errors = _Errors(raw, premiere_ligne)
    out = parser_colonnes(raw, colonnes_demande(), errors, fichier)
    _check_rows(out, raw, errors)
    errors.raise_if_any(fichier)
    table = pd.DataFrame(out, columns=colonnes_table())
    return table


def _parse(col: Colonne, text: pd.Series, errors: _Errors) -> dict[str, Any]:
    empty = (text == "").to_numpy()
    if col.obligatoire:
        errors.cells(empty, col.nom, "valeur obligatoire manquante")
    g = col.genre
    if g == "texte":
        values = text.to_numpy(dtype=object)
        if col.motif:
            bad = ~empty & ~text.str.fullmatch(col.motif).fillna(False).to_numpy(dtype=bool)
            errors.cells(bad, col.nom, "format invalide", text)
        values = np.where(empty, None, values) if not col.obligatoire else values
        return {col.nom: values}
    if g == "date":
        parsed = _dates(text)
        bad = ~empty & parsed.isna().to_numpy()
        errors.cells(bad, col.nom, "date invalide (AAAA-MM-JJ ou JJ/MM/AAAA attendu)", text)
        return {col.nom: parsed.to_numpy(dtype="datetime64[s]")}
    if g in ("entier", "decimal"):
        number = pd.to_numeric(text.str.replace(",", ".", regex=False).str.replace(" ", "", regex=False),
                               errors="coerce").to_numpy(dtype=float)
        bad = ~empty & ~np.isfinite(number)
        errors.cells(bad, col.nom, "nombre attendu", text)
        ok = ~empty & ~bad
        if g == "entier":
            frac = ok & (number != np.round(number))
            errors.cells(frac, col.nom, "nombre entier attendu", text)
        if col.minimum is not None:
            low = ok & ((number <= col.minimum) if col.strict_min else (number < col.minimum))
            sign = ">" if col.strict_min else "≥"
            what = "négative refusée" if col.minimum == 0 and not col.strict_min else "hors limites"
            errors.cells(low, col.nom, f"valeur {what} (doit être {sign} {_num(col.minimum)})", text)
        if col.maximum is not None:
            too_big = ok & (number > col.maximum)
            errors.cells(too_big, col.nom, f"valeur trop grande (maximum {_num(col.maximum)})", text)
        if empty.any() and not col.obligatoire and col.defaut is not None:
            number = np.where(empty, float(col.defaut), number)
        if g == "entier" and (col.obligatoire or col.defaut is not None):
            return {col.nom: np.nan_to_num(number).astype(np.int16)}
        return {col.nom: number}
    if g == "booleen":
        low = text.str.lower()
        truth = low.isin(TRUE).to_numpy()
        bad = ~truth & ~low.isin(FALSE).to_numpy()
        errors.cells(bad, col.nom, "oui/non attendu", text)
        return {col.nom: truth}
    if g == "choix":
        bad = ~empty & ~text.isin(col.valeurs).to_numpy()
        errors.cells(bad, col.nom, f"valeur inconnue ; valeurs possibles : {', '.join(col.valeurs)}", text)
        return {col.nom: pd.Categorical(text.where(~bad & ~empty, None), categories=list(col.valeurs))}
    if g == "liste_choix":
        prefix, values = LIST_COLUMNS[col.nom]
        items = _explode(text)
        unknown = ~items.isin(values)
        if unknown.any():
            mask = np.zeros(len(text), dtype=bool)
            mask[items.index[unknown.to_numpy()].unique()] = True
            message = f"valeur inconnue dans la liste ; valeurs possibles : {', '.join(values)}"
            errors.cells(mask, col.nom, message, text)
        cols = {}
        for v in values:
            flag = np.zeros(len(text), dtype=bool)
            flag[items.index[(items == v).to_numpy()]] = True
            cols[prefix + v] = flag
        return cols
    if g == "liste_texte":
        items = _explode(text)
        if col.motif is not None:
            bad_items = ~items.str.fullmatch(col.motif).fillna(False)
            if bad_items.any():
                mask = np.zeros(len(text), dtype=bool)
                mask[items.index[bad_items.to_numpy()].unique()] = True
                message = "code invalide dans la liste (codes INSEE à 5 caractères séparés par ;)"
                errors.cells(mask, col.nom, message, text)
        return {col.nom: _canonical_list(text)}
    if g == "propositions":
        items = _explode(text)
        parts = items.str.split(":", n=1, expand=True) if len(items) else pd.DataFrame({0: [], 1: []})
        if len(items) and parts.shape[1] == 1:
            parts[1] = None
        when = _dates(parts[0].fillna("")) if len(items) else pd.Series([], dtype="datetime64[s]")
        issue = parts[1].fillna("") if len(items) else pd.Series([], dtype=object)
        bad = when.isna().to_numpy() | ~issue.isin(tuple(ISSUES_PROPOSITION)).to_numpy()
        if bad.any():
            mask = np.zeros(len(text), dtype=bool)
            mask[items.index[bad].unique()] = True
            errors.cells(mask, col.nom, "propositions attendues sous la forme AAAA-MM-JJ:issue;... (issue : "
                         + ", ".join(ISSUES_PROPOSITION) + ")", text)
        return {col.nom: _canonical_list(text)}
    raise AssertionError(g)


def _dates(text: pd.Series) -> pd.Series:
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    if iso.isna().any():
        fr = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
        iso = iso.fillna(fr)
    return iso


def _explode(text: pd.Series) -> pd.Series:
    """Non-empty ';'-separated items, indexed by their row."""
    filled = text[text != ""]
    if filled.empty:
        return pd.Series([], dtype=object)
    items = filled.str.split(";").explode().str.strip()
    return items[items != ""]


def _canonical_list(text: pd.Series) -> np.ndarray:
    return text.str.replace(r"\s*;\s*", ";", regex=True).str.strip(";").to_numpy(dtype=object)


def _num(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def _check_rows(out: dict[str, Any], raw: pd.DataFrame, errors: _Errors) -> None:
    """Cross-column rules, as vectors; same rules as `demande.incoherences`."""
    ids = pd.Series(out["numero_unique"], dtype=object)
    dup = ids.duplicated(keep=False).to_numpy() & (ids != "").to_numpy()
    errors.cells(dup, "numero_unique", "numéro unique en double dans le fichier", ids)
    depot, renew = out["date_depot"], out["date_renouvellement"]
    errors.cells(~np.isnat(renew) & ~np.isnat(depot) & (renew < depot), "date_renouvellement",
                 "date_renouvellement antérieure à date_depot")
    size = sum(np.asarray(out[k], dtype=float) for k in (
        "nb_adultes", "nb_enfants_moins_14", "nb_enfants_14_plus", "nb_autres_personnes_a_charge"))
    errors.cells(np.asarray(out["nb_personnes_handicapees"], float) > size, "nb_personnes_handicapees",
                 "nb_personnes_handicapees supérieur au nombre de personnes au foyer")
    errors.cells(out["couple"] & (np.asarray(out["nb_adultes"], float) < 2), "couple",
                 "couple = oui demande au moins 2 adultes")
    rent, aid = np.asarray(out["loyer_actuel"], float), np.asarray(out["aide_logement"], float)
    errors.cells(~np.isnan(rent) & (aid > rent), "aide_logement", "aide_logement supérieure au loyer_actuel")


# Table -> file (the inverse of typer_demandes) ---------------------------------------------


def en_texte(table: pd.DataFrame) -> pd.DataFrame:
    """Any typed frame as the strings a CSV holds: ISO dates, true/false, '' for missing values.

    Floats holding whole numbers are written without a decimal part; others use the shortest
    representation that reads back to the same float, so a round trip is exact.
    """
    out = {}
    for name in table.columns:
        s = table[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = _dates_iso(s.to_numpy().astype("datetime64[D]"))
        elif pd.api.types.is_bool_dtype(s):
            text = np.array(["false", "true"], dtype=object)[s.to_numpy().astype(np.int8)]
        elif pd.api.types.is_float_dtype(s):
            v = s.to_numpy()
            finite = np.isfinite(v)
            # whole numbers are written without ".0", within int64's exact range only
            if np.array_equal(v[finite], np.round(v[finite])) and not (np.abs(v[finite]) >= 2.0**53).any():
                text = np.where(finite, np.where(finite, v, 0).astype(np.int64).astype(str), "")
            else:
                text = np.where(finite, v.astype(str), "")
        elif pd.api.types.is_integer_dtype(s):
            text = s.to_numpy().astype(str)
        else:
            text = s.astype(object).where(s.notna(), "").to_numpy()
        out[name] = np.asarray(text, dtype=object)
    return pd.DataFrame(out, index=table.index, dtype=object)  # object: no costly Arrow conversion


def _dates_iso(days: np.ndarray) -> np.ndarray:
    """ISO strings, '' for NaT; each calendar day in the column's range is formatted once."""
    out = np.full(len(days), "", dtype=object)
    valid = ~np.isnat(days)
    if valid.any():
        offsets = days[valid].view(np.int64)
        lo = offsets.min()
        calendar = np.arange(lo, offsets.max() + 1).astype("datetime64[D]")
        out[valid] = np.datetime_as_string(calendar, unit="D").astype(object)[offsets - lo]
    return out


def forme_fichier(demandes: pd.DataFrame) -> pd.DataFrame:
    """The application table in file form: one column per `Demande` field, in the record's order.

    The table spreads list fields into boolean columns (`motif_<code>`...); a file holds them as
    ';'-joined codes, which is what `cotation.table.typer_demandes` expects. Scalars keep their
    dtypes (Parquet stores them typed); `en_texte` of the result gives the CSV cells.
    """
    out = {}
    for name in Demande.model_fields:
        if name in LIST_COLUMNS:
            prefix, values = LIST_COLUMNS[name]
            flags = demandes[[prefix + v for v in values]].to_numpy(dtype=np.int64)
            code = flags @ (np.int64(1) << np.arange(len(values), dtype=np.int64))
            uniq, inverse = np.unique(code, return_inverse=True)
            texts = [";".join(v for j, v in enumerate(values) if k >> j & 1) for k in uniq.tolist()]
            out[name] = np.array(texts, dtype=object)[inverse]  # one join per distinct combination
        else:
            out[name] = demandes[name]
    return pd.DataFrame(out, index=demandes.index)


def demandes_en_texte(demandes: pd.DataFrame) -> pd.DataFrame:
    """The application table as the CSV cells `ecrire_territoire` writes (file form, strings)."""
    return en_texte(forme_fichier(demandes))


def ecrire_demandes(table: pd.DataFrame, chemin: str | Path) -> Path:
    """Write the application table as a file `lire_demandes` reads back identically (.csv or .parquet)."""
    chemin = Path(chemin)
    chemin.parent.mkdir(parents=True, exist_ok=True)
    if chemin.suffix.lower() == ".parquet":
        forme_fichier(table).to_parquet(chemin, index=False)
    else:
        demandes_en_texte(table).to_csv(chemin, index=False)
    return chemin


# Records <-> table -----------------------------------------------------------------------------


def table_depuis_demandes(demandes: list[Demande]) -> pd.DataFrame:
    """The batch table of already-validated records (same conversion as a file)."""
    rows = [_to_strings(d) for d in demandes]
    raw = pd.DataFrame(rows, columns=list(Demande.model_fields), dtype=object).fillna("")
    return typer_demandes(raw, "demandes", premiere_ligne=1)


def table_une_demande(d: Demande) -> pd.DataFrame:
    """The typed one-row table of a validated record, as `table_depuis_demandes([d])` builds it, ten times faster.

    The record is already valid, so the file path's string round trip and per-column checks
    (tens of milliseconds of pandas overhead for one row) are skipped; the column rules are the
    same `colonnes_demande()` specs, and a test checks the two tables are equal.
    """
    out: dict[str, Any] = {}
    for col in colonnes_demande():
        value, kind = getattr(d, col.nom), col.genre
        if kind == "texte":
            out[col.nom] = np.array([value], dtype=object)
        elif kind == "date":
            out[col.nom] = np.array([np.datetime64("NaT") if value is None else np.datetime64(value, "D")],
                                    dtype="datetime64[s]")
        elif kind == "entier" and (col.obligatoire or col.defaut is not None):
            out[col.nom] = np.array([value], dtype=np.int16)
        elif kind in ("entier", "decimal"):
            out[col.nom] = np.array([np.nan if value is None else value], dtype=np.float64)
        elif kind == "booleen":
            out[col.nom] = np.array([bool(value)])
        elif kind == "choix":
            out[col.nom] = pd.Categorical([value], categories=list(col.valeurs))
        elif kind == "liste_choix":
            prefix, values = LIST_COLUMNS[col.nom]
            out.update({prefix + x: np.array([x in value]) for x in values})
        elif kind == "liste_texte":
            out[col.nom] = np.array([";".join(value)], dtype=object)
        elif kind == "propositions":
            out[col.nom] = np.array([";".join(f"{p.date.isoformat()}:{p.issue}" for p in value)], dtype=object)
        else:
            raise AssertionError(kind)
    return pd.DataFrame(out, columns=colonnes_table())


def _to_strings(d: Demande) -> dict[str, str]:
    out = {}
    for name, value in d.model_dump().items():
        if value is None:
            out[name] = ""
        elif name == "propositions":
            out[name] = ";".join(f"{p['date'].isoformat()}:{p['issue']}" for p in value)
        elif isinstance(value, list):
            out[name] = ";".join(value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, date):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


def demandes_depuis_table(table: pd.DataFrame) -> list[Demande]:
    """Records from rows of the batch table (for explanations and the API, not for hot paths)."""
    out = []
    fields = Demande.model_fields
    for row in table.to_dict("records"):
        data: dict[str, Any] = {}
        for name in fields:
            if name in LIST_COLUMNS:
                prefix, values = LIST_COLUMNS[name]
                data[name] = [v for v in values if row[prefix + v]]
            elif name == "propositions":
                items = [x for x in str(row[name] or "").split(";") if x]
                data[name] = [dict(zip(("date", "issue"), x.split(":", 1), strict=True)) for x in items]
            elif name == "communes_souhaitees":
                data[name] = [x for x in str(row[name] or "").split(";") if x]
            else:
                value = row[name]
                if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
                    continue
                if isinstance(value, pd.Timestamp):
                    value = value.date()
                elif isinstance(value, np.generic):
                    value = value.item()
                if name in ("pieces_actuelles",) and isinstance(value, float):
                    value = int(value)
                data[name] = value
        out.append(Demande.model_validate(data))
    return out


__all__ = [
    "ErreurDonnees", "ErreurLigne", "lire_demandes", "typer_demandes", "table_depuis_demandes",
    "demandes_depuis_table", "colonnes_demande", "SITUATIONS_LOGEMENT",
]
