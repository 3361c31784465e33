"""Rule theory's table: Elman rows from bptt.theory.meanfield, gated rows from bptt.theory.gated and
bptt.theory.dmft."""

import math

import numpy as np
import pytest

from bptt.core import cells, gradients
from bptt.pipeline import tables, theory
from bptt.theory import dmft, gated, meanfield


def test_theory_table_holds_elman_and_gated_rows_with_their_predictions(monkeypatch):
    monkeypatch.setattr(theory, "LARGE_H", 8)  # the large-network measurement, kept tiny here
    monkeypatch.setattr(theory, "CURVE_POINTS", 3)
    monkeypatch.setattr(theory, "DMFT_UNITS", 64)  # the dynamical mean field's samples, kept few here
    table = theory.theory_table(["tanh", "relu"], [0.5, 1.0], 1.0, ["rnn", "lstm", "gru"], [0.0, 1.0, "chrono"])
    assert table.schema.equals(tables.THEORY, check_metadata=False)
    rows = table.to_pandas()
    gated_rows = rows[rows["cell"] != "rnn"]
    # relu has no gated theory; chrono has no single rate: neither has a row.
    assert set(gated_rows["activation"]) == {"tanh"} and set(gated_rows["gate_bias"]) == {"0", "1"}
    assert set(rows[rows["cell"] == "rnn"]["activation"]) == {"tanh", "relu"}
    assert rows[rows["cell"] == "rnn"]["gate_bias"].isna().all()
    for row in gated_rows.itertuples():
        want = gated.gated_modes(row.cell, "tanh", row.radius, float(row.gate_bias))
        assert (row.rate, row.transient_rate) == want
        assert math.isnan(row.critical_radius) and row.chi1 == row.rate**2
        assert (
            np.isfinite(row.large_h_rate) == row.on_grid == np.isfinite(row.dmft_rate) == np.isfinite(row.dmft_spread)
        )
    row = gated_rows[gated_rows["on_grid"]].iloc[-1]
    want = []  # the dynamical mean field over the large-H window, seeds 0 to DMFT_SEEDS - 1
    for seed in range(theory.DMFT_SEEDS):
        log_h, _ = dmft.dmft_profile(row.cell, "tanh", row.radius, float(row.gate_bias), 120, units=64, seed=seed)
        want.append(10 ** np.polyfit(np.arange(59, -1, -1), log_h[60:], 1)[0])  # BURN_IN, WINDOW = 60, 60
    assert (theory.BURN_IN, theory.WINDOW) == (60, 60)
    assert row.dmft_rate == pytest.approx(np.median(want), rel=1e-12) and len(set(want)) == theory.DMFT_SEEDS
    assert row.dmft_spread == pytest.approx(max(want) - min(want), rel=1e-12)
    elman = rows[(rows["cell"] == "rnn") & (rows["activation"] == "tanh") & (rows["radius"] == 1.0)].iloc[0]
    assert elman.rate == meanfield.gradient_rate("tanh", 1.0)


def test_one_stacked_sweep_measures_what_a_network_built_at_each_radius_gives():
    got = theory.measured_rates("lstm", "tanh", [0.5, 1.5], 1.0, 8, seed=3, gate_bias=1.0)
    for radius, rate in zip([0.5, 1.5], got):
        rng = np.random.default_rng(3)
        cell = cells.make("lstm", input_size=8, hidden_size=8, activation="tanh", radius=radius, rng=rng, gate_bias=1.0)
        x = rng.standard_normal((theory.BURN_IN + theory.WINDOW, theory.BATCH, 8))
        log_norm = gradients.lag_profile(cell, x, rng.standard_normal((theory.BATCH, 8)))[theory.BURN_IN :]
        want = 10 ** np.polyfit(np.arange(theory.WINDOW - 1, -1, -1), log_norm.mean(axis=1), 1)[0]
        assert rate == pytest.approx(want, rel=1e-12)


def test_a_radius_whose_square_leaves_float64_gives_no_gated_prediction_rather_than_an_error(monkeypatch):
    # The 1e300-radius grid of the workflow tests: the gates' variance is inf, the quadrature had no scale
    # (ZeroDivisionError). Its rows say NaN, as the Elman theory's tanh rows do.
    monkeypatch.setattr(theory, "LARGE_H", 8)
    monkeypatch.setattr(theory, "CURVE_POINTS", 3)
    monkeypatch.setattr(theory, "DMFT_UNITS", 64)
    rows = theory.theory_table(["tanh"], [1.0e300], 1.0, ["rnn", "lstm"], [0.0]).to_pandas()
    at = rows[rows["radius"] == 1.0e300]
    assert set(at["cell"]) == {"rnn", "lstm"} and at["rate"].isna().all()
