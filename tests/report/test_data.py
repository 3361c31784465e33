"""What the report selects and computes, on synthetic data whose answers follow from synthetic.py."""

import math

import numpy as np
import pandas as pd
import pytest
import synthetic

from bptt.report import data


def test_crossing_interpolates_in_log_radius():
    x = np.array([0.5, 1.0, 2.0])
    below, above, at = data.crossing(x, np.array([-2.0, -1.0, 1.0]))
    assert (below, above) == (1.0, 2.0)
    assert at == pytest.approx(2**0.5)
    assert all(math.isnan(v) for v in data.crossing(x, np.array([-3.0, -2.0, -1.0])))
    assert math.isnan(data.crossing(x, np.array([-1.0, np.inf, np.inf]))[2])


def test_the_main_variant_is_the_first_listed_init_and_gate_bias_that_apply(tables):
    main = data.main_variant(tables.summary, ["identity", "orthogonal"], ["chrono", "1"])
    assert set(main[main.cell == "rnn"].recurrent_init) == {"orthogonal"}  # identity only if alone
    assert set(main[main.cell == "lstm"].gate_bias) == {"chrono"}
    assert set(main[main.cell == "gru"].gate_bias) == {"1"}  # chrono is the LSTM's only


def test_transition_radius_is_where_the_model_decay_reaches_one(main):
    transitions = data.transitions(main.summary).set_index(["cell", "activation"])
    for (cell, activation), row in transitions.iterrows():
        expected = 1 / (synthetic.GAIN[activation] * synthetic.CELL_GAIN[cell])
        if expected <= 2.0:  # the grid's largest radius
            assert row["radius"] == pytest.approx(expected, rel=1e-9)
            assert row["below"] < expected <= row["above"]
        else:
            assert math.isnan(row["radius"]) and row["last_rate"] < 1
    # Pascanu's factor gamma_f * rho reaches 1 at rho = 1 / gamma_f; only the Elman cell has one.
    assert transitions.loc[("rnn", "tanh"), "pascanu_radius"] == pytest.approx(1.0)
    assert math.isnan(transitions.loc[("rnn", "sigmoid"), "pascanu_radius"])
    assert math.isnan(transitions.loc[("lstm", "tanh"), "pascanu_radius"])
    assert list(transitions.index.get_level_values("cell").unique()) == ["rnn", "lstm", "gru"]


def test_survival_is_the_log_ratio_lag_steps_back_for_every_variant(tables):
    survival = data.survival(tables.gradients, lag=100).set_index(["cell", "activation", "radius", "gate_bias"])
    for bias in ("0", "1", "chrono"):
        rate = synthetic.decay("lstm", "tanh", 0.9, 0.0, ("orthogonal", bias))
        assert survival.loc[("lstm", "tanh", 0.9, bias), "log10_survival"] == pytest.approx(100 * np.log10(rate))
    assert (survival["lag"] == 100).all()
    # A lag beyond the longest sequence falls back to its longest lag, and says so.
    assert (data.survival(tables.gradients, lag=10_000)["lag"] == tables.gradients["lag"].max()).all()


def test_seeds_per_regime_are_counted_in_columns_and_disagreement_is_mixed():
    t = synthetic.tables(radii=(0.5, 1.0), seeds=(0, 1, 2, 3), cells=("rnn",), activations=("relu",))
    summary = t.summary[t.summary.recurrent_init == "orthogonal"].copy()
    longest = summary.seq_len == summary.seq_len.max()
    summary.loc[longest & (summary.radius == 1.0), "regime"] = ["vanishing", "exploding", "stable", None]
    summary.loc[longest & (summary.radius == 0.5), "regime"] = ["stable", "stable", None, None]
    points = data.point_medians(summary).set_index("radius")
    counts = points[["n_vanishing", "n_stable", "n_exploding"]]
    assert counts.loc[1.0].tolist() == [1, 1, 1] and points.loc[1.0, "regime"] == "mixed"
    assert counts.loc[0.5].tolist() == [0, 2, 0] and points.loc[0.5, "regime"] == "stable"
    summary.loc[longest, "regime"] = None
    assert set(data.point_medians(summary)["regime"]) == {""}


def test_pascanu_counts_leave_runs_at_exactly_one_out_of_both_conditions(main):
    counts = data.pascanu_counts(main.summary)
    rnn = main.summary[(main.summary.cell == "rnn") & (main.summary.seq_len == main.summary.seq_len.max())]
    assert counts["small"] == int((rnn.pascanu_bound < 1 - 1e-9).sum())
    assert counts["large"] == int((rnn.pascanu_bound > 1 + 1e-9).sum())
    assert counts["small"] + counts["large"] + counts["at_one"] == len(rnn)
    assert counts["exploding_large"] == counts["exploding"]  # Pascanu's necessary condition holds
    assert data.pascanu_counts(main.summary[main.summary.cell != "rnn"]) is None


def test_every_run_without_a_regime_still_gives_counts():
    t = synthetic.tables(seq_lens=(1,), cells=("lstm",), activations=("tanh",), seeds=(0,))
    summary = t.summary.assign(regime=None)
    counts = data.regime_counts(summary)
    assert counts["no_regime"] == len(summary) and counts["vanishing"] == 0


def test_theory_against_measurement_pairs_each_elman_point_with_its_prediction(main, tables):
    points = data.theory_against_measurement(main.summary, tables.theory)
    row = points[(points.activation == "tanh") & (points.radius == 0.9)].iloc[0]
    assert row["median"] == pytest.approx(0.7 * 0.9) and row["rate"] == pytest.approx(0.75 * 0.9)
    assert set(points.cell) == {"rnn"}


def test_ordered_and_in_order():
    assert data.ordered(["gru", "zz", "rnn"], data.CELL_NAMES) == ["rnn", "gru", "zz"]
    table = pd.DataFrame({"cell": ["gru", "rnn"], "activation": ["relu", "tanh"]})
    assert list(data.in_order(table)["cell"]) == ["rnn", "gru"]


def test_elman_and_gated_theory_rows_are_told_apart(tables):
    assert set(data.elman_theory(tables.theory)["cell"]) == {"rnn"}
    assert set(data.gated_theory(tables.theory)["cell"]) == {"lstm", "gru"}
    points = data.theory_against_measurement(tables.summary, tables.theory)
    assert not points.duplicated(["activation", "radius"]).any()  # one Elman prediction per point
