"""The grid's jobs and points, and canonical number names."""

import pytest

from bptt.pipeline import grid, paths

GRID = {
    "cell": ["rnn", "lstm", "gru"],
    "activation": ["tanh"],
    "radius": [1.0, 0.5],
    "seq_len": [3, 7],
    "recurrent_init": ["orthogonal", "identity"],
    "gate_bias": [0.0, 1, "chrono"],
}


@pytest.mark.parametrize(
    "values, text",
    [
        ((1, 1.0, "1.00", "1e0"), "1"),
        ((0.5, "0.50", ".5"), "0.5"),
        ((1.25,), "1.25"),
        ((1e-5,), "1e-05"),
        ((2.5e20,), "2.5e+20"),
    ],
)
def test_spellings_of_one_number_share_one_name(values, text):
    assert {grid.canonical_number(v) for v in values} == {text}
    assert float(text) == float(values[0])


def test_canonical_number_round_trips_every_float():
    for value in [0.1, 0.3, 1 / 3, 2**-30, 123456789.125, 1.1, 1e300]:
        assert float(grid.canonical_number(value)) == value


def test_one_job_per_cell_activation_and_length_in_grid_order():
    assert grid.jobs(GRID) == [(c, "tanh", t) for c in ("rnn", "lstm", "gru") for t in (3, 7)]
    assert paths.run_path("lstm", "tanh", 7) == "results/runs/lstm/tanh/T7.npz"


def test_identity_multiplies_the_elman_points_and_gate_biases_the_gated_ones():
    assert grid.points(GRID, "rnn") == [(r, i, None) for r in (1.0, 0.5) for i in ("orthogonal", "identity")]
    assert grid.points(GRID, "lstm") == [(r, "orthogonal", b) for r in (1.0, 0.5) for b in ("0", "1", "chrono")]
    assert grid.points(GRID, "gru") == [(r, "orthogonal", b) for r in (1.0, 0.5) for b in ("0", "1")]


def test_a_job_takes_only_the_settings_that_apply_to_its_cell():
    elman = grid.job_settings({**GRID, "gate_bias": ["0", "1", "chrono"]}, "rnn")
    assert elman == {"radius": [1.0, 0.5], "recurrent_init": ["orthogonal", "identity"], "gate_bias": ["0"]}
    gru = grid.job_settings({**GRID, "gate_bias": ["0", "1", "chrono"]}, "gru")
    assert gru == {"radius": [1.0, 0.5], "recurrent_init": ["orthogonal"], "gate_bias": ["0", "1"]}
