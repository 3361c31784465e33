"""The clipping study's report pieces on synthetic tables whose findings are known (synthetic_clipping.py)."""

import math

import numpy as np
import pytest
from synthetic_clipping import tables

from bptt.report import clipping
from bptt.report.figures import to_svg
from bptt.report.intervals import wilson


def test_wilson_matches_the_closed_form_and_stays_inside_0_1():
    low, high = wilson(np.array([0, 5, 8]), np.array([8, 8, 8]))
    assert low[0] == 0 and high[2] == 1
    assert high[0] == pytest.approx(0.3244, abs=1e-4)  # 0 of 8: z^2 / (n + z^2)
    assert (low[1], high[1]) == pytest.approx((0.3057, 0.8632), abs=1e-4)


def test_divergence_rates_count_the_unperturbed_runs_with_their_intervals():
    runs, _ = tables()
    rates = clipping.divergence_rates(runs).set_index(clipping.KEYS)
    row = rates.loc[("irnn", "off", 0.01)]
    assert (row["runs"], row["diverged"], row["fraction"]) == (4, 1, 0.25)
    assert (row["low"], row["high"]) == pytest.approx(tuple(x.item() for x in wilson(1, 4)))
    assert rates.loc[("big", "10", 0.01), "clipped_share"] == pytest.approx(0.2)


def test_largest_stable_learning_rate_per_setting():
    runs, _ = tables()
    ranges = clipping.largest_stable(clipping.divergence_rates(runs)).set_index(["model", "clip"])
    assert ranges.loc[("big", "off"), ["stable", "unstable"]].tolist() == [0.01, 0.1]
    assert ranges.loc[("big", "10"), ["stable", "unstable"]].tolist() == [0.1, 1.0]
    assert math.isnan(ranges.loc[("irnn", "off"), "stable"]) and ranges.loc[("irnn", "off"), "unstable"] == 0.01
    assert ranges.loc[("irnn", "10"), "stable"] == 1.0 and math.isnan(ranges.loc[("irnn", "10"), "unstable"])


def test_findings_state_the_widening_and_that_the_ranges_survive_the_perturbation():
    runs, _ = tables(flipped=(("big", "10", 1.0, 0),))  # a flip where the count stays above 0
    big, irnn = clipping.stable_sentences(runs)
    assert "no clipping, up to 0.01 (the first divergence at 0.1)" in big
    assert "clipping at c = 10, up to 0.1 (the first divergence at 1)" in big
    assert "clipping widens it by 1 step of the sweep, a factor of 10 (" in big and "the ranges are the same" in big
    assert "none: runs diverged already at the sweep's smallest learning rate, 0.01" in irnn
    assert "opens a stable range where there was none, up to 1, 100 times the smallest rate" in irnn
    flip = clipping.flip_sentence(runs)
    assert "1 of 24 runs changed their verdict" in flip and "at learning rate 1." in flip


def test_a_flip_at_the_boundary_is_named_as_such():
    runs, _ = tables(flipped=(("big", "10", 1.0, 0), ("big", "10", 1.0, 1)))  # rerun: 2 of 4 diverge at 1
    assert "the ranges are the same" in clipping.stable_sentences(runs)[0]
    runs, _ = tables(flipped=(("big", "off", 0.1, 0), ("big", "off", 0.1, 1)))
    assert "the ranges are the same" in clipping.stable_sentences(runs)[0]  # 2 of 4 still diverge at 0.1
    runs, _ = tables(flipped=(("big", "10", 0.1, 0),))  # a rerun diverges inside the clipped range
    sentence = clipping.stable_sentences(runs)[0]
    assert "the range with clipping at c = 10 moves, so it rests on a count that rounding flips" in sentence


def test_clipping_that_does_not_help_is_said():
    runs, _ = tables()
    big = runs["model"] == "big"  # with clipping as without: every seed diverges from 0.1 on
    same = runs.assign(diverged=runs["diverged"].where(~big, runs["learning_rate"] >= 0.1))
    assert "clipping does not widen it" in clipping.stable_sentences(same)[0]


def test_valve_spike_and_table():
    runs, traces = tables()
    valve = clipping.valve_sentence(runs, traces)
    assert "clipping acted on the big" not in valve  # labels, not names
    assert "Elman tanh RNN (ρ = 1.5) a median of 20% of its steps" in valve
    assert "(its first gradient's norm: 1 in the median run, 1 to 1)" in valve and valve.endswith("against c = 10.")
    assert "without clipping, 1.0 × 10⁶; with clipping at c = 10, 50 (" in clipping.spike_sentence(runs)
    table = clipping.rate_table(runs)
    assert [m["span"] for m in table["models"]] == [2, 2]
    assert table["rows"][0]["cells"][2].startswith("1 of 4 (")


def test_traced_runs_pick_a_contrast_inside_the_clipped_stable_range_and_the_figures_draw():
    runs, traces = tables()
    chosen = clipping.traced_runs(runs, traces)
    assert chosen[["model", "learning_rate"]].values.tolist() == [["big", 0.1], ["irnn", 0.01]]
    assert chosen["seed"].tolist()[1] == 0
    assert clipping.first_spike(np.array([1.0, 1.0, 1e6, 1e7])) == 2
    assert clipping.first_spike(np.array([1.0, 2.0, 3.0])) is None
    for fig in (clipping.divergence_figure(runs), clipping.trace_figure(runs, traces)):
        assert "<svg" in to_svg(fig)


def test_the_stable_range_stops_at_the_first_divergence_even_if_a_larger_rate_is_clean():
    runs, _ = tables()
    off = (runs["model"] == "big") & (runs["clip"] == "off")
    pattern = {0.01: runs["seed"] == 0, 0.1: runs["seed"] < 0, 1.0: runs["seed"] >= 0}  # 1 of 4, none, all
    for lr, bad in pattern.items():
        at = off & (runs["learning_rate"] == lr)
        runs.loc[at, "diverged"] = bad[at]
    ranges = clipping.largest_stable(clipping.divergence_rates(runs)).set_index(["model", "clip"])
    assert math.isnan(ranges.loc[("big", "off"), "stable"]) and ranges.loc[("big", "off"), "unstable"] == 0.01
