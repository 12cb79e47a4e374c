"""The allocation policy as data: its pydantic schema (French keys, as written in `rules/politiques/*.yaml`).

A policy says what the proposals of a run must achieve besides high scores:
- `objectifs`: the legal shares of art. L.441-1 CCH (first quartile outside QPV, other quartiles
  in QPV, DALO/priority households per reservataire), counted on the titular candidate (rank 1)
  of each unit, the expected attribution, in each group of a level (EPCI, bailleur, reservataire);
- `realise`: what the year to date already achieved, per objective and per group;
- `regles_logement`: practice rules on the candidates of each unit (at least one candidate of a
  public among the K proposed);
- `eligibilite`: the options of the eligibility masks (under-occupation, missing tax income,
  accessibility, wishes, reservation contingents, effort rate as a preference only);
- `optimisation`: the solver settings (candidates per unit, rank weights, time limit, seed...).

Everything checkable without applications is checked here, with French messages located by
file, line, item and field (the machinery of `rules.chargement`). A `souple` (soft) objective or
rule may be missed at a price (`penalite` per missing attribution or candidate), so a proposal
always exists and the shortfall is reported; a `dure` (hard) one is a constraint and has no
penalty: giving one is an error, not silently ignored.

Identifiers of objectives and practice rules share one namespace (the shortfall report and the
explanations name them alone), so they must be unique across both lists.

Errors are raised as `ErreurPolitique`, a sibling of `ErreurGrille` under `ErreurRegles`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from rules.chargement import ErreurRegles, ErreurSituee, FormatFichier, champs_connus, charger_yaml
from rules.expression import suggestion
from rules.grille import Identifiant, _expression, _Strict

POLITIQUES = Path(__file__).resolve().parent / "politiques"

# Reservataire codes (regles-du-domaine.md §4.4); the same codes tag the units of the flow.
RESERVATAIRES: dict[str, str] = {
    "prefet": "État (contingent préfectoral)",
    "action_logement": "Action Logement Services",
    "collectivite": "collectivités territoriales et EPCI",
    "bailleur": "bailleur (logements non réservés)",
    "autre": "autres réservataires (employeurs, CROUS...)",
}
LOGEMENTS: dict[str, str] = {
    "tous": "tous les logements",
    "hors_qpv": "logements situés hors quartier prioritaire de la politique de la ville (QPV)",
    "qpv": "logements situés en QPV",
}
NIVEAUX: dict[str, str] = {
    "epci": "le territoire de l'EPCI",
    "bailleur": "chaque bailleur",
    "reservataire": "chaque réservataire",
}
TOUT_LE_TERRITOIRE = "*"  # the only group key of an objective of level `epci`
PENALITE_OBJECTIF = 1000.0
PENALITE_REGLE = 200.0
CANDIDATS_MAX = 5

Entier = Annotated[int, Field(strict=True)]  # YAML 3, never true or 3.0
Nombre = Annotated[float, Field(strict=True)]  # YAML 3 or 0.5, never true or "0.5"


def _booleen(text: str) -> str:
    return _expression(text, "booleen")


def _reservataire(code: str) -> str:
    if code not in RESERVATAIRES:
        raise ValueError(
            f"réservataire inconnu « {code} »{suggestion(code, RESERVATAIRES)} ; "
            f"réservataires possibles : {', '.join(RESERVATAIRES)}"
        )
    return code


Public = Annotated[str, AfterValidator(_booleen)]
"""A safe boolean expression over the application vocabulary ("premier_quartile or relogement_anru")."""
CodeReservataire = Annotated[str, AfterValidator(_reservataire)]


class MetadonneesPolitique(_Strict):
    territoire: str = Field(min_length=1)
    version: str = Field(min_length=1)
    valide_du: date
    valide_au: date | None = None
    description: str | None = None
    sources: list[str] = []

    @model_validator(mode="after")
    def _dates(self):
        if self.valide_au and self.valide_au < self.valide_du:
            raise ErreurSituee("valide_au doit être postérieure ou égale à valide_du", ("valide_au",))
        return self


class _Exigence(_Strict):
    """What objectives and practice rules share: a public, the units concerned, a nature and its price."""

    PENALITE_PAR_DEFAUT: ClassVar[float]
    NOM: ClassVar[str]

    id: Identifiant
    libelle: str = Field(min_length=1)
    description: str | None = None
    public: Public
    logements: Literal["tous", "hors_qpv", "qpv"] = "tous"
    nature: Literal["dure", "souple"] = "souple"
    penalite: Annotated[Nombre, Field(gt=0)] | None = None
    base_legale: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_penalty(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("nature", "souple") == "souple" and data.get("penalite") is None:
            return {**data, "penalite": cls.PENALITE_PAR_DEFAUT}
        return data

    @model_validator(mode="after")
    def _hard_has_no_penalty(self):
        if self.nature == "dure" and self.penalite is not None:
            raise ErreurSituee(
                f"{self.NOM} de nature « dure » est une contrainte et n'a pas de pénalité : "
                "retirez « penalite » ou passez en « nature: souple »",
                ("penalite",),
            )
        return self

    @property
    def dure(self) -> bool:
        return self.nature == "dure"


class Objectif(_Exigence):
    """A share of the attributions (titular candidates) of `logements` that must go to `public`.

    The share must hold in each group of `niveau`; `penalite` (soft only) is the objective points
    lost per missing attribution, and must exceed any score gap for the share to be pursued.
    """

    PENALITE_PAR_DEFAUT: ClassVar[float] = PENALITE_OBJECTIF
    NOM: ClassVar[str] = "un objectif"

    niveau: Literal["epci", "bailleur", "reservataire"] = "epci"
    cible: Annotated[Nombre, Field(ge=0, le=1)]


class RegleLogement(_Exigence):
    """At least `minimum` of the candidates proposed for each unit of `logements` belong to `public`.

    `penalite` (soft only) is the objective points lost per missing candidate.
    """

    PENALITE_PAR_DEFAUT: ClassVar[float] = PENALITE_REGLE
    NOM: ClassVar[str] = "une règle"

    minimum: Annotated[Entier, Field(ge=1, le=CANDIDATS_MAX)] = 1


class Realise(_Strict):
    """Attributions already made this year in one group, and how many of them went to the public."""

    attributions: Annotated[Entier, Field(ge=0)]
    dont_public: Annotated[Entier, Field(ge=0)]

    @model_validator(mode="after")
    def _coherent(self):
        if self.dont_public > self.attributions:
            raise ErreurSituee(
                f"dont_public ({self.dont_public}) ne peut pas dépasser attributions ({self.attributions})",
                ("dont_public",),
            )
        return self


class Eligibilite(_Strict):
    """Options of the eligibility masks built by `matching`."""

    sous_occupation_max: Annotated[Entier, Field(ge=0)] = 1
    revenu_fiscal_manquant: Literal["exclure", "revenus_mensuels"] = "exclure"
    accessibilite_exigee: bool = True
    adapte_handicap_prioritaire: bool = True
    communes_souhaitees: bool = True
    typologies_souhaitees: bool = True
    contingents: dict[CodeReservataire, Public] = {}
    taux_effort_max: Annotated[Nombre, Field(gt=0, le=1)] | None = None
    poids_taux_effort: Annotated[Nombre, Field(ge=0)] = 0
    # A unit whose income ceiling is not in rules/parametres (e.g. PLAI 2026): stop with an error
    # naming it (default), or set the unit aside from the batch and say so on the CAL sheet.
    plafond_inconnu: Literal["erreur", "ecarter_logement"] = "erreur"

    @model_validator(mode="after")
    def _effort(self):
        if self.poids_taux_effort > 0 and self.taux_effort_max is None:
            raise ErreurSituee(
                "poids_taux_effort n'a d'effet qu'avec un taux_effort_max : renseignez-le ou mettez le poids à 0",
                ("poids_taux_effort",),
            )
        return self


class Optimisation(_Strict):
    """Solver settings. `poids_rang` defaults to 1 for the titular and 0.5 for each alternate."""

    candidats_par_logement: Annotated[Entier, Field(ge=1, le=CANDIDATS_MAX)] = 3
    une_proposition_par_menage: bool = True
    poids_rang: list[Annotated[Nombre, Field(gt=0)]] = [1.0, 0.5, 0.5]
    limite_temps_s: Annotated[Nombre, Field(gt=0, le=3600)] = 60
    # Stop once the gap to the bound over all eligible pairs is proven below this share
    # (0 = prove optimality, which can take much longer on large batches).
    ecart_cible: Annotated[Nombre, Field(ge=0, le=0.05)] = 0.0001
    graine: Annotated[Entier, Field(ge=0)] = 0
    largeur_flot: Annotated[Entier, Field(ge=1, le=100_000)] = 5

    @model_validator(mode="before")
    @classmethod
    def _default_weights(cls, data: Any) -> Any:
        if isinstance(data, dict) and "poids_rang" not in data:
            k = data.get("candidats_par_logement", 3)
            if type(k) is int and 1 <= k <= CANDIDATS_MAX:
                return {**data, "poids_rang": [1.0] + [0.5] * (k - 1)}
        return data

    @model_validator(mode="after")
    def _coherent(self):
        k, weights = self.candidats_par_logement, self.poids_rang
        if len(weights) != k:
            raise ErreurSituee(
                f"poids_rang doit donner un poids par rang : {k} attendu(s) (candidats_par_logement), "
                f"{len(weights)} donné(s)",
                ("poids_rang",),
            )
        for rank in range(1, k):
            if weights[rank] > weights[rank - 1]:
                raise ErreurSituee(
                    f"poids_rang doit être décroissant ou constant : le rang {rank + 1} ({weights[rank]}) "
                    f"pèse plus que le rang {rank} ({weights[rank - 1]})",
                    ("poids_rang",),
                )
        if self.largeur_flot < k:
            raise ErreurSituee(
                f"largeur_flot ({self.largeur_flot}) doit être au moins candidats_par_logement ({k})",
                ("largeur_flot",),
            )
        return self


class Politique(_Strict):
    """A complete allocation policy."""

    politique: MetadonneesPolitique
    objectifs: list[Objectif] = []
    realise: dict[str, dict[str, Realise]] = {}
    regles_logement: list[RegleLogement] = []
    eligibilite: Eligibilite = Eligibilite()
    optimisation: Optimisation = Optimisation()

    @model_validator(mode="after")
    def _references(self):
        seen: dict[str, str] = {}
        for key in ("objectifs", "regles_logement"):
            for i, item in enumerate(getattr(self, key)):
                if item.id in seen:
                    raise ErreurSituee(
                        f"identifiant « {item.id} » en double (déjà utilisé dans « {seen[item.id]} » ; "
                        "objectifs et règles partagent les mêmes identifiants)",
                        (key, i, "id"),
                    )
                seen[item.id] = key
        objectives = {o.id: o for o in self.objectifs}
        for oid, groups in self.realise.items():
            if oid not in objectives:
                known = f"objectifs déclarés : {', '.join(objectives)}" if objectives else "aucun objectif déclaré"
                raise ErreurSituee(
                    f"objectif inconnu « {oid} »{suggestion(oid, objectives)} ; {known}", ("realise", oid)
                )
            level = objectives[oid].niveau
            for group in groups:
                if level == "epci" and group != TOUT_LE_TERRITOIRE:
                    raise ErreurSituee(
                        f"l'objectif « {oid} » se compte sur tout le territoire (niveau epci) : "
                        f"une seule clé « {TOUT_LE_TERRITOIRE} » attendue, reçu « {group} »",
                        ("realise", oid, group),
                    )
                if level == "reservataire" and group not in RESERVATAIRES:
                    raise ErreurSituee(
                        f"réservataire inconnu « {group} »{suggestion(group, RESERVATAIRES)} ; "
                        f"réservataires possibles : {', '.join(RESERVATAIRES)}",
                        ("realise", oid, group),
                    )
        k = self.optimisation.candidats_par_logement
        for i, rule in enumerate(self.regles_logement):
            if rule.minimum > k:
                raise ErreurSituee(
                    f"minimum ({rule.minimum}) supérieur au nombre de candidats par logement ({k}, "
                    "optimisation.candidats_par_logement)",
                    ("regles_logement", i, "minimum"),
                )
        return self

    def objectif(self, oid: str) -> Objectif:
        return next(o for o in self.objectifs if o.id == oid)

    def regle(self, rid: str) -> RegleLogement:
        return next(r for r in self.regles_logement if r.id == rid)

    def avec_plafond_inconnu(self, choix: str) -> Politique:
        """The same policy with another treatment of units whose income ceiling is unknown."""
        return self.model_copy(update={"eligibilite": self.eligibilite.model_copy(update={"plafond_inconnu": choix})})

    def realise_pour(self, oid: str, groupe: str = TOUT_LE_TERRITOIRE) -> Realise:
        """What the year achieved for an objective in a group (zero when not given)."""
        return self.realise.get(oid, {}).get(groupe, Realise(attributions=0, dont_public=0))

    def applicable_a(self, jour: date) -> bool:
        p = self.politique
        return p.valide_du <= jour and (p.valide_au is None or jour <= p.valide_au)


class ErreurPolitique(ErreurRegles):
    """A policy that cannot be used; `problemes` lists every problem found."""


FORMAT_POLITIQUE = FormatFichier(
    contenu="une politique (clés politique, objectifs, eligibilite...)",
    erreur=ErreurPolitique,
    listes={"objectifs": "objectif", "regles_logement": "règle"},
    champs=champs_connus(Politique),
)


def chemin_politique(nom: str | Path) -> Path:
    """A policy file, or the name of a shipped policy (`defaut` is `rules/politiques/defaut.yaml`)."""
    path = Path(nom)
    if not path.exists() and (POLITIQUES / f"{nom}.yaml").is_file():
        return POLITIQUES / f"{nom}.yaml"
    return path


def charger_politique(source: str | Path, texte: str | None = None) -> Politique:
    """Load and validate a policy from a path or a shipped name (or from `texte`, named `source` in messages)."""
    if texte is None:
        source = chemin_politique(source)
    return charger_yaml(source, Politique, texte, format_fichier=FORMAT_POLITIQUE)


__all__ = [
    "CodeReservataire",
    "Eligibilite",
    "ErreurPolitique",
    "FORMAT_POLITIQUE",
    "LOGEMENTS",
    "MetadonneesPolitique",
    "NIVEAUX",
    "Objectif",
    "Optimisation",
    "PENALITE_OBJECTIF",
    "PENALITE_REGLE",
    "POLITIQUES",
    "Politique",
    "Public",
    "RESERVATAIRES",
    "Realise",
    "RegleLogement",
    "TOUT_LE_TERRITOIRE",
    "charger_politique",
    "chemin_politique",
]
