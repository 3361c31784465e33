"""The job entry: its record, its controls, its errors, and its lean imports."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from bptt.core import cells, gradients, jacobian, loss, reference, sources
from bptt.pipeline import experiment, networks, seeding

ARGS = (
    "--cell {cell} --activation tanh --seq-len {seq_len} --radius 0.9 1.2 --recurrent-init orthogonal identity"
    " --gate-bias 0 1 chrono --seeds 2 --batch-size 3 --hidden-size 4 --input-size 2 --input-scale 1"
    " --loss {loss} --num-classes 3 --jacobian-batch {jacobian_batch} --output {output}"
)
POINTS = {"rnn": 4, "lstm": 6, "gru": 4}  # radii x (inits for rnn, gate biases for lstm and gru)


def _argv(tmp_path, cell="lstm", seq_len=6, loss="cross_entropy", jacobian_batch=3, name="record", loss_at="last"):
    output = tmp_path / f"{name}-{cell}-{seq_len}-{loss}-{jacobian_batch}-{loss_at}.npz"
    text = ARGS.format(cell=cell, seq_len=seq_len, loss=loss, jacobian_batch=jacobian_batch, output=output)
    return [*text.split(), "--loss-at", loss_at], output


def _run(tmp_path, **kwargs):
    argv, output = _argv(tmp_path, **kwargs)
    experiment.main(argv)
    with np.load(output) as record:
        return dict(record)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
def test_record_holds_every_array_with_its_shape(tmp_path, cell, loss_name):
    record = _run(tmp_path, cell=cell, loss=loss_name)
    expected = set(experiment.RECORD) - (set() if cell == "lstm" else {"log10_grad_c"})
    assert set(record) == expected
    p = POINTS[cell]
    for name in experiment.STEP_ARRAYS:
        if name in record:
            assert record[name].shape == (p, 2, 6)
    for name in experiment.SEED_ARRAYS:
        assert record[name].shape == (p, 2)
    assert record["seed"].tolist() == [0, 1] and record["radius"].shape == (p,)
    np.testing.assert_allclose(record["spectral_radius"], record["radius"][:, None] * np.ones(2), rtol=1e-12)
    assert np.isfinite(record["log10_grad_h"]).all()


def test_a_stacked_job_records_what_each_network_gives_alone(tmp_path):
    # Point 4 of the LSTM job: radius 1.2, gate bias 1, seed 1, computed on its own with the core.
    record = _run(tmp_path, cell="lstm", seq_len=5)
    cell = cells.make(
        "lstm", input_size=2, hidden_size=4, activation="tanh", radius=1.2, rng=seeding.rng(1, "lstm"), gate_bias=1.0
    )
    x = seeding.inputs(1, 5, 3, 2, 1.0)
    graded = loss.cross_entropy(
        cells.forward(cell, x)[-1], seeding.readout(1, 3, 4), seeding.targets(1, "cross_entropy", 3, 3)
    )
    alone = gradients.profile(cell, x, graded.dh_last, graded.log10_scale)
    assert (record["radius"][4], record["gate_bias"][4]) == (1.2, "1")
    np.testing.assert_allclose(record["log10_grad_h"][4, 1], np.median(alone.log10_grad_h, axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(record["gamma_step"][4, 1], np.median(alone.gamma_step, axis=1), rtol=0, atol=1e-12)
    assert record["log10_grad_norm_weight_hh"][4, 1] == pytest.approx(alone.log10_grad_norm["weight_hh"], abs=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_loss_at_every_step_records_the_sources_and_the_total_of_plain_bptt(tmp_path, cell):
    # Point 1 (radius 0.9, the second variant), seed 1, by one plain reference BPTT per source L_t.
    record = _run(tmp_path, cell=cell, loss="mse", seq_len=5, jacobian_batch=2, loss_at="every")
    assert record["loss_at"] == "every" and record["log10_source_grad"].shape == (POINTS[cell], 2, 5)
    init, bias = ("identity", 0.0) if cell == "rnn" else ("orthogonal", 1.0)
    net = cells.make(
        cell, input_size=2, hidden_size=4, activation="tanh", radius=0.9, rng=seeding.rng(1, cell),
        recurrent_init=init, gate_bias=bias,
    )  # fmt: skip
    x = seeding.inputs(1, 5, 3, 2, 1.0)
    every = loss.at_every_step(
        "mse", cells.forward(net, x), seeding.readout(1, 3, 4), seeding.step_targets(1, "mse", 5, 3, 3)
    )
    dh_all = every.dh_last * 10.0 ** every.log10_scale[..., None]  # (T, B, H)
    per_source = np.zeros((5, 5, 3, 4))  # [t, k]: dL_t/dh_k
    for t in range(5):
        per_source[t, : t + 1], _ = reference.bptt(net, x[: t + 1], dh_all[t])
    # G_tau of the first two sequences (tests/core/test_sources.py holds it to plain BPTT).
    lag_grad = sources.source_profile(net, x[:, :2], every.dh_last[:, :2], every.log10_scale[:, :2]).log10_lag_grad
    total = np.linalg.norm(per_source.sum(axis=0), axis=-1)  # ||dL/dh_k||, L = sum_t L_t, (T, B)
    np.testing.assert_allclose(10.0 ** record["log10_grad_h"][1, 1], np.median(total, axis=1), rtol=1e-10)
    for tau in range(5):
        norms = np.linalg.norm([per_source[t, t - tau, :2] for t in range(tau, 5)], axis=-1)  # first two sequences
        got = record["log10_source_grad"][1, 1, 4 - tau]
        assert got == pytest.approx(np.median(np.log10(norms)), abs=1e-10), tau
        assert record["log10_lag_grad"][1, 1, 4 - tau] == pytest.approx(lag_grad[tau], abs=1e-12)
    assert "log10_source_grad" not in _run(tmp_path, cell=cell, seq_len=5, name="last")


def test_jacobian_diagnostics_of_the_first_sequence_only(tmp_path):
    full, first = _run(tmp_path, jacobian_batch=3, name="full"), _run(tmp_path, jacobian_batch=1, name="first")
    np.testing.assert_array_equal(full["log10_grad_h"], first["log10_grad_h"])
    assert not np.array_equal(full["gamma_step"], first["gamma_step"])  # a median of 3 against one sequence
    none = _run(tmp_path, jacobian_batch=0, name="none")
    assert np.isnan(none["gamma_step"]).all() and np.isfinite(none["log10_grad_h"]).all()


def test_diagnostics_switched_off_are_not_counted_as_unmeasurable(tmp_path, capsys):
    # Issue 17, item 1: with --jacobian-batch 0 every step was counted as unmeasurable and the log said
    # "gates or slopes beyond float64"; the diagnostics were not asked for, so nothing was lost.
    none = _run(tmp_path, jacobian_batch=0, name="none")
    assert (none["unmeasurable_steps"] == 0).all()
    assert "not measurable" not in capsys.readouterr().out


def test_identical_runs_give_identical_records(tmp_path):
    first, second = _run(tmp_path, name="first"), _run(tmp_path, name="second")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_the_issues_lstm_near_float64s_limit_flags_every_nan_before_its_overflow(tmp_path, capsys):
    # Issue 8, item 1: this command gave NaN at 1554 of 1629 steps of seed 2 before the overflow and
    # NaN parameter-gradient norms, unflagged, with exit code 0. Its gates saturate beyond float64
    # (pre-activations ~1e250): one step's factor is e^-(1e250), which float64 cannot carry even per
    # step, so those steps are not measurable; now each is counted and said, and nothing else is NaN.
    output = tmp_path / "x.npz"
    experiment.main(
        "--cell lstm --activation linear --radius 3 --seq-len 2000 --seeds 3 --batch-size 4 --hidden-size 16"
        " --input-size 8 --recurrent-init orthogonal --input-scale 1 --loss cross_entropy --num-classes 10"
        f" --gate-bias 0 --jacobian-batch 1 --output {output}".split()
    )
    with np.load(output) as record:
        step = record["overflow_step"][0]
        assert (step > 0).all()
        for seed in range(3):
            rows = np.stack([_nan_where_measured(record, n, seed, step[seed]) for n in experiment.STEP_ARRAYS])
            assert rows.any(axis=0).sum() == record["unmeasurable_steps"][0, seed]
            assert not np.isneginf(record["log10_grad_h"][0, seed]).any()
            # A parameter gradient is NaN only where some steps were lost (their terms are in its sum).
            assert np.isfinite(record["log10_grad_norm_weight_hh"][0, seed]) or record["unmeasurable_steps"][0, seed]
    line = next(x for x in capsys.readouterr().out.splitlines() if "seed 2: " in x)
    assert "seed 2: 1555 of 1629 steps before the overflow are not measurable (" in line
    with np.load(output) as record:  # the line names each quantity and how many of its steps were lost
        lost = {
            n: _nan_where_measured(record, n, 2, record["overflow_step"][0, 2]).sum() for n in experiment.STEP_ARRAYS
        }
    assert [f"{n} at {c}" for n, c in lost.items() if c] == line.split("(")[1].split(";")[0].split(", ")


def _nan_where_measured(record, name: str, seed: int, end: int) -> np.ndarray:
    """NaN of record[name] at the steps before `end` of point 0 and `seed`; the Jacobian diagnostics only at the
    lags they are measured at (counted from the last step before the overflow)."""
    nan = np.isnan(record[name][0, seed, :end])
    if name in experiment.JACOBIAN:
        nan &= np.isin(end - 1 - np.arange(end), jacobian.measured_lags(record[name].shape[2]))
    return nan


def test_last_finite_state_stops_before_an_overflow_per_model():
    h = np.ones((5, 2, 2, 3))
    h[3, 1, 0, 0] = np.inf
    h[0, 0, 1, 2] = np.nan
    got = networks.last_finite_state(h)
    np.testing.assert_array_equal(got[1], h[2, 1])
    np.testing.assert_array_equal(got[0], np.zeros((2, 3)))  # non-finite at step 0: nothing finite


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--radius", "0", "must be a finite number > 0"),
        ("--radius", "nan", "must be a finite number"),
        ("--seq-len", "0", "must be an integer >= 1"),
        ("--cell", "cnn", "invalid choice"),
        ("--gate-bias", "large", "must be a finite number or chrono"),
        ("--jacobian-batch", "4", "exceeds --batch-size 3"),
    ],
)
def test_bad_arguments_exit_with_a_message_and_write_nothing(tmp_path, capsys, flag, value, message):
    argv, _ = _argv(tmp_path, cell="rnn")
    argv[argv.index(flag) + 1] = value
    with pytest.raises(SystemExit) as exit_info:
        experiment.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_output_in_a_folder_that_does_not_exist_is_written_there(tmp_path):
    argv, _ = _argv(tmp_path, cell="gru")
    output = tmp_path / "new" / "folder" / "x.npz"
    argv[argv.index("--output") + 1] = str(output)
    experiment.main(argv)
    assert output.exists()


def test_entry_imports_numpy_and_the_core_only():
    code = "import sys, bptt.pipeline.experiment; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert "numpy" in loaded
    assert not {"pyarrow", "pandas", "matplotlib", "snakemake", "scipy"} & set(loaded)


def test_the_computation_receives_frozen_settings_not_the_parsed_namespace(tmp_path):
    argv, output = _argv(tmp_path)
    settings, path = experiment.parse_args(argv)
    assert isinstance(settings, experiment.Settings) and path == str(output)
    assert settings.radius == (0.9, 1.2) and settings.gate_bias == ("0", "1", "chrono")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seq_len = 7


def test_jacobian_diagnostics_beyond_lag_32_are_null_off_the_measured_lags_and_not_counted_as_unmeasurable(tmp_path):
    record = _run(tmp_path, cell="lstm", seq_len=60)
    measured = np.isin(59 - np.arange(60), jacobian.measured_lags(60))  # lags 0..32, 43, 57 and 59
    assert not measured.all()
    for name in experiment.JACOBIAN:
        assert np.isfinite(record[name][..., measured]).all() and np.isnan(record[name][..., ~measured]).all()
    assert (record["unmeasurable_steps"] == 0).all()
