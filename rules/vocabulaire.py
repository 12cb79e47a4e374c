"""The closed vocabulary a grid may speak: application fields, derived quantities and their values.

It lives in `rules` because it is the language of the grids: a grid is validated against it
before any application is seen. `cotation` implements every variable listed here (a test checks
it). Protected grounds (art. 225-1 du Code pénal) are not in the vocabulary, so no grid can use
them; `MOTIFS_INTERDITS` only exists to give a precise error when someone tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SITUATIONS_LOGEMENT: dict[str, str] = {
    "sans_abri": "sans abri",
    "habitat_precaire": "habitat précaire ou de fortune (squat, caravane, bidonville)",
    "hotel": "hébergé à l'hôtel",
    "structure_hebergement": "structure d'hébergement (CHRS, centre d'hébergement, logement temporaire)",
    "logement_foyer": "résidence sociale ou foyer",
    "hebergement_tiers": "hébergé chez des tiers (particulier)",
    "chez_parents": "hébergé chez ses parents ou ses enfants",
    "locataire_parc_social": "locataire du parc social (demande de mutation)",
    "locataire_parc_prive": "locataire du parc privé",
    "logement_fonction": "logé dans un logement de fonction",
    "proprietaire": "propriétaire occupant",
    "autre": "autre situation",
}

# Provisional closed list: the exact CERFA 14069 list of motifs was not retrieved
# (regles-du-domaine.md section 7, item 10). Adding a motif is a one-line change here.
MOTIFS: dict[str, str] = {
    "sans_logement": "sans logement ou hébergé",
    "logement_non_decent": "logement non décent",
    "logement_insalubre": "logement insalubre ou dangereux",
    "logement_trop_petit": "logement trop petit",
    "logement_trop_grand": "logement trop grand",
    "logement_trop_cher": "logement trop cher",
    "procedure_expulsion": "procédure d'expulsion, menace d'expulsion",
    "demolition": "logement repris ou démoli",
    "divorce_separation": "divorce, séparation",
    "decohabitation": "décohabitation, fin de cohabitation",
    "violences_familiales": "violences familiales",
    "handicap": "handicap",
    "raisons_sante": "raisons de santé",
    "rapprochement_travail": "rapprochement du lieu de travail",
    "rapprochement_famille": "rapprochement familial",
    "mutation_professionnelle": "mutation professionnelle",
    "environnement_voisinage": "problèmes d'environnement ou de voisinage",
    "premier_logement": "premier logement, accès à l'autonomie",
    "accedant_difficulte": "propriétaire en difficulté",
    "autre": "autre motif",
}

# Art. L.441-1 CCH priority categories. Letters g), h), i), k), l) are not confirmed on Légifrance
# (regles-du-domaine.md section 2.2): the labels are what matters, the letters are keys.
CATEGORIES_PRIORITAIRES: dict[str, str] = {
    "a": "personne en situation de handicap ou famille ayant à charge une personne handicapée",
    "a_bis": "sortant d'un appartement de coordination thérapeutique",
    "b": "personne mal logée ou défavorisée, difficultés financières ou d'insertion",
    "c": "personne hébergée ou logée temporairement",
    "d": "reprise d'activité après un chômage de longue durée",
    "e": "personne exposée à l'habitat indigne",
    "f": "victime de violences au sein du couple, ou menacée de mariage forcé",
    "g": "victime de viol ou d'agression sexuelle à son domicile ou à ses abords",
    "h": "personne engagée dans un parcours de sortie de la prostitution",
    "i": "victime de traite des êtres humains ou de proxénétisme",
    "j": "personne avec enfant mineur en logement sur-occupé ou non décent",
    "k": "personne dépourvue de logement, y compris hébergée par des tiers",
    "l": "personne menacée d'expulsion sans relogement",
    "m": "jeune de moins de 21 ans sortant de l'aide sociale à l'enfance",
}

TYPOLOGIES: dict[str, str] = {f"T{i}": f"T{i}" for i in range(1, 7)}

ISSUES_PROPOSITION: dict[str, str] = {
    "refus_non_legitime": "refus jugé non légitime",
    "refus_legitime": "refus jugé légitime",
    "sans_suite": "proposition sans suite (non attribué, annulée)",
}

DEMANDES: dict[str, str] = {
    "toutes": "toutes les demandes",
    "mutation": "demandes de mutation (locataires du parc social)",
    "hors_mutation": "demandes hors mutation",
}

Kind = Literal["booleen", "nombre", "categorie"]


@dataclass(frozen=True)
class Variable:
    """One name a grid may use in a condition, a measure or a category table."""

    nom: str
    type: Kind
    libelle: str
    unite: str = ""
    valeurs: tuple[str, ...] = ()


def _build() -> dict[str, Variable]:
    v: list[Variable] = [
        # household composition
        Variable("nb_adultes", "nombre", "nombre d'adultes", "personnes"),
        Variable("nb_enfants_moins_14", "nombre", "enfants de moins de 14 ans", "personnes"),
        Variable("nb_enfants_14_plus", "nombre", "enfants de 14 ans et plus à charge", "personnes"),
        Variable("nb_autres_personnes_a_charge", "nombre", "autres personnes à charge", "personnes"),
        Variable("naissances_attendues", "nombre", "naissances attendues", "personnes"),
        Variable("nb_personnes_handicapees", "nombre", "personnes handicapées au foyer", "personnes"),
        Variable("couple", "booleen", "demandeur en couple"),
        Variable("taille_menage", "nombre", "personnes au foyer", "personnes"),
        Variable("personnes_a_charge", "nombre", "personnes à charge", "personnes"),
        Variable("enfants", "nombre", "enfants à charge", "personnes"),
        Variable("parent_isole", "booleen", "parent isolé (un adulte avec enfant à charge)"),
        Variable("jeune_menage", "booleen", "jeune ménage (couple sans personne à charge, âges cumulés ≤ 55 ans)"),
        Variable("handicap", "booleen", "au moins une personne handicapée au foyer"),
        Variable("categorie_menage", "nombre", "catégorie de ménage (arrêté du 29 juillet 1987)"),
        # resources
        Variable("revenus_mensuels", "nombre", "revenus mensuels du foyer", "€"),
        Variable("revenu_fiscal_reference", "nombre", "revenu fiscal de référence N-2", "€"),
        Variable("unites_consommation", "nombre", "unités de consommation", "UC"),
        Variable("revenu_annuel_par_uc", "nombre", "revenu annuel par unité de consommation", "€/UC"),
        Variable("premier_quartile", "booleen", "ménage du premier quartile de revenus"),
        # current housing
        Variable(
            "situation_logement", "categorie", "situation de logement actuelle", "",
            tuple(SITUATIONS_LOGEMENT),
        ),
        Variable("mutation", "booleen", "demande de mutation (locataire du parc social)"),
        Variable("loyer_actuel", "nombre", "loyer actuel charges comprises", "€"),
        Variable("aide_logement", "nombre", "aide au logement perçue", "€"),
        Variable("taux_effort", "nombre", "taux d'effort actuel (loyer net d'aide / revenus)", "%"),
        Variable("surface_actuelle", "nombre", "surface du logement actuel", "m²"),
        Variable("pieces_actuelles", "nombre", "pièces du logement actuel", "pièces"),
        Variable("surface_par_personne", "nombre", "surface par personne", "m²"),
        Variable("personnes_par_piece", "nombre", "personnes par pièce"),
        Variable("sur_occupation", "booleen", "logement actuel sur-occupé (art. R.822-25 CCH)"),
        Variable("sous_occupation", "booleen", "logement actuel sous-occupé (pièces > personnes + 1)"),
        # priorities and procedure
        Variable("dalo", "booleen", "reconnu DALO (prioritaire et urgent)"),
        Variable("mois_depuis_dalo", "nombre", "mois depuis la décision DALO", "mois"),
        Variable("prioritaire", "booleen", "relève d'une catégorie prioritaire de l'art. L.441-1"),
        Variable("pdalhpd", "booleen", "labellisé prioritaire PDALHPD"),
        Variable("relogement_anru", "booleen", "relogement au titre du renouvellement urbain (ANRU)"),
        Variable("besoin_accessibilite", "booleen", "besoin d'un logement accessible ou adapté"),
        Variable("anciennete_mois", "nombre", "ancienneté de la demande", "mois"),
        Variable("demande_active", "booleen", "demande active (renouvelée depuis moins d'un an)"),
    ]
    v += [Variable(f"motif_{k}", "booleen", f"motif : {lib}") for k, lib in MOTIFS.items()]
    v += [
        Variable(f"prioritaire_{k}", "booleen", f"priorité L.441-1 {k.replace('_', ' ')}) : {lib}")
        for k, lib in CATEGORIES_PRIORITAIRES.items()
    ]
    return {x.nom: x for x in v}


VARIABLES: dict[str, Variable] = _build()

# Names someone might try; each maps to the reason it can never be a criterion.
MOTIFS_INTERDITS: dict[str, str] = {
    name: "motif de discrimination interdit (art. 225-1 du Code pénal, art. 1 de la loi du 6 juillet 1989)"
    for name in (
        "nationalite", "origine", "ethnie", "race", "religion", "nom", "prenom", "patronyme",
        "sexe", "genre", "orientation_sexuelle", "identite_de_genre", "opinions_politiques",
        "activite_syndicale", "apparence_physique", "etat_de_sante", "caracteristiques_genetiques",
        "langue", "lieu_de_naissance", "age", "date_naissance", "date_naissance_demandeur",
        "date_naissance_conjoint", "grossesse", "moeurs", "lieu_de_residence",
    )
}
