"""The `cotation` command line: thin French subcommands over the library.

Every user error (bad grid, bad file, unknown date, missing parameter) is printed in French on
standard error with exit status 1; misuse of the command itself exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from api.francais import ArgumentParser
from cotation.explication import expliquer
from cotation.moteur import ErreurCotation, evaluer_grilles
from cotation.table import ErreurDonnees, lire_demandes
from rules.chargement import ErreurRegles, charger_grille
from rules.parametres import ParametreInvalide, ParametreManquant
from rules.politique import chemin_politique

GRILLES = Path(__file__).resolve().parent.parent / "rules" / "grilles"
USER_ERRORS = (ErreurRegles, ErreurDonnees, ErreurCotation, ParametreManquant, ParametreInvalide)


class ErreurUtilisateur(Exception):
    """A mistake the user can fix; printed as is."""


def jour(text: str) -> date:
    """An ISO date argument (AAAA-MM-JJ)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » : format AAAA-MM-JJ attendu") from None


def chemin_grille(text: str) -> Path:
    """A grid file, or the name of a shipped grid (toulouse_metropole, exemple_complet...)."""
    path = Path(text)
    if not path.exists() and (GRILLES / f"{text}.yaml").exists():
        return GRILLES / f"{text}.yaml"
    return path


# Subcommands -----------------------------------------------------------------------------------


def _est_politique(path: Path) -> bool:
    """A file whose first top-level key (after comments) is `politique:` is a policy."""
    if not path.is_file():
        return False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.startswith("politique:")
    return False


def cmd_valide(args) -> int:
    """Check grids and policies (a file whose first key is `politique:` is a policy)."""
    from rules.politique import charger_politique

    failed = 0
    for name in args.grilles:
        path = chemin_grille(name)
        is_policy = _est_politique(path) or (not path.exists() and chemin_politique(name).exists())
        try:
            loaded = charger_politique(chemin_politique(name)) if is_policy else charger_grille(path)
        except ErreurRegles as exc:
            failed += 1
            print(f"✗ {name} : {len(exc.problemes)} problème(s)", file=sys.stderr)
            for problem in exc.problemes:
                print(f"  - {problem}", file=sys.stderr)
            continue
        if is_policy:
            meta = loaded.politique
            print(f"✓ {name} : politique valide — {meta.territoire}, version {meta.version}, "
                  f"{len(loaded.objectifs)} objectif(s), {len(loaded.regles_logement)} règle(s) par logement")
        else:
            meta = loaded.grille
            print(f"✓ {name} : grille valide — {meta.territoire}, version {meta.version}, "
                  f"{len(loaded.criteres)} critère(s), {len(loaded.groupes)} groupe(s), statut {meta.statut}")
    return 1 if failed else 0


def cmd_publie(args) -> int:
    from rules.publication import publier_html, publier_markdown

    grid = charger_grille(chemin_grille(args.grille))
    fmt = args.format or ("html" if args.sortie and args.sortie.suffix.lower() in (".html", ".htm") else "markdown")
    text = publier_html(grid) if fmt == "html" else publier_markdown(grid)
    if args.sortie:
        args.sortie.parent.mkdir(parents=True, exist_ok=True)
        args.sortie.write_text(text, encoding="utf-8")
        print(f"Grille publiée : {args.sortie}")
    else:
        print(text)
    return 0


def _score(args):
    grids = [charger_grille(chemin_grille(g)) for g in args.grille]
    table = lire_demandes(args.demandes, separateur=args.separateur)
    return grids, table, evaluer_grilles(grids, table, args.date)


def cmd_score(args) -> int:
    _grids, table, results = _score(args)
    frames = []
    for rows, cot in results:
        frame = cot.tableau()
        frame.insert(1, "grille", f"{cot.grille.grille.territoire} ({cot.grille.grille.version})")
        frame.index = rows
        frames.append(frame)
    out = pd.concat(frames).sort_index()
    if args.sortie:
        args.sortie.parent.mkdir(parents=True, exist_ok=True)
        if args.sortie.suffix.lower() == ".parquet":
            out.to_parquet(args.sortie, index=False)
        else:
            out.to_csv(args.sortie, index=False)
    print(resume(out, results, args.date))
    if args.sortie:
        print(f"Scores écrits : {args.sortie} ({len(out)} lignes)")
    return 0


def resume(out: pd.DataFrame, results, jour_ref: date) -> str:
    """A short French summary of a scoring run."""
    active = out["demande_active"].to_numpy(dtype=bool)
    ranked = out["rang"].to_numpy() > 0
    score = out.loc[ranked, "score"]
    lines = [
        f"Cotation au {jour_ref.strftime('%d/%m/%Y')} : {len(out)} demandes lues, {int(active.sum())} actives, "
        f"{int(ranked.sum())} classées.",
    ]
    if len(score):
        q = np.percentile(score, [10, 50, 90])
        lines.append((f"Score des demandes classées : moyenne {score.mean():.1f}, médiane {q[1]:.1f}, "
                      f"10 % sous {q[0]:.1f}, 10 % au-dessus de {q[2]:.1f}, maximum {score.max():.1f}.")
                     .replace(".", ",").rstrip(",") + ".")
    for _rows, cot in results:
        meta = cot.grille.grille
        lines.append(f"Grille « {meta.territoire} » ({meta.version}), statut {meta.statut} :")
        lines.append(f"  {'critère':<48} {'demandes':>9} {'part':>8}")
        kept = cot.retenus
        for j, c in enumerate(cot.grille.criteres):
            count = int(np.count_nonzero(kept[cot.classees, j]))
            share = count / max(int(cot.classees.sum()), 1)
            share_text = f"{share * 100:.1f}".replace(".", ",")
            lines.append(f"  {c.libelle[:48]:<48} {count:>9} {share_text:>6} %")
    return "\n".join(lines)


def cmd_explique(args) -> int:
    _grids, _table, results = _score(args)
    for _rows, cot in results:
        try:
            cot.ligne(args.numero)
        except KeyError:
            continue
        print(expliquer(cot, args.numero, complet=args.complet).texte())
        return 0
    raise ErreurUtilisateur(f"demande « {args.numero} » absente du fichier {args.demandes}")


def cmd_genere(args) -> int:
    from simulation.territoire import ecrire_territoire

    paths = ecrire_territoire(args.sortie, args.demandes, args.logements, args.graine, args.date,
                              format=args.format, epci=args.epci)
    for kind, path in paths.items():
        print(f"{kind} : {path}")
    return 0


def cmd_propose(args) -> int:
    from matching.feuille_cal import ecrire
    from matching.logement import lire_logements
    from matching.propositions import proposer
    from rules.politique import charger_politique

    grid = charger_grille(chemin_grille(args.grille))
    politique = charger_politique(chemin_politique(args.politique))
    if not politique.applicable_a(args.date):
        raise ErreurUtilisateur(f"la politique {politique.politique.version} n'est pas en vigueur le {args.date}")
    table = lire_demandes(args.demandes, separateur=args.separateur)
    logements = lire_logements(args.logements, separateur=args.separateur)
    [(_rows, cot)] = evaluer_grilles([grid], table, args.date)
    lot = proposer(logements, table, cot, politique, args.date)
    data = ecrire(lot, args.sortie)
    print(resume_propositions(data))
    print(f"Propositions : {args.sortie / 'propositions.json'} ; feuille de CAL : {args.sortie / 'feuille_cal.md'}")
    return 0


def resume_propositions(data: dict) -> str:
    r = data["resolution"]
    units = data["logements"]
    filled = sum(len(u["candidats"]) for u in units)
    def fr(x: float, digits: int = 1) -> str:
        return f"{x:.{digits}f}".replace(".", ",")

    lines = [
        f"CAL du {data['date_cal']} : {len(units)} logements, {filled} candidatures proposées "
        f"(glouton : {data['comparaison_glouton']['places_pourvues_glouton']}).",
        f"Résolution : {r['statut']}, objectif {fr(r['objectif'])}, borne {fr(r['borne'])}, "
        f"écart {fr(r['ecart_relatif'] * 100, 3)} %, {fr(r['secondes'], 2)} s.",
    ]
    for x in data["objectifs"]:
        share = "—" if x["part_annee"] is None else f"{fr(x['part_annee'] * 100)} %"
        state = "atteint" if x["atteint"] else f"manque {x['manque']}"
        lines.append(f"  {x['libelle']} [{x['groupe']}] : {share} pour {x['cible'] * 100:.0f} % visés — {state}")
    if data["logements_incomplets"]:
        lines.append(f"{len(data['logements_incomplets'])} logement(s) avec moins de candidats que prévu "
                     "(détail dans la feuille de CAL).")
    return "\n".join(lines)


def cmd_simule(args) -> int:
    """Replay a year of CALs, one or two arms, in replicas; write the report."""
    from simulation.annee import Scenario, charger_dynamique
    from simulation.monte_carlo import executer
    from simulation.national import simuler_national
    from simulation.rapport import ecrire_rapport, resultats_json

    if args.repliques < 1 or args.mois < 1 or args.demandes < 1:
        raise ErreurUtilisateur("--repliques, --mois et --demandes doivent être au moins 1")
    flux = charger_dynamique()
    if args.refus is not None:
        if not 0 <= args.refus <= 1:
            raise ErreurUtilisateur(f"--refus {args.refus} : une probabilité entre 0 et 1 est attendue")
        flux = flux.model_copy(update={"refus": flux.refus.model_copy(
            update={"valeur": {"hors_qpv": args.refus, "qpv": args.refus}})})
    sc = Scenario(bras=_bras(args), demandes=args.demandes, logements_par_an=args.logements_par_an,
                  debut=args.debut, mois=args.mois, epci=args.epci, departement=args.departement,
                  dynamique=flux, limite_temps_s=args.limite_temps, ecart_cible=args.ecart_cible)
    args.sortie.mkdir(parents=True, exist_ok=True)
    if args.national:
        out = simuler_national(sc, args.repliques, args.sortie, args.graine, args.processus, args.dask)
        print(f"Synthèse nationale : {args.sortie / 'synthese.md'} ({len(out['territoires'])} EPCI)")
        return 0
    summary, runs = executer(sc, args.repliques, args.graine, args.processus, args.dask)
    (args.sortie / "repliques.json").write_text(resultats_json({"repliques": runs}), encoding="utf-8")
    path = ecrire_rapport(summary, args.sortie)
    print(resume_simulation(summary))
    print(f"Rapport : {path} ; chiffres : {args.sortie / 'resultats.json'}")
    return 0


def _bras(args):
    """One or two arms from --grille, --politique and --methode (a single value serves both arms)."""
    from rules.politique import charger_politique
    from simulation.annee import Bras

    lists = {"grille": args.grille or ["exemple_complet"], "politique": args.politique or ["defaut"],
             "methode": args.methode or ["optimiseur"]}
    n = max(len(v) for v in lists.values())
    if n > 2 or any(len(v) not in (1, n) for v in lists.values()):
        raise ErreurUtilisateur("au plus deux bras : donnez une ou deux valeurs à --grille, --politique et --methode")
    arms = []
    for i in range(n):
        g_name, p_name, method = (v[i] if len(v) == n else v[0] for v in lists.values())
        grid = charger_grille(chemin_grille(g_name))
        policy = charger_politique(chemin_politique(p_name))
        if args.plafond_inconnu:
            policy = policy.avec_plafond_inconnu(args.plafond_inconnu)
        label = f"{'AB'[i]} : {Path(g_name).stem}, {Path(p_name).stem}, {method}" if n > 1 else \
            f"{Path(g_name).stem}, {Path(p_name).stem}, {method}"
        arms.append(Bras(label, grid, policy, method))
    return tuple(arms)


def resume_simulation(summary: dict) -> str:
    lines = [f"{summary['scenario']['repliques']} réplique(s) de {summary['scenario']['mois']} mois, "
             f"{summary['secondes']:.0f} s ({summary['scenario']['execution']})."]
    for label, arm in summary["bras"].items():
        lines.append(f"{label} :")
        for o in arm["objectifs"]:
            y = o["annee"]
            if y["moyenne"] is None:
                continue
            lines.append(f"  {o['id']} [{o['groupe']}] : {y['moyenne'] * 100:.1f} % (90 % : {y['bas'] * 100:.1f}–"
                         f"{y['haut'] * 100:.1f}) pour {o['cible'] * 100:.0f} % visés".replace(".", ","))
        housed = arm["indicateurs"]["menages_loges"]["moyenne"]
        lines.append(f"  ménages logés : {housed:.0f} ; attente moyenne des logés : "
                     f"{arm['attente_jours']['tous']['moyenne']['moyenne'] or 0:.0f} jours")
    return "\n".join(lines)


def cmd_demo(args) -> int:
    from api.demo import demo

    return demo(args.dossier, args.demandes, args.graine, args.date)


# The service -----------------------------------------------------------------------------------


def _reglages(args):
    from api.settings import ErreurReglage, Reglages

    try:
        reglages = Reglages.depuis_environnement()
    except ErreurReglage as exc:
        raise ErreurUtilisateur(str(exc)) from None
    if getattr(args, "base", None):
        reglages = Reglages(**{**reglages.__dict__, "database_url": args.base})
    return reglages


def _sessions(args):
    """Sessions on the service's database, migrated to the newest schema."""
    from sqlalchemy.exc import OperationalError

    from api.db import fabrique_sessions, migrer, moteur

    url = _reglages(args).database_url
    engine = moteur(url)
    try:
        migrer(engine)
    except OperationalError as exc:
        raise ErreurUtilisateur(f"base de données injoignable ({type(exc.orig).__name__}) : vérifiez "
                                "COTATION_DATABASE_URL ou --base") from None
    return fabrique_sessions(engine)


def cmd_service(args) -> int:
    """Start the HTTP service; an empty database gets the demo territory first."""
    import uvicorn

    from api.app import creer_application
    from api.service_demo import base_vide, charger_demo

    reglages = _reglages(args)
    sessions = _sessions(args)
    if not args.sans_demo and base_vide(sessions):
        print(f"Base vide : chargement du territoire de démonstration ({args.demandes} demandes)...")
        tokens = charger_demo(sessions, n_demandes=args.demandes)
        print("Jetons d'accès (affichés une seule fois, conservez-les) :")
        for code, token in tokens.items():
            print(f"  {code:<16} {token}")
    host = "127.0.0.1" if args.hote in ("127.0.0.1", "localhost") else args.hote
    print(f"Base : {reglages.database_url}")
    print(f"Documentation interactive : http://{host}:{args.port}/docs (schéma : /v1/openapi.json)")
    uvicorn.run(creer_application(reglages), host=args.hote, port=args.port, log_level="warning")
    return 0


def _admin(action):
    """Run one set-up action in a transaction; its French refusal becomes a user error."""
    from api.admin import ErreurAdmin

    def run(args) -> int:
        try:
            with _sessions(args).begin() as s:
                print(action(s, args))
        except ErreurAdmin as exc:
            raise ErreurUtilisateur(str(exc)) from None
        return 0

    return run


def _territoire(s, args) -> str:
    from api.admin import creer_territoire

    t = creer_territoire(s, args.code, args.nom, args.departement)
    return f"territoire {t.code} créé : {t.nom}"


def _organisation(s, args) -> str:
    from api.admin import creer_organisation

    o = creer_organisation(s, args.code, args.nom or args.code, args.role, args.territoire, args.reservataire)
    return f"organisation {o.code} créée (rôle {o.role})"


def _jeton(s, args) -> str:
    from api.admin import creer_jeton

    return creer_jeton(s, args.organisation, args.libelle)


# Parser ----------------------------------------------------------------------------------------


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="cotation", description="Cotation de la demande de logement social.")
    sub = p.add_subparsers(dest="commande", required=True, metavar="COMMANDE", parser_class=ArgumentParser)

    s = sub.add_parser("genere", help="générer un territoire synthétique (demandes et logements)")
    s.add_argument("--demandes", type=int, default=20_000, help="nombre de demandes (20 000)")
    s.add_argument("--logements", type=int, default=2_000, help="nombre de logements vacants (2 000)")
    s.add_argument("--graine", type=int, default=1, help="graine aléatoire (1)")
    s.add_argument("--date", type=jour, default=date(2026, 3, 1), help="date de référence AAAA-MM-JJ")
    s.add_argument("--epci", default="200046977", help="code SIREN de l'EPCI (Métropole de Lyon)")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")
    s.add_argument("--sortie", type=Path, required=True, help="dossier de sortie")
    s.set_defaults(fn=cmd_genere)

    s = sub.add_parser("valide", help="vérifier une ou plusieurs grilles")
    s.add_argument("grilles", nargs="+", metavar="GRILLE", help="fichier YAML ou nom d'une grille livrée")
    s.set_defaults(fn=cmd_valide)

    s = sub.add_parser("publie", help="rendre une grille lisible pour le public (Markdown ou HTML)")
    s.add_argument("grille", metavar="GRILLE")
    s.add_argument("--format", choices=["markdown", "html"])
    s.add_argument("--sortie", type=Path, help="fichier de sortie (.md ou .html) ; sinon affichage")
    s.set_defaults(fn=cmd_publie)

    for name, helptext, fn in (
        ("score", "coter un fichier de demandes à une date", cmd_score),
        ("explique", "expliquer le score d'une demande, critère par critère", cmd_explique),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("demandes", type=Path, metavar="DEMANDES", help="fichier .csv ou .parquet")
        s.add_argument("--grille", action="append", required=True, metavar="GRILLE",
                       help="grille (deux fois pour une grille mutation et une grille hors mutation)")
        s.add_argument("--date", type=jour, required=True, help="date de référence AAAA-MM-JJ")
        s.add_argument("--separateur", default=",", help="séparateur du CSV (,)")
        if name == "score":
            s.add_argument("--sortie", type=Path, help="fichier des scores (.csv ou .parquet)")
        else:
            s.add_argument("--numero", required=True, help="numéro unique de la demande")
            s.add_argument("--complet", action="store_true", help="montrer aussi les critères à 0 point")
        s.set_defaults(fn=fn)

    s = sub.add_parser("propose", help="proposer trois candidats par logement vacant pour la CAL")
    s.add_argument("demandes", type=Path, metavar="DEMANDES", help="fichier des demandes (.csv ou .parquet)")
    s.add_argument("logements", type=Path, metavar="LOGEMENTS", help="fichier des logements vacants")
    s.add_argument("--grille", required=True, metavar="GRILLE")
    s.add_argument("--politique", default="defaut", help="politique d'attribution (defaut : loi, art. L.441-1)")
    s.add_argument("--date", type=jour, required=True, help="date de la CAL AAAA-MM-JJ")
    s.add_argument("--separateur", default=",")
    s.add_argument("--sortie", type=Path, required=True, help="dossier : propositions.json et feuille_cal.md")
    s.set_defaults(fn=cmd_propose)

    s = sub.add_parser("simule", help="rejouer une année de CAL sur un territoire généré (une ou deux variantes)")
    s.add_argument("--grille", action="append", metavar="GRILLE", help="grille (deux fois pour comparer A et B)")
    s.add_argument("--politique", action="append", help="politique (deux fois pour comparer A et B)")
    s.add_argument("--methode", action="append", choices=["optimiseur", "glouton"],
                   help="optimiseur, ou glouton = pratique actuelle (deux fois pour comparer)")
    s.add_argument("--demandes", type=int, default=50_000, help="demandes en attente au départ (50 000)")
    s.add_argument("--logements-par-an", type=int, help="logements libérés dans l'année (défaut : stock / 5,8)")
    s.add_argument("--debut", type=jour, default=date(2026, 1, 1), help="début de l'année simulée AAAA-MM-JJ")
    s.add_argument("--mois", type=int, default=12, help="nombre de CAL mensuelles (12)")
    s.add_argument("--repliques", type=int, default=10, help="répliques Monte-Carlo (10)")
    s.add_argument("--graine", type=int, default=0, help="graine de la première réplique (0)")
    s.add_argument("--epci", default="200046977", help="code SIREN de l'EPCI (Métropole de Lyon)")
    s.add_argument("--departement", default="69", help="département (69)")
    s.add_argument("--national", action="store_true", help="chaque EPCI du tableau des seuils du premier quartile")
    s.add_argument("--processus", type=int, help="répliques en parallèle sur cette machine (défaut : un par cœur)")
    s.add_argument("--dask", metavar="ADRESSE", help="adresse d'un ordonnanceur Dask (tcp://hôte:8786)")
    s.add_argument("--refus", type=float, help="probabilité de refus d'un logement (défaut : dynamique.yaml)")
    s.add_argument("--limite-temps", type=float, default=20.0, help="secondes par CAL pour l'optimiseur (20)")
    s.add_argument("--ecart-cible", type=float, default=0.001, help="écart prouvé suffisant par CAL (0,001)")
    s.add_argument("--plafond-inconnu", choices=["erreur", "ecarter_logement"], default="ecarter_logement",
                   help="logement sans plafond de ressources connu (PLAI 2026) : écarté (défaut) ou erreur")
    s.add_argument("--sortie", type=Path, required=True, help="dossier : rapport.html, resultats.json")
    s.set_defaults(fn=cmd_simule)

    s = sub.add_parser("demo", help="démonstration : territoire généré, coté avec la grille d'exemple")
    s.add_argument("--dossier", type=Path, default=Path("demo"), help="dossier de sortie (demo)")
    s.add_argument("--demandes", type=int, default=20_000)
    s.add_argument("--graine", type=int, default=1)
    s.add_argument("--date", type=jour, default=date(2026, 3, 1))
    s.set_defaults(fn=cmd_demo)

    base = "URL de la base (défaut : COTATION_DATABASE_URL, sinon sqlite:///cotation.db)"
    s = sub.add_parser("service", help="démarrer le service HTTP (API et documentation interactive)")
    s.add_argument("--hote", default="127.0.0.1", help="adresse d'écoute (127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (8000)")
    s.add_argument("--base", help=base)
    s.add_argument("--sans-demo", action="store_true", help="ne pas charger le territoire de démonstration")
    s.add_argument("--demandes", type=int, default=20_000, help="demandes du territoire de démonstration (20 000)")
    s.set_defaults(fn=cmd_service)

    s = sub.add_parser("territoire", help="déclarer un territoire (EPCI) dans la base du service")
    s.add_argument("code", help="code SIREN de l'EPCI (9 chiffres)")
    s.add_argument("--nom", required=True)
    s.add_argument("--departement", help="département (ex. 31, 2A, 974)")
    s.add_argument("--base", help=base)
    s.set_defaults(fn=_admin(_territoire))

    s = sub.add_parser("organisation", help="déclarer une organisation (bailleur, EPCI, réservataire...)")
    s.add_argument("code", help="code de l'organisation (pour un bailleur : la colonne « bailleur » des logements)")
    s.add_argument("--role", required=True, choices=["admin", "epci", "bailleur", "reservataire", "guichet"])
    s.add_argument("--nom")
    s.add_argument("--territoire", help="code EPCI, pour les rôles epci et guichet")
    s.add_argument("--reservataire", help="code du réservataire, pour le rôle reservataire (prefet...)")
    s.add_argument("--base", help=base)
    s.set_defaults(fn=_admin(_organisation))

    s = sub.add_parser("jeton", help="créer un jeton d'accès pour une organisation (affiché une seule fois)")
    s.add_argument("organisation", help="code de l'organisation")
    s.add_argument("--libelle", default="", help="à quoi sert ce jeton (ex. « SI du bailleur, production »)")
    s.add_argument("--base", help=base)
    s.set_defaults(fn=_admin(_jeton))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except USER_ERRORS as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    except ErreurUtilisateur as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
