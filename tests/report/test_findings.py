"""Generated findings on synthetic data whose answers follow from synthetic.py's model."""

import math

import numpy as np
import pandas as pd
import pytest
import synthetic

from bptt.report import findings


def test_crossing_interpolates_in_log_radius():
    x = np.array([0.5, 1.0, 2.0])
    below, above, at = findings.crossing(x, np.array([-2.0, -1.0, 1.0]))
    assert (below, above) == (1.0, 2.0)
    assert at == pytest.approx(2**0.5)
    assert all(math.isnan(v) for v in findings.crossing(x, np.array([-3.0, -2.0, -1.0])))
    assert math.isnan(findings.crossing(x, np.array([-1.0, np.inf, np.inf]))[2])


def test_transition_radius_is_where_the_model_decay_reaches_one(tables):
    _, summary = tables
    moves = findings.transitions(summary).set_index(["cell", "activation"])
    for (cell, activation), row in moves.iterrows():
        expected = 1 / (synthetic.GAIN[activation] * synthetic.CELL_GAIN[cell])
        if expected <= 2.0:  # the grid's largest radius
            assert row["radius"] == pytest.approx(expected, rel=1e-9)
            assert row["below"] < expected <= row["above"]
        else:
            assert math.isnan(row["radius"]) and row["last_rate"] < 1
    # Pascanu's bound gamma_f * rho reaches 1 at rho = 1 / gamma_f, inside the grid only if <= 2
    assert moves.loc[("rnn", "tanh"), "pascanu_radius"] == pytest.approx(1.0)
    assert math.isnan(moves.loc[("rnn", "sigmoid"), "pascanu_radius"])
    assert list(moves.index.get_level_values("cell").unique()) == ["rnn", "lstm", "gru"]


def test_transition_sentences_state_the_measured_numbers(tables):
    _, summary = tables
    sentences = findings.transition_sentences(findings.transitions(summary))
    rnn_tanh = next(s for s in sentences if s.startswith("Elman RNN with tanh"))
    assert f"ρ ≈ {1 / 0.7:.2f}" in rnn_tanh and "between ρ = 1.1 and ρ = 2" in rnn_tanh
    rnn_sigmoid = next(s for s in sentences if s.startswith("Elman RNN with sigmoid"))
    assert "vanishes at every radius" in rnn_sigmoid and "guaranteed" in rnn_sigmoid


def test_survival_is_the_log_ratio_lag_steps_back(tables):
    gradients, _ = tables
    kept = findings.survival(gradients, lag=100).set_index(["cell", "activation", "radius"])
    rate = synthetic.decay("lstm", "tanh", 0.9, 0.0)
    assert kept.loc[("lstm", "tanh", 0.9), "log10_survival"] == pytest.approx(100 * np.log10(rate))
    assert (kept["lag"] == 100).all()
    # A lag beyond the longest sequence falls back to its longest lag, and says so.
    assert (findings.survival(gradients, lag=10_000)["lag"] == gradients["lag"].max()).all()


def test_survival_sentences_name_each_cell_at_the_radius_nearest_one(tables):
    gradients, _ = tables
    sentences = findings.survival_sentences(findings.survival(gradients))
    assert [s.split(" at ")[0] for s in sentences] == ["Elman RNN", "LSTM", "GRU"]
    value = 100 * np.log10(synthetic.decay("rnn", "tanh", 1.1, 0.0))
    assert findings.power_of_ten(value) + " (tanh)" in sentences[0]


@pytest.mark.parametrize(
    "value, text",
    [(np.log10(3.2e-4), "3.2 × 10⁻⁴"), (np.log10(0.25), "0.25"), (12.0, "1.0 × 10¹²"),
     (-math.inf, "exactly zero"), (math.inf, "beyond float64 (overflow)"), (math.nan, "not measurable")],
)
def test_power_of_ten(value, text):
    assert findings.power_of_ten(value) == text


def test_pascanu_sentences_count_runs(tables):
    _, summary = tables
    sufficient, necessary, not_sufficient = findings.pascanu_sentences(summary)
    rnn = summary[(summary.cell == "rnn") & (summary.seq_len == summary.seq_len.max())]
    small = rnn[rnn.pascanu_bound < 1]
    assert f"of the {len(small)} Elman runs with γ_f‖U‖₂ < 1, {len(small)} vanish" in sufficient
    exploding = rnn[rnn.regime == "exploding"]
    assert f"of the {len(exploding)} Elman runs that explode, {len(exploding)} have" in necessary
    assert "only" in not_sufficient


def test_regime_sentence_reports_overflow():
    _, summary = synthetic.tables(radii=(0.5, 200.0), seq_lens=(150,), cells=("rnn",),
                                  activations=("linear",), seeds=(0,))
    sentence = findings.regime_sentence(summary)
    step = int(summary["overflow_step"].dropna().min())
    assert "1 overflowed float64" in sentence and f"step {step}" in sentence


def test_normality_sentence_uses_the_norm_over_radius(eigenvalues):
    sentence = findings.normality_sentence(eigenvalues)
    assert "‖U‖₂/ρ = 2.00 for the gaussian" in sentence and "1.00 for the orthogonal" in sentence


def test_summary_table_rows_and_columns(tables):
    gradients, summary = tables
    moves, kept = findings.transitions(summary), findings.survival(gradients)
    table = findings.summary_table(summary, kept, moves)
    assert table["radii"] == sorted(summary.radius.unique())
    assert len(table["rows"]) == 12
    row = next(r for r in table["rows"] if (r["cell"], r["activation"]) == ("gru", "linear"))
    rates = [findings.power_of_ten(np.log10(synthetic.decay("gru", "linear", r, 0))) for r in table["radii"]]
    assert [e["rate"] for e in row["rates"]] == rates
    assert [e["regime"] for e in row["rates"]] == ["vanishing", "stable", "exploding", "exploding"]


def test_ordered_and_in_order():
    assert findings.ordered(["gru", "zz", "rnn"], findings.CELL_NAMES) == ["rnn", "gru", "zz"]
    table = pd.DataFrame({"cell": ["gru", "rnn"], "activation": ["relu", "tanh"]})
    assert list(findings.in_order(table)["cell"]) == ["rnn", "gru"]
