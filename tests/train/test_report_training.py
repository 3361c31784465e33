"""The report's training pieces on synthetic tables whose answers are set by synthetic_training.py."""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import synthetic_training  # noqa: E402

from bptt.report import figures  # noqa: E402
from bptt.report import training as report  # noqa: E402


@pytest.fixture(scope="module")
def tables():
    return synthetic_training.tables()


@pytest.fixture(scope="module")
def cliff():
    return synthetic_training.cliff()


@pytest.mark.parametrize(
    "spec, label",
    [
        (
            {"cell": "rnn", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": None},
            "Elman tanh RNN",
        ),
        ({"cell": "rnn", "activation": "relu", "recurrent_init": "identity", "radius": 1.0, "gate_bias": None}, "IRNN"),
        (
            {"cell": "rnn", "activation": "relu", "recurrent_init": "gaussian", "radius": 0.9, "gate_bias": None},
            "Elman relu RNN (gaussian, ρ = 0.9)",
        ),
        (
            {"cell": "lstm", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": "1"},
            "LSTM (forget bias 1)",
        ),
        (
            {
                "cell": "lstm",
                "activation": "tanh",
                "recurrent_init": "orthogonal",
                "radius": 1.0,
                "gate_bias": "chrono",
            },
            "LSTM (chrono)",
        ),
        (
            {"cell": "gru", "activation": "relu", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": "0"},
            "GRU (update bias 0, relu)",
        ),
    ],
)
def test_model_labels_name_what_differs_from_the_usual(spec, label):
    assert report.model_label(spec) == label


def test_sentences_state_the_tables_numbers(tables, cliff):
    training, summary = tables
    found = report.findings(training, summary, cliff[1])
    assert len(found) == 2
    assert found[0] == (
        "The largest gradient norm before clipping was 1.0 × 10³ (Elman tanh RNN, the adding problem, T = 40, "
        "no clipping); 2 of 48 runs had a spike above 10 times their median norm, and 24 of 24 runs with "
        "clipping were clipped at least once."
    )
    assert found[1] == (
        "On Pascanu's one-unit RNN (plain SGD, learning rate 10; the steepest gradient met on a path was 250): "
        "without clipping, the largest step in (w, b) was 5 and the 1 path ended at losses from 0.09 to 0.09; "
        "with clipping at c = 0.1, the largest step in (w, b) was 1 and the 1 path ended at losses from 0.01 to 0.01."
    )


def _lines(ax, style="-"):
    return [line for line in ax.get_lines() if line.get_linestyle() == style]


def test_gradient_traces_mark_spikes_divergences_and_the_threshold(tables):
    training, summary = tables
    figure = report.gradient_traces(training, summary, "adding", 40)
    axes = {ax.get_label(): ax for ax in figure.axes}
    spiky = axes["Elman tanh RNN, no clipping"]
    circles = [line for line in spiky.get_lines() if line.get_marker() == "o"]
    assert [tuple(line.get_ydata()) for line in circles] == [(1000.0, 1000.0)]
    lstm = axes["LSTM (forget bias 1), no clipping"]
    crosses = [line for line in lstm.get_lines() if line.get_marker() == "x"]
    assert [tuple(line.get_xdata()) for line in crosses] == [(30,)]  # the last evaluation before it diverged
    clipped = axes["GRU (update bias 0), clipping at c = 1"]
    assert any(np.allclose(line.get_ydata(), 1.0) for line in _lines(clipped, "--"))
    ticks = [line for line in clipped.get_lines() if line.get_marker() == "|"]
    assert sum(len(line.get_xdata()) for line in ticks) == 2 * 5  # 2 seeds, every evaluation after step 0
    # The clipping ticks sit inside the panel, a row per seed, so none is cut in half by the axis.
    rows = sorted({float(y) for line in ticks for y in line.get_ydata()})
    assert len(rows) == 2 and 0 < rows[0] < rows[1] < 1
    # Each model has its own y-range (shared by its clipping settings): the spike of 1000 in the Elman
    # column does not set the LSTM's.
    assert spiky.get_ylim() == axes["Elman tanh RNN, clipping at c = 1"].get_ylim()
    assert spiky.get_ylim()[1] > lstm.get_ylim()[1] * 10


def test_cliff_figure_has_a_panel_per_clipping_setting_with_its_paths(cliff):
    surface, paths = cliff
    figure = report.cliff_figure(surface, paths)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["SGD, learning rate 10, no clipping", "SGD, learning rate 10, clipping at c = 0.1"]
    drawn = {tuple(line.get_xdata()) for ax in figure.axes for line in _lines(ax)}
    assert (0.0, 3.0, 3.0) in drawn and (0.0, 0.6, 1.2) in drawn


def test_figures_are_deterministic_svg(tables, cliff):
    training, summary = tables
    first = figures.to_svg(report.gradient_traces(training, summary, "adding", 40))
    assert first == figures.to_svg(report.gradient_traces(training, summary, "adding", 40))
    assert figures.to_svg(report.cliff_figure(*cliff)).startswith("<?xml")
