"""Generated sentences: each states the numbers of the data, and none the data do not support."""

import math

import numpy as np
import pandas as pd
import pytest
import synthetic

from bptt.report import data, findings, intervals


def test_transition_sentences_state_the_measured_numbers(main):
    transitions = data.transitions(main.summary)
    sentences = findings.transition_sentences(transitions)
    rnn_tanh = next(s for s in sentences if s.startswith("Elman RNN with tanh"))
    assert f"ρ ≈ {1 / 0.7:.2f}" in rnn_tanh and "between ρ = 1.1 and ρ = 2 for every seed" in rnn_tanh
    # Every point that vanishes at every radius shares one sentence, each with its rate at the largest radius.
    (everywhere,) = [s for s in sentences if s.startswith("Vanishing at every radius")]
    assert not any("vanishes at every radius" in s for s in sentences)
    sigmoid = transitions.set_index(["cell", "activation"]).loc[("rnn", "sigmoid")]
    rate = intervals.bracket(sigmoid.last_rate, sigmoid.last_rate_low, sigmoid.last_rate_high)
    assert (
        f"Elman RNN with sigmoid {rate} (γ_f σ_max(U) = 0.5 < 1 there, so Pascanu's condition proves it)" in everywhere
    )
    # Pascanu's bound is a statement about the Elman recurrence: no gated sentence invokes it.
    gated = [s for s in sentences if s.startswith(("LSTM", "GRU"))] + everywhere.split("; LSTM")[1:]
    assert gated and not any("γ_f" in s or "Pascanu" in s or "proves" in s for s in gated)


def test_where_the_seeds_cross_one_apart_no_single_radius_is_given():
    t = synthetic.tables(radii=(0.5, 1.0, 1.5, 2.0), seeds=(0, 1, 2), cells=("rnn",), activations=("tanh",))
    summary = t.summary[t.summary.recurrent_init == "orthogonal"].copy()
    # Seed 2 reaches 1 one radius later than the others (the model's rate at rho = 1.5 is 1.05).
    summary.loc[(summary.seed == 2) & (summary.radius == 1.5), "decay_rate"] = 0.95
    moves = data.transitions(summary)
    assert not moves["seeds_agree"].iloc[0]
    assert moves["seed_brackets"].iloc[0] == ((1.0, 1.5, 2), (1.5, 2.0, 1))
    (sentence,) = findings.transition_sentences(moves)
    assert "interpolated" not in sentence
    assert "the seeds disagree: 2 cross between ρ = 1 and 1.5, 1 crosses between ρ = 1.5 and 2" in sentence
    (critical,) = findings.critical_sentences(data.critical_radii(t.theory, moves))
    assert "the measured median rate crosses 1 between ρ = 1 and ρ = 1.5, though not every seed does there" in critical


def test_survival_sentences_name_each_cell_at_the_radius_nearest_one_with_the_seeds_range(main):
    sentences = findings.survival_sentences(data.curve_shapes(main.summary), 1.1)
    assert [s.split(" at ")[0] for s in sentences] == ["Elman RNN", "LSTM", "GRU"]
    value = 100 * np.log10(synthetic.decay("rnn", "tanh", 1.1, 0.0))
    # No jitter: every seed keeps the same share, so the range is a point and three digits are printed.
    assert intervals.decades(value, value, value) + " (tanh)" in sentences[0]
    assert "(median [range] over 2 seeds)" in sentences[0]


def test_survival_and_remedy_sentences_quote_the_tables_numbers_and_name_a_first_step_apart():
    t = synthetic.tables(radii=(0.5, 1.0), seq_lens=(150,), seeds=(0, 1, 2), jitter=0.05, activations=("tanh",))
    summary = t.summary.copy()
    # The LSTM with chrono: a first step that loses 1.3 decades beyond a rate of 0.98 thereafter.
    chrono = (summary.gate_bias == "chrono") & (summary.radius == 1.0)
    summary.loc[chrono, "log10_first_step"] = [-1.2, -1.3, -1.4]
    summary.loc[chrono, "decay_rate_after_first"] = [0.97, 0.98, 0.99]
    summary.loc[chrono, "log10_kept"] = [-2.5, -2.2, -3.0]
    shapes = data.curve_shapes(summary)
    variants = {"rnn": ("orthogonal", "none"), "lstm": ("orthogonal", "0"), "gru": ("orthogonal", "0")}
    sentences = findings.remedy_sentences(shapes, 1.0, variants)
    lstm = next(s for s in sentences if s.startswith("LSTM"))
    assert "3 × 10⁻³ [1 × 10⁻³, 6 × 10⁻³] with chrono" in lstm
    assert "(losing 1.30 [1.20, 1.40] decades in the first step back, then 0.980 [0.970, 0.990] per step)" in lstm
    assert "with gate bias 0 (" not in lstm and lstm.endswith("(and with gate bias 0, the share in section 3).")
    # Each number equals the table's: the median and extremes over the seeds of the same column.
    one = summary[(summary.cell == "lstm") & (summary.gate_bias == "1") & (summary.radius == 1.0)]["log10_kept"]
    assert f"{intervals.decades(one.median(), one.min(), one.max())} with gate bias 1;" in lstm
    relu = findings.remedy_sentences(data.curve_shapes(synthetic.tables(radii=(1.0,)).summary), 1.0, variants)
    assert any(s.startswith("Elman RNN with relu") and "with the identity initialisation" in s for s in relu)


@pytest.mark.parametrize(
    "value, text",
    [
        (np.log10(3.2e-4), "3.2 × 10⁻⁴"),
        (np.log10(0.25), "0.25"),
        (12.0, "1.0 × 10¹²"),
        (-math.inf, "exactly zero"),
        (math.inf, "beyond float64 (overflow)"),
        (math.nan, "not measurable"),
    ],
)
def test_power_of_ten(value, text):
    assert findings.power_of_ten(value) == text


def test_pascanu_sentences_count_strictly_above_one():
    counts = {
        "small": 4,
        "small_vanishing": 3,
        "at_one": 2,
        "large": 5,
        "large_exploding": 1,
        "exploding": 1,
        "exploding_large": 1,
    }
    sufficient, necessary, not_sufficient = findings.pascanu_sentences(counts)
    assert "of the 4 Elman runs with γ_f σ_max(U) < 1, 3 vanish; the other 1" in sufficient
    assert "of the 1 Elman runs that explode, 1 have γ_f σ_max(U) > 1" in necessary
    assert "of the 5 Elman runs with γ_f σ_max(U) > 1, only 1 explode" in not_sufficient
    assert "the 2 runs with γ_f σ_max(U) = 1 exactly satisfy neither condition" in not_sufficient
    assert findings.pascanu_sentences(None) == []


def test_regime_sentences_report_overflow_and_unmeasurable_steps():
    t = synthetic.tables(radii=(0.5, 200.0), seq_lens=(150,), cells=("rnn",), activations=("linear",), seeds=(0,))
    summary = t.summary.assign(unmeasurable_steps=[0, 0, 3, 0])
    counts = data.regime_counts(summary)
    first, second = findings.regime_sentences(counts)
    step = int(summary.loc[summary["overflow"], "overflow_step"].min())
    assert f"{counts['overflowed']} overflowed float64" in first and f"step {step}" in first
    assert "In 1 runs, 3 steps in all could not be measured" in second and "never zeros" in second


def test_normality_sentence_uses_the_norm_over_radius(tables):
    sentence = findings.normality_sentence(data.norm_ratios(tables.eigenvalues))
    # The synthetic matrices have exactly these ratios: no spread, four digits.
    assert "‖U‖₂/ρ = 2.000 (no spread at these digits) for the gaussian" in sentence
    assert "‖U‖₂/ρ = 1.000 (no spread at these digits) for the orthogonal" in sentence


def test_summary_table_shows_each_seeds_regime_and_mixed_points():
    t = synthetic.tables(radii=(0.5, 1.0), seeds=(0, 1, 2), cells=("rnn",), activations=("relu",))
    summary = t.summary[t.summary.recurrent_init == "orthogonal"].copy()
    at_one = (summary.radius == 1.0) & (summary.seq_len == summary.seq_len.max())
    summary.loc[at_one, "regime"] = ["vanishing", "exploding", "stable"]
    table = findings.summary_table(summary, data.transitions(summary))
    entry = table["rows"][0]["rates"][1]
    assert entry["regime"] == "mixed" and entry["detail"] == "1e 1s 1v"
    assert table["rows"][0]["rates"][0]["regime"] == "vanishing" and table["rows"][0]["rates"][0]["detail"] == ""


def test_theory_sentences_compare_with_the_prediction_at_both_sizes(main, tables):
    points = data.theory_against_measurement(main.summary, tables.theory)
    sentences = findings.theory_sentences(points, 16)
    tanh = next(s for s in sentences if "with tanh" in s)  # the model: 0.7 rho measured, 0.75 rho predicted
    assert "below the prediction at 4 of 4 radii and above it at 0, within 0.045 of it elsewhere" in tanh
    assert "far from it at ρ = 1.1 (0.77 against 0.825), ρ = 2 (1.4 against 1.5)" in tanh
    # synthetic: 0.999 x rate; one network, beside the spread of the grid's seeds (none without jitter)
    assert "One network of 512 units and inputs (one draw, so no spread over networks; the grid's seeds differ " in tanh
    assert "by up to 0 at one radius) is within 0.0015 at every radius." in tanh
    linear = next(s for s in sentences if "with linear" in s)
    assert "equals the prediction at every radius" in linear


def test_critical_sentences_say_whether_the_edge_of_chaos_lies_in_the_grid(main, tables):
    moves = data.transitions(main.summary)
    sentences = findings.critical_sentences(data.critical_radii(tables.theory, moves))
    sigmoid = next(s for s in sentences if "sigmoid" in s)
    assert f"ρc = {1 / 0.22:.3g}, beyond the largest radius of the grid" in sigmoid
    tanh = next(s for s in sentences if "tanh" in s)
    assert "inside the grid" in tanh and "the measured median rate crosses 1 between" in tanh


def test_the_large_network_clause_names_only_unsteady_radii_that_are_further_off():
    def large(dev, q_star):
        return pd.DataFrame({"radius": [1.0, 1.5, 2.0], "rate": 1.0, "large_h_rate": 1.0 + np.array(dev),
                             "q_star": q_star, "large_h": 512, "min": [0.9, 0.95, 1.0],
                             "max": [0.945, 0.96, 1.0]})  # fmt: skip

    linear = findings._large_h_clause(large([0.0, 1e-16, 2e-16], [1.0, np.inf, np.inf]))
    assert linear == (
        "One network of 512 units and inputs (one draw, so no spread over networks; the grid's seeds differ by up "
        "to 0.045 at one radius) is within 0.0001 at every radius with a stationary state, "
        "and as close where the state grows without bound"
    )
    relu = findings._large_h_clause(large([0.002, 0.001, 0.036], [1.0, 1.0, np.inf]))
    assert relu.endswith(
        "within 0.0020 at every radius with a stationary state, "
        "and 0.036 off at ρ = 2, where the state grows without bound"
    )
    assert (
        findings._large_h_clause(large([0.0, 0.003, 0.0], [np.inf] * 3))
        == "One network of 512 units and inputs (one draw, so no spread over networks; the grid's seeds differ by up "
        "to 0.045 at one radius) is within 0.0030 at every radius"
    )


def test_gated_theory_sentences_say_where_the_prediction_holds_and_where_it_misses(tables):
    # Synthetic: the 512-unit rate lies 0.001 above the static prediction at rho 0.5 and 0.9 and 0.02 above
    # it at 1.1 and 2; the dynamical prediction is the static one, except the LSTM's at rho > 1, 0.019 up
    # (so it closes the gap there); the grid's model rate is the prediction / 0.95.
    points = data.gated_theory_against_measurement(tables.summary, tables.theory)
    assert set(points["cell"]) == {"lstm", "gru"} and set(points["gate_bias"]) == {"0", "1"}  # no chrono
    sentences = findings.gated_theory_sentences(points, 16)
    assert len(sentences) == 2 * 2 * 2  # cells x (tanh, sigmoid) x numeric gate biases
    lstm = next(s for s in sentences if s.startswith("LSTM with tanh, gate bias 0:"))
    assert "with 512 units the measured rate is within 0.0010 of the dynamical mean-field prediction at every" in lstm
    assert "at every radius (its range over Monte Carlo seeds: up to 0.002); the static" in lstm
    assert (
        "the static mean field (steps independent) is off by up to 0.020 (below the measured rate at ρ = 1.1)" in lstm
    )
    assert "further than the dynamical one at 2 of 4 radii" in lstm
    gru = next(s for s in sentences if s.startswith("GRU with tanh, gate bias 0:"))
    rate = 0.95 * synthetic.decay("gru", "tanh", 1.1, 0.0, ("orthogonal", "0"))  # the first of two equal gaps
    assert "within 0.0010 of the dynamical mean-field prediction at ρ = 0.5, 0.9" in gru
    assert f"off by more than 0.005 at 2 radii, most at ρ = 1.1, where it is {rate + 0.02:.3f}, above the" in gru
    assert "no further than the dynamical one at any radius" in gru
    # The grid's median against the dynamical prediction, with the digits of every other gap (0.00 read as agreement).
    mine = points[(points.cell == "lstm") & (points.activation == "tanh") & (points.gate_bias == "0")]
    gap = (mine["median"] - mine["dmft_rate"]).abs().max()
    assert gap > 0.005 and f"at H = 16 the grid's median rate is within {gap:.4f} of it" in lstm


def test_summary_table_prints_each_rate_with_the_seeds_range_below_it():
    t = synthetic.tables(radii=(0.5, 1.0), seeds=(0, 1, 2), cells=("rnn",), activations=("tanh",), jitter=0.05)
    summary = t.summary[t.summary.recurrent_init == "orthogonal"]
    entry = findings.summary_table(summary, data.transitions(summary))["rows"][0]["rates"][1]
    rates = summary[(summary.radius == 1.0) & (summary.seq_len == summary.seq_len.max())]["decay_rate"]
    value, spread = intervals.parts(rates.median(), rates.min(), rates.max())
    assert (entry["rate"], entry["spread"]) == (value, spread) and spread.startswith("[")


@pytest.mark.parametrize(
    "dmft_rate,says",
    [
        ([0.80, 0.90], "further than the dynamical one at every radius"),
        ([0.80, 0.97], "further than the dynamical one at 1 of 2 radii"),
        ([0.70, 0.97], "no further than the dynamical one at any radius"),
    ],
)
def test_the_static_theory_is_set_beside_the_dynamical_one_as_the_numbers_fall(dmft_rate, says):
    # The 512-unit rates 0.80 and 0.90; the static prediction 0.75 and 0.95 (off by 0.05 each way).
    large = pd.DataFrame(
        {"radius": [0.5, 1.5], "large_h_rate": [0.80, 0.90], "rate": [0.75, 0.95], "dmft_rate": dmft_rate}
    )
    text = findings._static_clause(large)
    assert text.startswith("the static mean field (steps independent) is off by up to 0.050 (below the measured")
    assert text.endswith(says), text
