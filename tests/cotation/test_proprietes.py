"""Properties of the engine, checked on random applications and random grids."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DATE_REFERENCE, lots_de_demandes

from cotation.moteur import compiler, evaluer
from cotation.table import table_depuis_demandes
from rules.chargement import charger_grille
from rules.grille import Grille

EXEMPLE = compiler(charger_grille("rules/grilles/exemple_complet.yaml"))
TOULOUSE = compiler(charger_grille("rules/grilles/toulouse_metropole.yaml"))
FAST = settings(max_examples=40, deadline=None)

# Flags that only ever enter positive-points criteria of the example grid (drapeaux, groups,
# the combination bonus): switching one on may never lower a score.
POSITIVE_FLAGS = ["pdalhpd", "motif_violences_familiales", "motif_procedure_expulsion",
                  "motif_rapprochement_travail", "motif_logement_insalubre", "prioritaire_f", "prioritaire_b"]


@FAST
@given(lots_de_demandes(), st.sampled_from(POSITIVE_FLAGS))
def test_a_positive_criterion_becoming_true_never_lowers_a_score(demandes, flag):
    table = table_depuis_demandes(demandes)
    before = evaluer(EXEMPLE, table, DATE_REFERENCE).score
    table[flag] = True
    after = evaluer(EXEMPLE, table, DATE_REFERENCE).score
    assert np.all(after >= before)


@st.composite
def grid_with_a_group(draw):
    """A grid of flags, some in one exclusive group, with random positive or negative points."""
    flags = ["dalo", "pdalhpd", "handicap", "parent_isole", "mutation", "motif_handicap", "couple"]
    chosen = draw(st.lists(st.sampled_from(flags), min_size=2, max_size=len(flags), unique=True))
    in_group = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    points = draw(st.lists(st.integers(-20, 60), min_size=len(chosen), max_size=len(chosen)))
    return Grille.model_validate({
        "grille": {"territoire": "T", "version": "1", "valide_du": "2020-01-01", "statut": "exemple"},
        "groupes": [{"id": "g", "libelle": "Groupe"}],
        "criteres": [
            {"id": f, "libelle": f, "type": "drapeau", "condition": f, "points": p,
             **({"groupe": "g"} if grouped else {})}
            for f, grouped, p in zip(chosen, in_group, points, strict=True)
        ],
    })


@FAST
@given(lots_de_demandes(), grid_with_a_group())
def test_an_exclusive_group_scores_its_best_member_only(demandes, grid):
    cot = evaluer(grid, table_depuis_demandes(demandes), DATE_REFERENCE)
    members = [j for j, c in enumerate(grid.criteres) if c.groupe == "g"]
    others = [j for j, c in enumerate(grid.criteres) if c.groupe is None]
    raw, kept = cot.bruts, cot.retenus
    expected = raw[:, others].sum(axis=1)
    if members:
        expected = expected + raw[:, members].max(axis=1)
        assert np.all(np.count_nonzero(kept[:, members], axis=1) <= 1)
    np.testing.assert_array_equal(cot.score, expected)
    np.testing.assert_array_equal(kept.sum(axis=1), cot.score)


@FAST
@given(lots_de_demandes(), st.integers(0, 1000), st.integers(1, 1000))
def test_duration_points_never_decrease_with_the_reference_date(demandes, start, step):
    """Within the years the regulatory parameters cover (2024-2026)."""
    table = table_depuis_demandes(demandes)
    first = date(2024, 1, 1) + timedelta(days=start)
    later = min(first + timedelta(days=step), date(2026, 12, 31))
    durations = [j for j, c in enumerate(EXEMPLE.grille.criteres) if c.type == "duree"]
    a = evaluer(EXEMPLE, table, first, verifier_validite=False).bruts[:, durations]
    b = evaluer(EXEMPLE, table, later, verifier_validite=False).bruts[:, durations]
    assert np.all(b >= a)
    ta = evaluer(TOULOUSE, table, first).score
    tb = evaluer(TOULOUSE, table, later).score
    assert np.all(tb >= ta)  # every Toulouse criterion only grows with time


@FAST
@given(lots_de_demandes())
def test_scoring_is_deterministic(demandes):
    table = table_depuis_demandes(demandes)
    a, b = evaluer(EXEMPLE, table, DATE_REFERENCE), evaluer(EXEMPLE, table.copy(), DATE_REFERENCE)
    assert a.score.tobytes() == b.score.tobytes() and a.rang.tobytes() == b.rang.tobytes()
    assert a.points.tobytes() == b.points.tobytes()


@FAST
@given(lots_de_demandes(min_size=2), st.randoms(use_true_random=False))
def test_shuffling_the_table_changes_no_score_and_no_rank(demandes, rnd):
    table = table_depuis_demandes(demandes)
    order = list(range(len(table)))
    rnd.shuffle(order)
    shuffled = table.iloc[order].reset_index(drop=True)
    a = evaluer(EXEMPLE, table, DATE_REFERENCE).tableau().set_index("numero_unique")
    b = evaluer(EXEMPLE, shuffled, DATE_REFERENCE).tableau().set_index("numero_unique")
    pd.testing.assert_frame_equal(a, b.loc[a.index])


@FAST
@given(lots_de_demandes())
def test_rank_is_a_total_order_by_score_then_seniority_then_number(demandes):
    table = table_depuis_demandes(demandes)
    cot = evaluer(EXEMPLE, table, DATE_REFERENCE)
    ranked = np.flatnonzero(cot.classees)
    assert sorted(cot.rang[ranked]) == list(range(1, len(ranked) + 1))
    assert np.all(cot.rang[~cot.classees] == 0)
    keys = sorted(ranked, key=lambda i: (-cot.score[i], table["date_depot"].iloc[i], table["numero_unique"].iloc[i]))
    assert [int(cot.rang[i]) for i in keys] == list(range(1, len(ranked) + 1))
