"""collect: the decay fit, the regime thresholds, the shape of both tables, damaged records."""

import math

import numpy as np
import pytest

from bptt.pipeline import cli, collect, experiment, paths, tables

LOG10_E = math.log10(math.e)


def _record(log10_grad_h, overflow=(False,), with_c=False):
    grad = np.atleast_2d(np.asarray(log10_grad_h, float))
    seeds, steps = grad.shape
    record = {name: grad.copy() for name in ("log10_grad_h", "log10_jac", "log10_dW_hh_contrib", "gamma_step")}
    if with_c:
        record["log10_grad_c"] = grad - 1
    return record | {
        "seed": np.arange(seeds),
        **{f"log10_grad_norm_{p}": np.zeros(seeds) for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
        "spectral_radius": np.full(seeds, 0.9),
        "spectral_norm": np.full(seeds, 0.9),
        "gamma_bound": np.full(seeds, 0.25),
        "overflow": np.array(overflow * seeds if len(overflow) == 1 else overflow),
        "overflow_step": np.where(np.array(overflow * seeds if len(overflow) == 1 else overflow), 2, -1),
        "unmeasurable_steps": np.zeros(seeds, dtype=int),
        "loss": np.ones(seeds),
        "loss_at": np.array("last"),
    }


def test_with_a_loss_at_every_step_the_fit_follows_the_median_source_not_the_total():
    lag = np.arange(5, -1, -1)  # steps 0..5
    record = _record(np.zeros((1, 6))) | {  # the total: flat
        "loss_at": np.array("every"),
        "log10_source_grad": -0.3 * lag[None].astype(float),  # one source: 10**-0.3 per step
        "log10_lag_grad": -0.5 * lag[None].astype(float),
    }
    gradients, summary = collect.point_tables(_key("rnn", "tanh", 0.9, 6), record, 0.01)
    assert summary.column("decay_rate")[0].as_py() == pytest.approx(10**-0.3, rel=1e-12)
    assert summary.column("regime")[0].as_py() == "vanishing" and summary.column("loss_at")[0].as_py() == "every"
    assert gradients.column("log10_lag_grad").to_pylist() == (-0.5 * lag).tolist()
    _, last = collect.point_tables(_key("rnn", "tanh", 0.9, 6), _record(np.zeros((1, 6))), 0.01)
    assert last.column("regime")[0].as_py() == "stable" and last.column("loss_at")[0].as_py() == "last"


def _key(cell, activation, radius, seq_len):
    init, bias = ("orthogonal", "none") if cell == "rnn" else ("orthogonal", "0")
    return {
        "cell": cell,
        "activation": activation,
        "radius": radius,
        "recurrent_init": init,
        "gate_bias": bias,
        "seq_len": seq_len,
    }


def test_exact_geometric_decay_is_recovered():
    lag = np.arange(9, -1, -1)
    gradients, summary = collect.point_tables(_key("rnn", "tanh", 0.9, 10), _record(lag * math.log10(0.7)), 0.01)
    row = summary.to_pylist()[0]
    assert row["decay_rate"] == pytest.approx(0.7, rel=1e-12)
    assert row["timescale"] == pytest.approx(-1 / math.log(0.7), rel=1e-12)
    assert row["log10_end_to_end"] == pytest.approx(9 * math.log10(0.7), rel=1e-12)
    assert row["regime"] == "vanishing" and row["overflow_step"] == -1
    assert row["pascanu_bound"] == pytest.approx(0.225)
    assert gradients.column("lag").to_pylist() == list(lag)
    np.testing.assert_allclose(gradients.column("log10_pascanu_bound"), lag * math.log10(0.225))
    assert gradients.column("log10_grad_c").null_count == 10


@pytest.mark.parametrize(
    "slope, overflow, expected",
    [
        (-0.011, False, "vanishing"),
        (-0.009, False, "stable"),
        (0.009, False, "stable"),
        (0.011, False, "exploding"),
        (-0.5, True, "exploding"),
    ],
)
def test_regime_thresholds(slope, overflow, expected):
    lag = np.arange(19, -1, -1)
    _, summary = collect.point_tables(_key("rnn", "relu", 1.0, 20), _record(slope * lag, (overflow,)), 0.01)
    assert summary.column("regime").to_pylist() == [expected]


def test_growth_has_infinite_timescale_and_non_finite_lags_are_skipped():
    grad = np.arange(5, -1, -1) * 0.1
    grad[0] = np.nan  # e.g. a step cut off by an overflow
    _, summary = collect.point_tables(_key("rnn", "linear", 1.5, 6), _record(grad), 0.01)
    row = summary.to_pylist()[0]
    assert row["decay_rate"] == pytest.approx(10**0.1, rel=1e-12)
    assert row["timescale"] == math.inf


def test_single_step_has_no_fit_and_no_regime():
    _, summary = collect.point_tables(_key("gru", "tanh", 1.0, 1), _record([[0.3]]), 0.01)
    row = summary.to_pylist()[0]
    assert math.isnan(row["decay_rate"]) and row["regime"] is None


def test_tables_have_the_declared_schema_and_one_row_per_seed_and_step():
    grad = np.array([[0.0, -1.0, -2.0], [0.0, -2.0, -4.0]])
    gradients, summary = collect.point_tables(
        _key("lstm", "tanh", 1.0, 3), _record(grad, (False, True), with_c=True), 0.01
    )
    assert gradients.schema.equals(tables.GRADIENTS) and summary.schema.equals(tables.SUMMARY)
    assert gradients.column("seed").to_pylist() == [0, 0, 0, 1, 1, 1]
    assert gradients.column("step").to_pylist() == [0, 1, 2, 0, 1, 2]
    assert gradients.column("log10_grad_c").null_count == 0
    assert summary.column("overflow_step").to_pylist() == [-1, 2]
    # Pascanu's bound is a statement about the Elman recurrence: no value for a gated cell.
    assert summary.column("pascanu_bound").null_count == 2 and gradients.column("log10_pascanu_bound").null_count == 6
    assert summary.column("gate_bias").to_pylist() == ["0", "0"]
    assert summary.column("gate_bias_value").to_pylist() == [0.0, 0.0]


def test_the_tables_answer_a_data_users_queries_without_nulls_or_casts():
    # Issue 21: gate_bias '1' missed a filter on 1.0, the Elman rows' null gate_bias fell out of a
    # groupby, overflow_step loaded as float64, and every user subtracted the last step by hand.
    grad = np.array([[-3.0, -2.5, -1.0], [np.nan, -4.0, -2.0]])
    gradients, summary = collect.point_tables(_key("rnn", "relu", 1.0, 3), _record(grad, (False, True)), 0.01)
    frame, runs = gradients.to_pandas(), summary.to_pandas()
    assert frame["gate_bias"].tolist() == ["none"] * 6 and frame["gate_bias_value"].isna().all()
    assert gradients.column("gate_bias_value").null_count == 6  # null in the file: DuckDB's IS NULL
    assert len(frame.groupby(["cell", "gate_bias", "seed"])) == 2
    assert runs["overflow_step"].dtype == np.int64 and runs["overflow_step"].tolist() == [-1, 2]
    np.testing.assert_array_equal(frame["log10_grad_h_relative"], [-2.0, -1.5, 0.0, np.nan, -2.0, 0.0])
    _, lstm = collect.point_tables(_key("lstm", "tanh", 1.0, 3) | {"gate_bias": "1"}, _record(grad), 0.01)
    assert lstm.to_pandas().query("gate_bias_value == 1.0")["seed"].tolist() == [0, 1]


def test_a_rate_that_rounds_to_one_has_an_infinite_timescale():
    # Issue 8, item 3: a fitted slope of -1e-17 (linear, rho = 1) gave timescales of 2e16-1e17 steps
    # for a decay rate that prints as exactly 1.0; inf is what the README promises.
    assert 10.0**-1e-17 == 1.0
    np.testing.assert_array_equal(
        collect.timescale(np.array([10.0**-1e-17, 1.5, 0.5, np.nan])), [np.inf, np.inf, -1 / np.log(0.5), np.nan]
    )


def test_a_damaged_record_is_moved_aside_and_named(tmp_path):
    # Issue 8, item 10: a truncated record made collect fail with zipfile.BadZipFile, without naming
    # the file, at every rerun. Now it is set aside, so the next run recomputes it, and named.
    path = tmp_path / "T20.npz"
    cli.write({name: np.zeros(1) for name in experiment.RECORD}, str(path))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(SystemExit, match=f"{path} could not be read .* moved to {path}.corrupt; run snakemake again"):
        collect.read_record(str(path))
    assert not path.exists() and (tmp_path / "T20.npz.corrupt").exists()


@pytest.mark.parametrize("edit", [{"radius": [0.9, 1.5]}, {"seq_len": [4]}])
def test_an_intact_record_written_for_another_config_is_named_and_moved_aside(tmp_path, monkeypatch, edit):
    # Issue 17, item 5: a record that does not match the config was collected under the config's points.
    monkeypatch.chdir(tmp_path)
    config_grid = {"cell": ["rnn"], "activation": ["tanh"], "seq_len": [3], "radius": [0.9, 1.2]}
    config_grid |= {"recurrent_init": ["orthogonal"], "gate_bias": ["0"]}
    output = tmp_path / paths.run_path("rnn", "tanh", 3)
    argv = "--cell rnn --activation tanh --seq-len 3 --recurrent-init orthogonal --gate-bias 0 --seeds 1"
    argv += " --batch-size 2 --hidden-size 3 --input-size 2 --input-scale 1 --loss mse --num-classes 2"
    argv += " --jacobian-batch 1 --radius 0.9 1.2"
    experiment.main([*argv.split(), "--output", str(output)])
    collect.collect(config_grid, 0.01)  # the record matches its config
    config_grid |= edit
    output = tmp_path / paths.run_path("rnn", "tanh", config_grid["seq_len"][0])
    if "seq_len" in edit:
        experiment.main([*argv.split(), "--output", str(output)])  # a T = 3 record where T = 4 belongs
    with pytest.raises(SystemExit, match=f"{output.relative_to(tmp_path)} does not match the config: it holds"):
        collect.collect(config_grid, 0.01)
    assert not output.exists() and output.with_name(output.name + ".corrupt").exists()


def test_a_curve_that_drops_then_holds_is_described_by_its_first_step_and_called_vanishing():
    # 1.26 decades lost in the first step back, then 10**-0.007 per step: over 200 steps the fitted
    # slope is within the tolerance, but only 10**-1.95 is kept a hundred steps back.
    lag = np.arange(199, -1, -1)
    grad = np.where(lag == 0, 0.0, -1.26 - 0.007 * (lag - 1))
    _, summary = collect.point_tables(_key("lstm", "tanh", 1.0, 200), _record(grad), 0.01)
    row = summary.to_pylist()[0]
    slope = math.log10(row["decay_rate"])
    assert -0.01 < slope < 0, "the fitted rate alone would call it stable"
    assert row["log10_first_step"] == pytest.approx(-1.26, abs=1e-12)
    assert row["decay_rate_after_first"] == pytest.approx(10**-0.007, rel=1e-12)
    assert row["kept_lag"] == 100 and row["log10_kept"] == pytest.approx(-1.26 - 0.007 * 99, abs=1e-12)
    assert row["regime"] == "vanishing"


def test_geometric_decay_has_the_same_rate_before_and_after_the_first_step_and_short_runs_keep_at_their_end():
    lag = np.arange(9, -1, -1)
    _, summary = collect.point_tables(_key("rnn", "tanh", 0.9, 10), _record(lag * math.log10(0.7)), 0.01)
    row = summary.to_pylist()[0]
    assert row["log10_first_step"] == pytest.approx(math.log10(0.7), rel=1e-12)
    assert row["decay_rate_after_first"] == pytest.approx(0.7, rel=1e-12)
    assert row["kept_lag"] == 9 and row["log10_kept"] == pytest.approx(9 * math.log10(0.7), rel=1e-12)
    _, single = collect.point_tables(_key("gru", "tanh", 1.0, 1), _record([[0.3]]), 0.01)
    one = single.to_pylist()[0]
    assert math.isnan(one["log10_first_step"]) and math.isnan(one["log10_kept"]) and one["kept_lag"] == 0


def test_an_exactly_zero_gradient_at_the_kept_lag_is_vanishing_whatever_the_fit():
    lag = np.arange(149, -1, -1)
    grad = np.zeros(150)
    grad[lag == 100] = -np.inf  # a ReLU network whose units were all inactive at some step between
    _, summary = collect.point_tables(_key("rnn", "relu", 1.0, 150), _record(grad), 0.01)
    row = summary.to_pylist()[0]
    assert row["decay_rate"] == pytest.approx(1.0) and row["log10_kept"] == -math.inf
    assert row["regime"] == "vanishing"
