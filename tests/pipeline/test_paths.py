"""Canonical grid-point names: one spelling per number, and only that one matches."""

import re

import pytest

from bptt.pipeline import paths


@pytest.mark.parametrize(
    "values, text",
    [((1, 1.0, "1.00", "1e0"), "1"), ((0.5, "0.50", ".5"), "0.5"), ((1.25,), "1.25"), ((1e-5,), "1e-05"), ((2.5e20,), "2.5e+20")],
)
def test_spellings_of_one_number_share_one_name(values, text):
    assert {paths.canonical_number(v) for v in values} == {text}
    assert float(text) == float(values[0])
    assert re.fullmatch(paths.RADIUS_PATTERN, text)


@pytest.mark.parametrize("text", ["1.0", "01", "0.50", ".5", "1.", "-1", "nan", "inf"])
def test_non_canonical_spellings_match_no_rule(text):
    assert not re.fullmatch(paths.RADIUS_PATTERN, text)


def test_canonical_number_round_trips_every_float():
    for value in [0.1, 0.3, 1 / 3, 2**-30, 123456789.125, 1.1, 1e300]:
        assert float(paths.canonical_number(value)) == value


def test_point_paths_follow_the_grid_order():
    grid = {"cell": ["rnn", "gru"], "activation": ["tanh"], "radius": [1.0, 0.5], "seq_len": [3]}
    assert paths.point_paths(grid) == [
        "results/runs/rnn/tanh/rho1_T3.npz",
        "results/runs/rnn/tanh/rho0.5_T3.npz",
        "results/runs/gru/tanh/rho1_T3.npz",
        "results/runs/gru/tanh/rho0.5_T3.npz",
    ]
