"""The published document: every shipped grid in Markdown and HTML, French expressions, escaping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rules.chargement import charger_grille
from rules.expression import ErreurExpression
from rules.grille import Grille
from rules.publication import expression_en_francais, publier_html, publier_markdown

RACINE = Path(__file__).resolve().parents[2]
GRILLES = sorted((RACINE / "rules" / "grilles").glob("*.yaml"))
TAUX = "taux d'effort actuel (loyer net d'aide / revenus)"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


def grille(nom: str) -> Grille:
    return charger_grille(RACINE / "rules" / "grilles" / f"{nom}.yaml")


def section(markdown: str, titre: str) -> str:
    """The text of one `## titre` section of a Markdown document."""
    match = re.search(rf"^## {re.escape(titre)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"section « {titre} » absente"
    return match.group(1)


class _Verificateur(HTMLParser):
    """Checks that every opened tag is closed in order; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pile: list[str] = []
        self.erreurs: list[str] = []
        self.balises: list[str] = []
        self.texte: list[str] = []
        self.liens: list[str] = []
        self._dans_style = False

    def handle_starttag(self, tag, attrs):
        self.balises.append(tag)
        if tag == "a":
            self.liens.append(dict(attrs).get("href") or "")
        if tag == "style":
            self._dans_style = True
        if tag not in VOID:
            self.pile.append(tag)

    def handle_endtag(self, tag):
        if tag == "style":
            self._dans_style = False
        if tag in VOID:
            return
        if not self.pile or self.pile[-1] != tag:
            self.erreurs.append(f"</{tag}> ferme {self.pile[-1] if self.pile else 'rien'}")
            return
        self.pile.pop()

    def handle_data(self, data):
        if not self._dans_style:
            self.texte.append(data)


def analyser_html(page: str) -> _Verificateur:
    v = _Verificateur()
    v.feed(page)
    v.close()
    return v


# -- every shipped grid -------------------------------------------------------------------------


@pytest.mark.parametrize("chemin", GRILLES, ids=[p.stem for p in GRILLES])
def test_chaque_grille_livree_se_publie(chemin: Path) -> None:
    g = charger_grille(chemin)
    md = publier_markdown(g)
    page = publier_html(g)
    for titre in (
        "Comment le score est calculé",
        "Les critères et leurs points",
        "En cas de refus d'un logement",
        "À égalité de points",
        "Ce que le score ne décide pas",
        "Glossaire",
    ):
        assert f"## {titre}" in md
        assert f"<h2>{titre}</h2>" in page.replace("&#x27;", "'")
    assert md.startswith(f"# Cotation de la demande de logement social : {g.grille.territoire}")
    assert g.grille.valide_du.strftime("%d/%m/%Y") in md
    for c in g.criteres:
        assert c.libelle in md
    v = analyser_html(page)
    assert not v.erreurs and not v.pile, (v.erreurs, v.pile)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in page
    # standalone: no external asset, no script
    assert "<script" not in page and "<link" not in page and "src=" not in page
    texte = " ".join(" ".join(v.texte).split())
    assert "R.441-3" in texte and "aide à la décision" in texte
    assert "au moins trois demandes pour chaque logement" in texte


def test_toulouse() -> None:
    md = publier_markdown(grille("toulouse_metropole"))
    ligne_dalo = next(line for line in md.splitlines() if "**Reconnu prioritaire DALO**" in line)
    assert ligne_dalo.endswith("| +50 points |")
    assert "Reconnu DALO (prioritaire et urgent)" in ligne_dalo
    assert "+20 points au-delà du délai anormalement long du département (36 mois)" in md
    assert "1 point par mois d'ancienneté de la demande" in md
    assert (
        "transcription partielle : seuls les critères dont les points sont publiés figurent ici"
        in md
    )
    assert "En vigueur** : depuis le 02/02/2022" in md
    assert "[https://metropole.toulouse.fr/faq-cotation-du-logement-social]" in md
    refus = section(md, "En cas de refus d'un logement")
    assert "refuser une proposition de logement ne change pas le score" in refus
    assert "Délai anormalement long" in section(md, "Glossaire")
    page = publier_html(grille("toulouse_metropole"))
    assert '<a href="https://metropole.toulouse.fr/faq-cotation-du-logement-social">' in page
    assert '<div class="avertissement"' in page


def test_paris_rubrique_decohabitation_et_non_transcrits() -> None:
    g = grille("paris_2014")
    md = publier_markdown(g)
    calcul = section(md, "Comment le score est calculé")
    assert "seul le critère le plus favorable à la demande compte" in calcul
    assert (
        "**« Décohabitation »** : Vous cessez d'habiter dans le même logement qu'une autre "
        "personne (+2 points) ; Vous habitez chez vos parents (+1 point)"
    ) in calcul
    criteres = section(md, "Les critères et leurs points")
    assert (
        "### Rubrique « Décohabitation »\n\nSeul le critère le plus favorable de cette "
        "rubrique compte." in criteres
    )
    assert (
        "Situation de logement actuelle = « hébergé chez ses parents ou ses enfants »" in criteres
    )
    assert "du 03/10/2014 au 09/01/2024" in md
    non = section(md, "Critères non transcrits")
    for n in g.non_transcrits:
        assert n.libelle in non and n.raison in non
    texte = " ".join(analyser_html(publier_html(g)).texte)
    for n in g.non_transcrits:
        assert n.libelle in texte


def test_exemple_penalite_de_refus_et_types() -> None:
    md = publier_markdown(grille("exemple_complet"))
    assert "grille d'exemple, pas une grille officielle" in md
    refus = section(md, "En cas de refus d'un logement")
    assert (
        "−10 points par refus non légitime d'un logement adapté dans les 12 derniers mois, au "
        "plus −30" in refus
    )
    assert "cesse de compter 12 mois plus tard" in refus
    assert "Un refus jugé légitime ne change pas le score" in refus
    criteres = section(md, "Les critères et leurs points")
    assert "de 30 % à moins de 40 % : 5 points" in criteres
    assert "à partir de 50 % : 15 points" in criteres
    assert "sans abri : 30 points" in criteres and "autres situations : 0 point" in criteres
    assert "1 point par mois d'ancienneté de la demande, au plus 120 points" in criteres
    assert "+10 points au-delà de 24 mois d'ancienneté" in criteres
    assert (
        "2 points par mois écoulé depuis la décision DALO au-delà des 6 premiers mois" in criteres
    )
    assert (
        "+10 points si au moins 2 des critères suivants sont réunis : « Violences familiales », "
        "« Menace d'expulsion »"
    ) in criteres
    assert "le plus petit de (3 × enfants de moins de 14 ans ; 9)" in criteres
    assert "Demandes de mutation (locataires du parc social) uniquement" in criteres
    calcul = section(md, "Comment le score est calculé")
    assert "« Logement social devenu trop grand »" in calcul
    assert "### Autres critères" in md


# -- expressions in French ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("dalo and taux_effort >= 0.3", f"reconnu DALO (prioritaire et urgent) et {TAUX} ≥ 30 %"),
        ("0.3 <= taux_effort < 0.4", f"30 % ≤ {TAUX} < 40 %"),
        ("taux_effort > 0.335", f"{TAUX} > 33,5 %"),
        (
            "situation_logement in ['sans_abri', 'hotel']",
            "situation de logement actuelle parmi : « sans abri », « hébergé à l'hôtel »",
        ),
        (
            "situation_logement not in ['hotel']",
            "situation de logement actuelle autre que : « hébergé à l'hôtel »",
        ),
        (
            "situation_logement != 'chez_parents'",
            "situation de logement actuelle ≠ « hébergé chez ses parents ou ses enfants »",
        ),
        ("not dalo", "non (reconnu DALO (prioritaire et urgent))"),
        ("not taux_effort > 0.3", f"non ({TAUX} > 30 %)"),
        (
            "dalo or pdalhpd and prioritaire",
            "reconnu DALO (prioritaire et urgent) ou (labellisé prioritaire PDALHPD et relève "
            "d'une catégorie "
            "prioritaire de l'art. L.441-1)",
        ),
        (
            "(dalo or pdalhpd) and not mutation",
            "(reconnu DALO (prioritaire et urgent) ou labellisé prioritaire PDALHPD) et non "
            "(demande de mutation "
            "(locataire du parc social))",
        ),
        (
            "(revenus_mensuels - loyer_actuel + aide_logement) / unites_consommation < 400",
            "(revenus mensuels du foyer − loyer actuel charges comprises + aide au logement "
            "perçue) ÷ unités de "
            "consommation < 400",
        ),
        (
            "revenus_mensuels - loyer_actuel > 1500.5",
            "revenus mensuels du foyer − loyer actuel charges comprises > 1 500,5 €",
        ),
        (
            "anciennete_mois - (mois_depuis_dalo - 2) >= 24",
            "ancienneté de la demande − (mois depuis la décision DALO − 2 mois) ≥ 24 mois",
        ),
        ("anciennete_mois / (2 * 3)", "ancienneté de la demande ÷ (2 × 3)"),
        ("(anciennete_mois + 2) * 3", "(ancienneté de la demande + 2 mois) × 3"),
        (
            "min(3 * nb_enfants_moins_14, 9)",
            "le plus petit de (3 × enfants de moins de 14 ans ; 9)",
        ),
        ("max(anciennete_mois, 12)", "le plus grand de (ancienneté de la demande ; 12 mois)"),
        ("abs(taux_effort - 0.3) <= 0.05", f"la valeur absolue de ({TAUX} − 30 %) ≤ 5 %"),
        ("si(dalo, 10, 0)", "si reconnu DALO (prioritaire et urgent) alors 10, sinon 0"),
        (
            "10 if dalo else 5 if pdalhpd else 0",
            "si reconnu DALO (prioritaire et urgent) alors 10, sinon si labellisé prioritaire "
            "PDALHPD alors 5, sinon 0",
        ),
        (
            "min(si(dalo, 1, 2), 3)",
            "le plus petit de ((si reconnu DALO (prioritaire et urgent) alors 1, sinon 2) ; 3)",
        ),
        ("-taux_effort < -0.1", f"−{TAUX} < −10 %"),
        ("dalo == True or faux", "(reconnu DALO (prioritaire et urgent) = vrai) ou faux"),
        ("handicap != False", "au moins une personne handicapée au foyer ≠ faux"),
        (
            "taille_menage == 4 and pieces_actuelles == 2",
            "personnes au foyer = 4 et pièces du logement actuel = 2",
        ),
        ("surface_actuelle < 9", "surface du logement actuel < 9 m²"),
        (
            "taux_effort >= si(dalo, 0.3, 0.4)",
            f"{TAUX} ≥ (si reconnu DALO (prioritaire et urgent) alors 30 %, sinon 40 %)",
        ),
        ("revenus_mensuels > 12000", "revenus mensuels du foyer > 12 000 €"),
    ],
)
def test_expression_en_francais(texte: str, attendu: str) -> None:
    assert expression_en_francais(texte) == attendu


def test_expression_invalide() -> None:
    with pytest.raises(ErreurExpression):
        expression_en_francais("__import__('os')")
    with pytest.raises(ErreurExpression):
        expression_en_francais("variable_inconnue > 2")


# -- escaping and robustness -----------------------------------------------------------------

HOSTILE = """
grille:
  territoire: "Ville <b>A</b> & B"
  version: "1 <i>"
  valide_du: 2025-01-01
  valide_au: 2026-12-31
  statut: officielle
  demandes: mutation
  description: "1. Une description | avec *étoiles* et <img src=x onerror=alert(1)>"
  sources:
    - "javascript:alert(1)"
    - "https://exemple.fr/grille?a=1&b=<2>"
groupes:
  - id: rubrique
    libelle: "<em>Rubrique</em>"
criteres:
  - id: piege
    libelle: "<script>alert('x')</script>"
    description: "Tableau | cassé ? [lien](javascript:alert(1))"
    type: drapeau
    condition: dalo
    points: 5
    groupe: rubrique
    valide_du: 2025-06-01
  - id: autre
    libelle: Autre
    type: drapeau
    condition: pdalhpd
    points: 1.5
    groupe: rubrique
departage: [numero_unique]
non_transcrits:
  - libelle: "</td></tr></table><script>x()</script>"
    raison: "<b>gras</b>"
"""


def test_html_echappe_le_texte_de_la_grille() -> None:
    g = charger_grille("hostile.yaml", texte=HOSTILE)
    page = publier_html(g)
    assert "<script" not in page
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in page
    assert "<b>" not in page and "<em>Rubrique" not in page and "<img" not in page
    assert "Ville &lt;b&gt;A&lt;/b&gt; &amp; B" in page
    v = analyser_html(page)
    assert not v.erreurs and not v.pile, (v.erreurs, v.pile)
    assert set(v.balises) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "main",
        "footer",
        "h1",
        "h2",
        "h3",
        "p",
        "ul",
        "ol",
        "li",
        "strong",
        "span",
        "code",
        "a",
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "br",
    }
    # only http(s) sources become links
    assert v.liens == ["https://exemple.fr/grille?a=1&b=<2>"]
    assert "javascript:alert(1)" in " ".join(v.texte)
    assert 'class="avertissement"' not in page  # officielle: no warning box


def test_markdown_echappe_le_texte_de_la_grille() -> None:
    md = publier_markdown(charger_grille("hostile.yaml", texte=HOSTILE))
    assert "<script>" not in md and "\\<script\\>" in md
    assert "Tableau \\| cassé" in md  # a | in a cell does not split the table
    assert "\\[lien\\](javascript:alert(1))" in md
    assert "\n1\\. Une description" in md  # not turned into a numbered list
    for line in md.splitlines():
        if line.startswith("| **"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 4, line


def test_grille_officielle_mutation_dates_et_demi_points() -> None:
    g = charger_grille("hostile.yaml", texte=HOSTILE)
    md = publier_markdown(g)
    assert "> **Attention**" not in md  # officielle: no warning box
    assert "du 01/01/2025 au 31/12/2026" in md
    assert "demandes de mutation (locataires du parc social)" in section(
        md, "Comment le score est calculé"
    )
    assert "à partir du 01/06/2025" in md
    assert "+1,5 point" in md
    assert "1. Ordre du numéro unique." in section(md, "À égalité de points")


def test_grille_avec_penalite_sans_plafond_ni_groupe() -> None:
    texte = """
grille: {territoire: T, version: v, valide_du: 2025-01-01, statut: partielle}
criteres:
  - {id: refus, libelle: Refus, type: penalite_refus, points_par_refus: -5, fenetre_mois: 1,
     refus: tous}
  - {id: anc, libelle: Anc, type: duree, points_par_mois: 0.5, a_partir_de: 1}
  - {id: te, libelle: TE, type: tranches, mesure: taux_effort, tranches: [{a: 0.2, points: 2}]}
  - id: sup
    libelle: Surface
    type: tranches
    mesure: surface_par_personne
    tranches: [{de: 9, a: 12.5, points: 1}, {de: 12.5, points: 3}]
  - {id: ex, libelle: Ex, type: expression, condition: "dalo", valeur: "2 * anciennete_mois"}
"""
    md = publier_markdown(charger_grille("t.yaml", texte=texte))
    refus = section(md, "En cas de refus d'un logement")
    assert (
        "−5 points par refus d'un logement adapté (que le refus soit jugé légitime ou non) "
        "dans le dernier mois" in refus
    )
    assert "Un refus jugé légitime" not in refus
    assert "0,5 point par mois d'ancienneté de la demande au-delà du premier mois" in md
    assert "moins de 20 % : 2 points" in md
    assert "de 9 à moins de 12,5 m² : 1 point" in md and "à partir de 12,5 m² : 3 points" in md
    assert "Tous les critères de cette grille s'additionnent." in md
    assert "### Critères" in md
    assert "points calculés : 2 × ancienneté de la demande" in md
    assert "Critères non transcrits" not in md


def test_publication_reste_au_premier_etage() -> None:
    """rules.publication imports nothing above `rules`, even after rendering every grid."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rules.chargement import charger_grille\n"
        "from rules.publication import publier_html, publier_markdown\n"
        "for p in sorted(Path('rules/grilles').glob('*.yaml')):\n"
        "    g = charger_grille(p); publier_markdown(g); publier_html(g)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cotation', 'matching', "
        "'simulation', 'api'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=RACINE,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(RACINE)},
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("departement", "attendu"),
    [
        ("31", "(36 mois)"),
        ("35", "(30 mois pour un T1 à T3, 24 mois pour un T4 et plus)"),
        ("75", ""),  # no value recorded: the wording stays, without a number
    ],
)
def test_delai_anormalement_long_selon_le_departement(departement: str, attendu: str) -> None:
    texte = f"""
grille: {{territoire: T, version: v, valide_du: 2025-01-01, statut: partielle,
         departement: "{departement}"}}
criteres:
  - id: dal
    libelle: DAL
    type: duree
    points_par_mois: 0
    paliers: [{{au_dela_de: delai_anormalement_long, points: 5}}]
"""
    md = publier_markdown(charger_grille("t.yaml", texte=texte))
    ligne = next(line for line in md.splitlines() if line.startswith("| **DAL**"))
    assert (
        f"| +5 points au-delà du délai anormalement long du département {attendu}".rstrip() in ligne
    )
