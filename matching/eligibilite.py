"""Which active applications may be proposed for each vacant unit, computed as vectors.

For a unit and an application active at the CAL date (`demande_active`), the pair is eligible
when every step below passes; the steps are applied in this order, and `Candidats.exclusions`
counts, per unit, the active applications each step removes:

1. ``revenus``: the income compared (revenu fiscal de référence N-2, or 12 × monthly income when
   the option says so and the RFR is missing) is at most the ceiling of the unit's financing
   (PLAI, PLUS, PLS, PLI) and zone for the household's category and extra persons, in force on
   the CAL date (`rules.parametres`; a missing ceiling raises `ParametreManquant`, never a guess);
2. ``revenu_inconnu``: no RFR and the option says to exclude;
3. ``contingent``: the application satisfies the expression given for the unit's reservataire;
4. ``taille_sur_occupation``: the unit's surface reaches the R.822-25 minimum for the household
   (persons at home plus expected births when menage.yaml counts them);
5. ``taille_sous_occupation``: rooms at most persons + ``sous_occupation_max`` (L.621-2 reading);
6. ``communes`` / 7. ``typologie``: the unit's commune and typology are among the applicant's
   wishes, when the applicant gave some;
8. ``accessibilite``: an applicant needing an adapted unit only gets adapted units;
9. ``reserve_handicap`` (R.441-4): an adapted unit goes to applicants needing it (besoin
   d'accessibilité or a disabled member) when at least one of them is eligible after steps 1-8;
   otherwise it is open to all, with a note.

The effort rate and the reste à vivre per consumption unit are returned for each eligible pair,
for information only: they never exclude anyone (regles-du-domaine §5.9).

How: every per-application quantity is computed once (ceilings per distinct financing and zone,
persons, wishes as boolean matrices application × commune and application × typology, contingent
masks), restricted to the active applications. Units are then visited sorted by their class
(financing and zone, reservataire, surface class, rooms, commune, typology, adapted), so that a
unit sharing a prefix of that key with the previous one reuses its masks: each step is one numpy
``&`` and one count over the active pool, with no Python loop over applications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cotation.derivees import Contexte
from cotation.expressions import compiler_expression
from matching.logement import RESERVATAIRES, zone_de_commune
from rules.parametres import ParametreManquant, Parametres
from rules.vocabulaire import TYPOLOGIES

__all__ = ["ETAPES", "Candidats", "Eligibilite", "OptionsEligibilite", "candidats", "motifs_inegibilite"]

ETAPES = (
    "revenus",
    "revenu_inconnu",
    "contingent",
    "taille_sur_occupation",
    "taille_sous_occupation",
    "communes",
    "typologie",
    "accessibilite",
    "reserve_handicap",
)
NOTE_OUVERT_A_TOUS = (
    "logement adapté : aucun demandeur ayant besoin d'un logement adapté n'est éligible, "
    "ouvert à tous (art. R.441-4)"
)
NOMS_RESERVATAIRES = {
    "prefet": "préfet",
    "action_logement": "Action Logement",
    "collectivite": "collectivité",
    "bailleur": "bailleur",
    "autre": "autre réservataire",
}
_TYPOLOGIES = tuple(TYPOLOGIES)
_SANS_LIMITE = 1 << 30


@dataclass(frozen=True)
class OptionsEligibilite:
    """How the eligibility steps apply (the lead maps the policy onto these fields)."""

    sous_occupation_max: int = 1  # rooms may exceed persons (incl. expected births) by at most this
    revenu_fiscal_manquant: str = "exclure"  # or "revenus_mensuels" (use 12 × monthly income)
    accessibilite_exigee: bool = True  # applicants with besoin_accessibilite only get adapted units
    adapte_handicap_prioritaire: bool = True  # R.441-4: adapted unit reserved to applicants needing it, if any eligible
    communes_souhaitees: bool = True
    typologies_souhaitees: bool = True
    contingents: dict[str, str] = field(default_factory=dict)  # reservataire -> boolean expression

    def __post_init__(self) -> None:
        if isinstance(self.sous_occupation_max, bool) or not isinstance(self.sous_occupation_max, int | np.integer) \
                or self.sous_occupation_max < 0:
            raise ValueError(f"sous_occupation_max : entier positif ou nul attendu, reçu {self.sous_occupation_max!r}")
        if self.revenu_fiscal_manquant not in ("exclure", "revenus_mensuels"):
            raise ValueError(
                f"revenu_fiscal_manquant : « exclure » ou « revenus_mensuels » attendu, reçu "
                f"« {self.revenu_fiscal_manquant} »"
            )
        unknown = sorted(set(self.contingents) - set(RESERVATAIRES))
        if unknown:
            raise ValueError(
                f"contingents : réservataire(s) inconnu(s) {', '.join(unknown)} ; valeurs possibles : "
                f"{', '.join(RESERVATAIRES)}"
            )


@dataclass(frozen=True)
class Candidats:
    """Eligible (unit, application) pairs in CSR form: the pairs of unit u are debut[u]:debut[u+1]."""

    debut: np.ndarray  # int64, len = n_units + 1
    demande: np.ndarray  # int32 row positions in the application table, ascending within a unit
    exclusions: pd.DataFrame  # one row per unit, one int column per step of ETAPES, plus "eligibles"
    notes: list[list[str]]  # per unit, French notes
    plafond: np.ndarray  # float32 per pair: the ceiling applied (€/an)
    revenu: np.ndarray  # float32 per pair: the income compared (RFR or 12 × monthly)
    taux_effort: np.ndarray  # float32 per pair: (loyer + charges - aide actuelle) / revenus mensuels
    reste_a_vivre_uc: np.ndarray  # float32 per pair: (revenus mensuels - loyer - charges + aide) / UC

    @property
    def n_logements(self) -> int:
        return len(self.debut) - 1

    def de(self, u: int) -> slice:
        """The pair positions of unit u (index `demande`, `plafond`... with it)."""
        return slice(int(self.debut[u]), int(self.debut[u + 1]))


# Units -----------------------------------------------------------------------------------------

_COLONNES_REQUISES = ("commune", "typologie", "pieces", "surface", "loyer", "financement", "reservataire")


@dataclass(frozen=True)
class _Unites:
    identifiant: np.ndarray
    commune: np.ndarray
    zone: np.ndarray
    typologie: np.ndarray  # index into TYPOLOGIES
    pieces: np.ndarray
    surface: np.ndarray
    cout: np.ndarray  # loyer + charges (€/month)
    financement: np.ndarray
    reservataire: np.ndarray
    adapte: np.ndarray


def _unites(logements: pd.DataFrame) -> _Unites:
    missing = [c for c in _COLONNES_REQUISES if c not in logements.columns]
    if missing:
        raise ValueError(f"table des logements : colonne(s) manquante(s) {', '.join(missing)}")
    n = len(logements)
    commune = logements["commune"].astype(str).to_numpy(dtype=object)
    if "zone" in logements.columns:
        zone = pd.to_numeric(logements["zone"], errors="coerce").to_numpy(dtype=float)
        absent = np.isnan(zone)
        if absent.any():
            zone[absent] = zone_de_commune(commune[absent])
    else:
        zone = zone_de_commune(commune).astype(float)
    typologie = logements["typologie"].astype(str).to_numpy(dtype=object)
    bad = ~np.isin(typologie, _TYPOLOGIES)
    if bad.any():
        raise ValueError(f"table des logements : typologie inconnue {sorted(set(typologie[bad]))} (T1 à T6 attendu)")
    charges = logements["charges"].to_numpy(dtype=float) if "charges" in logements.columns else np.zeros(n)
    adapte = (logements["adapte_handicap"].to_numpy(dtype=bool) if "adapte_handicap" in logements.columns
              else np.zeros(n, dtype=bool))
    ids = (logements["identifiant"].astype(str).to_numpy(dtype=object) if "identifiant" in logements.columns
           else np.array([f"n° {k}" for k in range(n)], dtype=object))
    return _Unites(
        identifiant=ids,
        commune=commune,
        zone=zone.astype(np.int64),
        typologie=np.searchsorted(np.array(_TYPOLOGIES, dtype=object), typologie).astype(np.int64),
        pieces=logements["pieces"].to_numpy(dtype=np.int64),
        surface=logements["surface"].to_numpy(dtype=float),
        cout=logements["loyer"].to_numpy(dtype=float) + np.nan_to_num(charges),
        financement=logements["financement"].astype(str).str.strip().str.upper().to_numpy(dtype=object),
        reservataire=logements["reservataire"].astype(str).to_numpy(dtype=object),
        adapte=adapte,
    )


# Engine ----------------------------------------------------------------------------------------


class Eligibilite:
    """Eligibility of a pool of applications for a set of units at a CAL date.

    Building it computes the per-application vectors once; `candidats()` and `motifs(i, j)` then
    reuse them (explanations of many pairs do not recompute the pool).
    """

    def __init__(
        self,
        logements: pd.DataFrame,
        demandes: pd.DataFrame,
        date_cal: date,
        options: OptionsEligibilite | None = None,
        parametres: Parametres | None = None,
    ):
        self.options = options or OptionsEligibilite()
        self.date_cal = date_cal
        self.parametres = parametres or Parametres.charger()
        self.logements = logements
        self.demandes = demandes
        self.unites = _unites(logements)
        self.ctx = Contexte(demandes, date_cal, self.parametres)
        self._compiles = {r: compiler_expression(t, "booleen") for r, t in self.options.contingents.items()}
        self._preparer_demandes()
        self._preparer_classes()

    # -- per application -----------------------------------------------------------------------

    def _preparer_demandes(self) -> None:
        c, o = self.ctx, self.options
        self.active = c["demande_active"].astype(bool)
        act = np.flatnonzero(self.active)
        self.act = act
        self.m = len(act)
        counts_births = self.parametres.menage(self.date_cal)["naissances_attendues_a_charge"]
        births = c["naissances_attendues"] if counts_births else 0
        self.personnes_toutes = np.asarray(c["taille_menage"] + births, dtype=np.int64)
        self.personnes = self.personnes_toutes[act]
        self.categorie = np.asarray(c["categorie_menage"], dtype=np.int64)
        self.supplementaires = np.asarray(c["personnes_supplementaires"], dtype=np.int64)
        rfr = c["revenu_fiscal_reference"]
        monthly = c["revenus_mensuels"]
        if o.revenu_fiscal_manquant == "revenus_mensuels":
            self.revenu_tous = np.where(np.isnan(rfr), 12 * monthly, rfr)
        else:
            self.revenu_tous = np.asarray(rfr, dtype=float)
        self.revenu = self.revenu_tous[act]
        self.revenu_connu = ~np.isnan(self.revenu)
        self.besoin = np.asarray(c["besoin_accessibilite"], dtype=bool)[act]
        self.sans_besoin = ~self.besoin
        self.a_besoin_adapte = (np.asarray(c["besoin_accessibilite"], dtype=bool) | c["handicap"])[act]
        self.mensuels = np.asarray(monthly, dtype=float)[act]
        self.aide = np.asarray(c["aide_logement"], dtype=float)[act]

        # desired communes: the distinct ';'-joined lists are split once each, not once per row
        codes, uniques = pd.factorize(pd.Series(c["communes_souhaitees"][act], dtype=object).fillna(""),
                                      use_na_sentinel=False)
        self._listes_communes = [frozenset(x for x in str(s).split(";") if x) for s in uniques]
        self._code_liste = codes
        self._liste_non_vide = np.array([bool(s) for s in self._listes_communes], dtype=bool)
        typo = np.stack([np.asarray(c[f"typologie_{t}"], dtype=bool)[act] for t in _TYPOLOGIES]) if self.m else \
            np.zeros((len(_TYPOLOGIES), 0), dtype=bool)
        self.typologies = typo
        self._typologie_ok = typo | ~typo.any(axis=0)[None, :]  # (typology, application): wished, or no wish

    # -- per unit class ------------------------------------------------------------------------

    def _preparer_classes(self) -> None:
        u, o = self.unites, self.options
        # income: one ceiling vector per distinct (financement, zone)
        code_fin, fins = pd.factorize(pd.Series(u.financement, dtype=object))
        self.code_fz, combined = pd.factorize(np.asarray(code_fin, dtype=np.int64) * 4 + u.zone)
        self.code_fz = np.asarray(self.code_fz, dtype=np.int64)
        self.classes_fz = [(str(fins[k // 4]), int(k % 4)) for k in np.asarray(combined).tolist()]
        self.plafonds = np.empty((len(self.classes_fz), self.m))
        for k, (fin, zone) in enumerate(self.classes_fz):
            try:
                self.plafonds[k] = self.parametres.plafonds_ressources(
                    fin, zone, self.categorie[self.act], self.supplementaires[self.act], self.date_cal)
            except ParametreManquant as exc:
                ids = u.identifiant[self.code_fz == k]
                shown = ", ".join(ids[:5].tolist()) + (f" et {len(ids) - 5} autre(s)" if len(ids) > 5 else "")
                raise ParametreManquant(
                    exc.parametre, f"{exc.cle} (logement(s) {shown})", exc.jour, exc.connu, exc.fichier
                ) from None
        # surface: largest household the surface admits (R.822-25); rooms: smallest household
        self.surfaces_min = self.parametres.surfaces_minimales(self.date_cal)
        admitted = (self.surfaces_min[1:][None, :] <= u.surface[:, None]).sum(axis=1)
        self.p_max = np.where(admitted >= len(self.surfaces_min) - 1, _SANS_LIMITE, admitted)
        self.p_min = np.maximum(u.pieces - o.sous_occupation_max, 0)
        # wishes: commune of each unit against each distinct list
        self.code_commune, communes = pd.factorize(pd.Series(u.commune, dtype=object))
        self.communes = list(communes)
        self._reservataires = {r: k for k, r in enumerate(sorted(set(u.reservataire.tolist())))}
        # each distinct list of wishes against each unit commune, exploded once: (communes, lists)
        index = {code: k for k, code in enumerate(self.communes)}
        pairs = [(index[x], k) for k, wished in enumerate(self._listes_communes) for x in wished if x in index]
        wishes = np.zeros((len(self.communes), len(self._listes_communes)), dtype=bool)
        if pairs:
            wishes[tuple(np.array(pairs).T)] = True
        self._liste_accepte = wishes | ~self._liste_non_vide[None, :]
        self._cache_contingent: dict[str, np.ndarray] = {}
        self._cache_commune: dict[int, np.ndarray] = {}

    def _contingent(self, reservataire: str) -> np.ndarray | None:
        if reservataire not in self._compiles:
            return None
        if reservataire not in self._cache_contingent:
            self._cache_contingent[reservataire] = np.asarray(self._compiles[reservataire](self.ctx), bool)[self.act]
        return self._cache_contingent[reservataire]

    def _commune_ok(self, k: int) -> np.ndarray:
        """Active applications that accept the commune of code k (no wish, or wished)."""
        if k not in self._cache_commune:
            self._cache_commune[k] = self._liste_accepte[k][self._code_liste]
        return self._cache_commune[k]

    # -- the walk ------------------------------------------------------------------------------

    def _cles(self) -> np.ndarray:
        u, o = self.unites, self.options
        n = len(u.commune)
        res = np.array([self._reservataires[r] if r in self._compiles else -1 for r in u.reservataire], dtype=np.int64)
        pmin = np.where(self.p_min <= 1, 0, self.p_min)
        commune = self.code_commune if o.communes_souhaitees else np.zeros(n, dtype=np.int64)
        typo = u.typologie if o.typologies_souhaitees else np.zeros(n, dtype=np.int64)
        return np.stack([np.asarray(self.code_fz, dtype=np.int64), res, self.p_max, pmin, commune, typo,
                         u.adapte.astype(np.int64)], axis=1)

    def _niveau(self, level: int, i: int, mask: np.ndarray, buffer: np.ndarray) -> tuple[np.ndarray, list[int], list]:
        """Apply the steps of one level of the key to `mask` for unit i: (new mask, counts, notes)."""
        u, o = self.unites, self.options

        def both(cond: np.ndarray | None, out: np.ndarray) -> np.ndarray:
            return mask if cond is None else np.logical_and(mask, cond, out=out)

        if level == 0:
            under = self.revenu <= self.plafonds[self.code_fz[i]]
            # revenus: known income above the ceiling; revenu_inconnu: unknown income
            step1 = mask & (under | ~self.revenu_connu)
            step2 = step1 & self.revenu_connu
            return step2, [int(np.count_nonzero(step1)), int(np.count_nonzero(step2))], []
        if level == 1:
            cond = self._contingent(u.reservataire[i])
            mask = both(cond, buffer)
            return mask, [int(np.count_nonzero(mask))], []
        if level == 2:
            p = self.p_max[i]
            mask = both(None if p >= _SANS_LIMITE else self.personnes <= p, buffer)
            return mask, [int(np.count_nonzero(mask))], []
        if level == 3:
            p = self.p_min[i]
            mask = both(None if p <= 1 else self.personnes >= p, buffer)
            return mask, [int(np.count_nonzero(mask))], []
        if level == 4:
            mask = both(self._commune_ok(self.code_commune[i]) if o.communes_souhaitees else None, buffer)
            return mask, [int(np.count_nonzero(mask))], []
        if level == 5:
            cond = self._typologie_ok[u.typologie[i]] if o.typologies_souhaitees else None
            mask = both(cond, buffer)
            return mask, [int(np.count_nonzero(mask))], []
        # level 6: accessibility, then the R.441-4 reservation of adapted units
        notes = []
        if not u.adapte[i] and o.accessibilite_exigee:
            mask = np.logical_and(mask, self.sans_besoin, out=buffer)
        n_access = int(np.count_nonzero(mask))
        if u.adapte[i] and o.adapte_handicap_prioritaire:
            needing = mask & self.a_besoin_adapte
            k = int(np.count_nonzero(needing))
            if k:
                mask = needing
                notes.append(f"logement adapté réservé aux {k} demandeur(s) éligible(s) ayant besoin d'un logement "
                             "adapté (art. R.441-4)")
            else:
                notes.append(NOTE_OUVERT_A_TOUS)
        return mask, [n_access, int(np.count_nonzero(mask))], notes

    def _parcourir(self, unites: np.ndarray):
        """Yield (unit, local indices of its eligible active applications, counts per step, notes)."""
        keys = self._cles()
        order = unites[np.lexsort(keys[unites].T[::-1])] if len(unites) else unites
        levels = keys.shape[1]
        buffers = [np.empty(self.m, dtype=bool) for _ in range(levels)]
        masks: list[np.ndarray] = [np.empty(0, bool)] * levels
        counts: list[list[int]] = [[] for _ in range(levels)]
        notes: list[list[str]] = [[] for _ in range(levels)]
        previous = None
        result = None
        everyone = np.ones(self.m, dtype=bool)
        for i in order:
            key = keys[i]
            if previous is None:
                start = 0
            else:
                diff = np.flatnonzero(key != previous)
                start = int(diff[0]) if len(diff) else levels
            for level in range(start, levels):
                before = everyone if level == 0 else masks[level - 1]
                masks[level], counts[level], notes[level] = self._niveau(level, i, before, buffers[level])
            if start < levels:
                result = (np.flatnonzero(masks[-1]).astype(np.int32), [c for cs in counts for c in cs],
                          [x for ns in notes for x in ns])
            previous = key
            yield int(i), *result

    # -- public --------------------------------------------------------------------------------

    def candidats(self) -> Candidats:
        n = len(self.unites.commune)
        walk: list[tuple[int, np.ndarray]] = []  # (unit, local indices), in class order
        table = np.zeros((n, len(ETAPES) + 1), dtype=np.int64)
        notes: list[list[str]] = [[] for _ in range(n)]
        for i, local, after, unit_notes in self._parcourir(np.arange(n)):
            walk.append((i, local))
            table[i, :-1] = np.subtract([self.m, *after[:-1]], after)
            table[i, -1] = after[-1]
            notes[i] = list(unit_notes)
        debut = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(table[:, -1], out=debut[1:])
        total = int(debut[-1])
        demande = np.empty(total, dtype=np.int32)
        # float32: display and preference values over tens of millions of pairs (the comparisons
        # with the ceilings are made in float64 above)
        plafond, revenu, taux, reste = (np.empty(total, dtype=np.float32) for _ in range(4))
        uc_all = np.asarray(self.ctx["unites_consommation"], dtype=float)[self.act]
        # Units of one class share their eligible applications: gather them once per class (the
        # walk visits a class's units consecutively), then fill each unit's slice; only the
        # effort rate and the reste à vivre depend on the unit's own rent.
        cls = None
        for i, local in walk:
            if cls is None or cls[0] is not local:
                aide, mensuels = self.aide[local], self.mensuels[local]
                zero = np.flatnonzero(mensuels == 0)
                cls = (local, self.act[local].astype(np.int32), self.plafonds[self.code_fz[i]][local],
                       self.revenu[local], aide, mensuels, mensuels + aide, uc_all[local], zero)
            _, dem_c, plafond_c, revenu_c, aide_c, mens_c, ressources_c, uc_c, zero = cls
            a, b = debut[i], debut[i + 1]
            demande[a:b] = dem_c
            plafond[a:b] = plafond_c
            revenu[a:b] = revenu_c
            cout = self.unites.cout[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = taux[a:b]
                np.subtract(cout, aide_c, out=t)
                if len(zero):  # no income: 0 when nothing is due, otherwise ±infinity
                    net = t[zero].copy()
                np.divide(t, mens_c, out=t)
                if len(zero):
                    t[zero] = np.where(net == 0, 0.0, np.sign(net) * np.inf)
                r = reste[a:b]
                np.subtract(ressources_c, cout, out=r)
                np.divide(r, uc_c, out=r)
        return Candidats(
            debut=debut,
            demande=demande,
            exclusions=pd.DataFrame(table, columns=[*ETAPES, "eligibles"]),
            notes=notes,
            plafond=plafond,
            revenu=revenu,
            taux_effort=taux,
            reste_a_vivre_uc=reste,
        )

    def motifs(self, i: int, j: int) -> list[str]:
        """French reasons why application row j is not eligible for unit i ([] if it is eligible).

        Recomputed from scalars (the ceiling of the household, the R.822-25 table, the lists of
        wishes), so it checks `candidats` rather than repeating it; only the contingent expression
        and the R.441-4 reservation, which need the whole pool, come from the vectors.
        """
        u, o, c = self.unites, self.options, self.ctx
        n_units = len(u.commune)
        if not 0 <= i < n_units:
            raise IndexError(f"logement n° {i} hors de la table ({n_units} logements)")
        if not 0 <= j < c.n:
            raise IndexError(f"demande n° {j} hors de la table ({c.n} demandes)")
        jour = self.date_cal.isoformat()
        if not self.active[j]:
            depot = c.table["date_depot"].to_numpy(dtype="datetime64[D]")[j]
            if depot > c.jour64:
                return [f"demande déposée après le {jour} : pas encore enregistrée à la date de la CAL"]
            return [f"demande non active au {jour} : non renouvelée depuis plus d'un an"]
        out = []
        fin, zone = u.financement[i], int(u.zone[i])
        cat, supp = int(self.categorie[j]), int(self.supplementaires[j])
        ceiling = self.parametres.plafond_ressources(fin, zone, cat, supp, self.date_cal)
        income = self.revenu_tous[j]
        rfr_known = not np.isnan(c["revenu_fiscal_reference"][j])
        what = "revenu fiscal de référence" if rfr_known else "revenus annuels estimés (12 × revenus mensuels)"
        category = f"catégorie {cat}" + (f" + {supp} personne(s) supplémentaire(s)" if supp else "")
        if np.isnan(income):
            out.append("revenu fiscal de référence inconnu (l'option « revenu_fiscal_manquant » exclut la demande)")
        elif income > ceiling:
            out.append(f"{what} de {_euros(income)} supérieur au plafond {fin} zone {zone} {category} de "
                       f"{_euros(ceiling)} au {jour}")
        if u.reservataire[i] in self._compiles:
            if not self._contingent(u.reservataire[i])[np.searchsorted(self.act, j)]:
                name = NOMS_RESERVATAIRES.get(u.reservataire[i], u.reservataire[i])
                out.append(f"hors du contingent {name} : la condition « {o.contingents[u.reservataire[i]]} » "
                           "n'est pas remplie")
        persons = int(self.personnes_toutes[j])
        minimum = float(self.surfaces_min[min(persons, len(self.surfaces_min) - 1)])
        if u.surface[i] < minimum:
            out.append(f"sur-occupation : {_surface(u.surface[i])} pour {persons} personne(s), minimum "
                       f"{_surface(minimum)} (art. R.822-25)")
        if u.pieces[i] > persons + o.sous_occupation_max:
            out.append(f"sous-occupation : {u.pieces[i]} pièces pour {persons} personne(s), au plus "
                       f"{persons + o.sous_occupation_max} (personnes + {o.sous_occupation_max}, art. L.621-2)")
        if o.communes_souhaitees:
            value = c["communes_souhaitees"][j]
            wished = [x for x in ("" if pd.isna(value) else str(value)).split(";") if x]
            if wished and u.commune[i] not in wished:
                out.append(f"commune {u.commune[i]} hors des communes souhaitées ({', '.join(wished)})")
        if o.typologies_souhaitees:
            wished = [t for t in _TYPOLOGIES if c[f"typologie_{t}"][j]]
            typo = _TYPOLOGIES[u.typologie[i]]
            if wished and typo not in wished:
                out.append(f"typologie {typo} hors des typologies souhaitées ({', '.join(wished)})")
        besoin = bool(c["besoin_accessibilite"][j])
        if o.accessibilite_exigee and besoin and not u.adapte[i]:
            out.append("besoin d'un logement adapté : ce logement ne l'est pas")
        if not out and u.adapte[i] and o.adapte_handicap_prioritaire and not (besoin or c["handicap"][j]):
            [(_, local, _, _)] = list(self._parcourir(np.array([i])))
            if j not in set(self.act[local].tolist()):
                out.append("logement adapté réservé aux demandeurs éligibles ayant besoin d'un logement adapté "
                           "(art. R.441-4)")
        return out


def _euros(x: float) -> str:
    whole = float(x).is_integer()
    text = f"{x:,.0f}" if whole else f"{x:,.2f}"
    return text.replace(",", " ").replace(".", ",") + " €"


def _surface(x: float) -> str:
    return f"{x:g} m²".replace(".", ",")


def candidats(
    logements: pd.DataFrame,
    demandes: pd.DataFrame,
    date_cal: date,
    options: OptionsEligibilite = OptionsEligibilite(),  # noqa: B008 - frozen, immutable default
    parametres: Parametres | None = None,
) -> Candidats:
    """Eligible active applications for each unit (see the module docstring for the steps)."""
    return Eligibilite(logements, demandes, date_cal, options, parametres).candidats()


def motifs_inegibilite(
    logements: pd.DataFrame,
    demandes: pd.DataFrame,
    i_logement: int,
    j_demande: int,
    date_cal: date,
    options: OptionsEligibilite = OptionsEligibilite(),  # noqa: B008 - frozen, immutable default
    parametres: Parametres | None = None,
) -> list[str]:
    """French reasons why application row j_demande is not eligible for unit i_logement; [] if eligible.

    Agrees with `candidats`; builds the pool each call: for many pairs, use `Eligibilite.motifs`.
    """
    return Eligibilite(logements, demandes, date_cal, options, parametres).motifs(i_logement, j_demande)
