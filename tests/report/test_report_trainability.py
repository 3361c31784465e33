"""The trainability study's report pieces, on synthetic tables whose answers are known."""

import pathlib
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from bptt.report import trainability

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "train"))
import synthetic_trainability as synthetic  # noqa: E402


def test_spearman_is_the_pearson_correlation_of_ranks():
    x = np.array([1.0, 5.0, 2.0, 9.0, 3.0])
    y = np.array([2.0, 3.0, 1.0, 8.0, 8.0])
    rx = np.array([1, 4, 2, 5, 3], dtype=float)
    ry = np.array([2, 3, 1, 4.5, 4.5])
    assert trainability.spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert trainability.spearman(x, x**3) == pytest.approx(1.0)
    assert trainability.spearman(x, -x) == pytest.approx(-1.0)


def test_the_bridge_orders_the_models_as_their_timescales_and_lengths_say():
    runs, _ = synthetic.tables()
    bridge = trainability.bridge(runs)
    tau = [synthetic.TAU[m] for _, m in synthetic.LONGEST]
    length = list(synthetic.LONGEST.values())
    assert bridge["points"] == 4
    assert bridge["rho"] == pytest.approx(trainability.spearman(np.array(tau), np.array(length, dtype=float)))
    assert bridge["low"] <= bridge["rho"] <= bridge["high"]  # every seed agrees: the interval is a point
    assert bridge["high"] - bridge["low"] < 1e-12


def test_findings_state_the_budget_check_and_the_flips():
    runs, summary = synthetic.tables()
    text = " ".join(trainability.findings(runs, summary, synthetic.SPECS))
    assert "1 of 3 (model, task) points below the ladder's top solve the rung above" in text  # gru_b0; lstm_b1 tops
    assert "1 of 60 runs change solved" in text
    assert "no model's solved rungs change" in text  # the flip is at a rate elman does not use
    assert "Spearman's rank correlation" in text
    assert "IRNN on the adding problem (long timescale, short length" in text


def test_the_figures_draw():
    runs, summary = synthetic.tables()
    assert isinstance(trainability.bridge_figure(summary, synthetic.SPECS), Figure)
    assert isinstance(trainability.ladder_figure(runs, synthetic.SPECS), Figure)


def test_the_ladder_tells_every_model_apart():
    """A panel per task and cell kind; in a panel each model has its own marker and line style and sits
    sideways of the others, so lines that agree do not hide under each other."""
    runs, _ = synthetic.tables()
    figure = trainability.ladder_figure(runs, synthetic.SPECS)
    for ax in figure.axes:
        lines = [line for line in ax.get_lines() if len(line.get_xdata()) and line.get_linestyle() != "None"]
        assert len({(line.get_marker(), str(line.get_linestyle())) for line in lines}) == len(lines)
        xs = [tuple(line.get_xdata()) for line in lines]
        assert len(set(xs)) == len(xs)


def test_a_chosen_rate_at_the_sweeps_edge_is_named_and_a_point_with_nothing_solved_is_counted_apart():
    runs, summary = synthetic.tables()
    text = trainability.edges(runs, summary, trainability.labels(synthetic.SPECS))
    assert text.startswith("The chosen learning rate lies inside the sweep (0.001 to 0.1) for 3 of the 3 points")
    assert "1 point solved no run at any rate" in text and "outside" not in text  # elman: nothing solved
    edge = summary.assign(learning_rate=np.where(summary["model"] == "irnn", 0.1, summary["learning_rate"]))
    text = trainability.edges(runs, edge, trainability.labels(synthetic.SPECS))
    assert "for 2 of the 3 points" in text and "at its largest (0.1) for IRNN on the adding problem" in text


def test_each_longest_length_says_whether_it_survives_the_budget_check():
    runs, summary = synthetic.tables()
    text = " ".join(trainability.findings(runs, summary, synthetic.SPECS))
    assert "T = 8 (interval 8 to 8; learning rate 0.01; timescale 3; one rung longer at the budget check" in text
    assert "T = 16 (interval 16 to 16; learning rate 0.01; timescale 6; the ladder's top, not budget-checked)" in text


def test_the_trained_timescale_is_given_per_cell_kind_on_the_solved_runs():
    runs, summary = synthetic.tables()
    text = " ".join(trainability.findings(runs, summary, synthetic.SPECS))
    # lstm_b1 solves 3 rungs x 5 seeds; TAU 6, trained 1.5 x 6
    assert "LSTMs (15 runs) from 6 (IQR 6 to 6) to 9 (IQR 9 to 9)" in text


def test_the_bridge_says_how_many_lengths_the_budget_check_moves():
    runs, summary = synthetic.tables()
    checked = summary.dropna(subset=["budget_rungs_moved"])
    moved = int((checked["budget_rungs_moved"] > 0).sum())
    bridge = trainability.findings(runs, summary, synthetic.SPECS)[0]
    assert f"{moved} of {len(checked)} points below the ladder's top" in bridge
    # Every checked point moving makes the lengths budget-limited, in so many words.
    all_moved = summary.assign(budget_rungs_moved=np.where(summary["budget_rungs_moved"].notna(), 1.0, np.nan))
    text = trainability.findings(runs, all_moved, synthetic.SPECS)[0]
    steps = int(runs.loc[runs["run"] == "study", "steps"].max())
    assert f"The lengths are what {steps} steps allow: at 2 times the steps, {len(checked)} of {len(checked)}" in text
