"""The HTTP service on loopback, on SQLite and on PostgreSQL: latencies, bulk import, a proposal run.

For each database, a real server (uvicorn, one process) is started on 127.0.0.1 over a fresh
database, then measured from this process with an HTTP client:

- p50 / p95 latency of the applicant information endpoint (after one warm-up read, whose time
  is reported too) and of scoring one application;
- bulk import of 100,000 applications in batches of 10,000 (JSON), applications per second;
- the end-to-end time of a proposal run of 200 units over 20,000 applications (POST, then one
  long-polling read that answers when the run ends), against the same scoring + `proposer` call
  made in this process on the same data (median of five runs each way).

    python -m benchmarks.service                 # SQLite and PostgreSQL
    python -m benchmarks.service --quick         # smaller import (20,000), fewer reads
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx2 as httpx
import numpy as np
import psycopg

from api.admin import creer_jeton, creer_organisation, creer_territoire
from api.db import fabrique_sessions, migrer, moteur
from benchmarks import ecrire_resultats
from cotation.demande import LIST_COLUMNS
from cotation.moteur import evaluer_grilles
from cotation.table import demandes_en_texte, en_texte
from matching.propositions import proposer
from rules.chargement import charger_grille
from rules.politique import charger_politique
from simulation.territoire import generer_demandes, generer_logements

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "service.json"
GRILLE = ROOT / "rules" / "grilles" / "exemple_complet.yaml"
CAL = date(2026, 3, 1)
IMPORT_T, RUN_T = "200046977", "243100518"
SERVEUR_PG = os.environ.get("COTATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REPEAT = 5  # proposal runs measured each way (median)
TARGETS = {"p95_lecture_ms": 50.0, "import_100000_s": 30.0, "ratio_run_max": 1.5}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_records(table) -> list[dict]:
    """Applications as the API's JSON records (list fields as JSON lists)."""
    text = demandes_en_texte(table)
    lists = [*LIST_COLUMNS, "communes_souhaitees"]
    records = []
    for row in text.to_dict("records"):
        for name in lists:
            row[name] = [x for x in row[name].split(";") if x]
        row["propositions"] = [dict(zip(("date", "issue"), x.split(":", 1), strict=True))
                               for x in row["propositions"].split(";") if x]
        records.append({k: v for k, v in row.items() if v != ""})
    return records


def _prepare(url: str) -> dict[str, str]:
    """Schema, two territories, organisations and tokens, before the server starts."""
    engine = moteur(url)
    migrer(engine)
    tokens = {}
    with fabrique_sessions(engine).begin() as s:
        creer_territoire(s, IMPORT_T, "Import", "69")
        creer_territoire(s, RUN_T, "Toulouse Métropole", "31")
        for code, role, territoire in [("admin", "admin", None), ("epci", "epci", RUN_T),
                                       ("guichet", "guichet", RUN_T), ("bailleur", "bailleur", None)]:
            creer_organisation(s, code, code, role, territoire)
            tokens[code] = creer_jeton(s, code, "banc d'essai")
    engine.dispose()
    return tokens


def _percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "n": len(samples)}


def measure(url: str, n_import: int, n_reads: int) -> dict:
    tokens = _prepare(url)
    port = _port()
    env = {**os.environ, "COTATION_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:creer_application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env)
    out: dict = {}
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        for _ in range(100):
            try:
                client.get("/v1/openapi.json")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        auth = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}

        # bulk import: n_import applications in batches of 10,000
        big = json_records(generer_demandes(n_import, 5, CAL, epci=IMPORT_T, departement="69"))
        start = time.perf_counter()
        for i in range(0, len(big), 10_000):
            r = client.post(f"/v1/territoires/{IMPORT_T}/demandes", content=json.dumps(big[i:i + 10_000]),
                            headers={**auth["admin"], "Content-Type": "application/json"})
            r.raise_for_status()
        seconds = time.perf_counter() - start
        out["import"] = {"demandes": n_import, "secondes": round(seconds, 2), "par_seconde": round(n_import / seconds)}

        # the territory of the run: 20,000 applications, the example grid published, 200 units
        demandes = generer_demandes(20_000, 3, CAL, epci=RUN_T, departement="31")
        r = client.post(f"/v1/territoires/{RUN_T}/demandes", content=json.dumps(json_records(demandes)),
                        headers={**auth["epci"], "Content-Type": "application/json"})
        r.raise_for_status()
        text = GRILLE.read_text(encoding="utf-8").replace('code_epci: "200046977"', f'code_epci: "{RUN_T}"')
        r = client.post(f"/v1/territoires/{RUN_T}/grilles", content=text.encode(),
                        headers={**auth["epci"], "Content-Type": "application/yaml"})
        r.raise_for_status()
        version = r.json()["version"]
        client.post(f"/v1/territoires/{RUN_T}/grilles/{version}/publication", json={"date_effet": "2026-01-01"},
                    headers=auth["epci"]).raise_for_status()
        logements = generer_logements(200, 3, CAL, epci=RUN_T).assign(bailleur="bailleur")
        logements.loc[logements["financement"] == "PLAI", "financement"] = "PLUS"  # PLAI 2026 ceilings missing
        units = [{k: v for k, v in row.items() if v != ""} for row in en_texte(logements).to_dict("records")]
        client.post("/v1/logements", content=json.dumps(units),
                    headers={**auth["bailleur"], "Content-Type": "application/json"}).raise_for_status()

        # single reads
        rng = np.random.default_rng(0)
        numbers = demandes["numero_unique"].to_numpy()
        picks = numbers[rng.integers(0, len(numbers), n_reads)]
        start = time.perf_counter()
        client.get(f"/v1/territoires/{RUN_T}/demandes/{picks[0]}/information", headers=auth["guichet"]
                   ).raise_for_status()
        cold = time.perf_counter() - start
        samples = []
        for n in picks:
            t0 = time.perf_counter()
            client.get(f"/v1/territoires/{RUN_T}/demandes/{n}/information", headers=auth["guichet"]
                       ).raise_for_status()
            samples.append(time.perf_counter() - t0)
        out["information"] = {**_percentiles(samples), "premiere_lecture_ms": round(cold * 1000, 1)}
        one = json_records(demandes.iloc[:n_reads])
        samples = []
        for record in one:
            t0 = time.perf_counter()
            client.post(f"/v1/territoires/{RUN_T}/cotation", json=record, params={"date": CAL.isoformat()},
                        headers=auth["guichet"]).raise_for_status()
            samples.append(time.perf_counter() - t0)
        out["cotation_une_demande"] = _percentiles(samples)

        # the proposal run, end to end, against the same call in this process (median of REPEAT each;
        # each service run but the last is cancelled, which frees its units and households)
        service, states = [], []
        for i in range(REPEAT):
            start = time.perf_counter()
            r = client.post("/v1/propositions", json={"territoire": RUN_T, "date_cal": CAL.isoformat()},
                            headers=auth["bailleur"])
            r.raise_for_status()
            run_id = r.json()["id"]
            while True:  # long polling: the read answers when the run ends
                state = client.get(f"/v1/propositions/{run_id}", params={"attendre": 60},
                                   headers=auth["bailleur"]).json()
                if state["statut"] not in ("en_attente", "en_cours"):
                    break
            service.append(time.perf_counter() - start)
            if state["statut"] != "termine":
                raise RuntimeError(f"run {state['statut']}: {state.get('erreur')}")
            states.append(state)
            if i < REPEAT - 1:
                client.post(f"/v1/propositions/{run_id}/annulation", headers=auth["bailleur"]).raise_for_status()
        direct = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            [(_rows, cot)] = evaluer_grilles([charger_grille(GRILLE)], demandes, CAL)
            lot = proposer(logements, demandes, cot, charger_politique("defaut"), CAL)
            direct.append(time.perf_counter() - start)
        service_s, direct_s = float(np.median(service)), float(np.median(direct))
        state = states[int(np.argsort(service)[len(service) // 2])]
        out["run"] = {"logements": 200, "demandes": 20_000, "repetitions": REPEAT,
                      "service_s": round(service_s, 2), "direct_s": round(direct_s, 2),
                      "ratio": round(service_s / direct_s, 2),
                      "service_toutes_s": [round(x, 2) for x in service],
                      "direct_toutes_s": [round(x, 2) for x in direct],
                      "statut_solveur": state.get("solveur", {}).get("statut"),
                      "objectif_direct": lot.resultat.objectif,
                      "objectif_service": state.get("solveur", {}).get("objectif"),
                      "durees_service": state.get("durees")}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sans-postgres", action="store_true")
    args = parser.parse_args()
    n_import, n_reads = (20_000, 100) if args.quick else (100_000, 500)
    results: dict = {"cibles": TARGETS, "mesures": {}}
    with TemporaryDirectory() as tmp:
        results["mesures"]["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", n_import, n_reads)
    if not args.sans_postgres:
        name = f"cotation_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{SERVEUR_PG}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        try:
            results["mesures"]["postgresql"] = measure(f"{SERVEUR_PG}/{name}", n_import, n_reads)
        finally:
            with psycopg.connect(f"{SERVEUR_PG}/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(table(results))
    ecrire_resultats(results, RESULTS)


def table(results: dict) -> str:
    lines = ["| mesure | " + " | ".join(results["mesures"]) + " | cible |",
             "|---|" + "---|" * (len(results["mesures"]) + 1)]
    m = results["mesures"]

    def row(label, fn, target):
        lines.append(f"| {label} | " + " | ".join(fn(v) for v in m.values()) + f" | {target} |")

    row("information demandeur, p50 / p95", lambda v: f"{v['information']['p50_ms']} / {v['information']['p95_ms']} ms",
        "p95 < 50 ms")
    row("information, première lecture (cache froid)", lambda v: f"{v['information']['premiere_lecture_ms']} ms", "—")
    row("cotation d'une demande, p50 / p95",
        lambda v: f"{v['cotation_une_demande']['p50_ms']} / {v['cotation_une_demande']['p95_ms']} ms", "p95 < 50 ms")
    row("import en masse", lambda v: f"{v['import']['demandes']} en {v['import']['secondes']} s "
        f"({v['import']['par_seconde']}/s)", "100 000 < 30 s")
    row("propositions 200 × 20 000 : service / direct",
        lambda v: f"{v['run']['service_s']} s / {v['run']['direct_s']} s (× {v['run']['ratio']})", "× 1,5 au plus")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
