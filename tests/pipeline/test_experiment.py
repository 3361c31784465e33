"""The job entry: its record, its controls, its errors, and its lean imports."""

import subprocess
import sys

import numpy as np
import pytest

from bptt.pipeline import experiment

ARGS = (
    "--cell {cell} --activation tanh --radius {radius} --seq-len {seq_len} --seeds 2 --batch-size 3"
    " --hidden-size 4 --input-size 2 --recurrent-init orthogonal --input-scale 1 --loss {loss}"
    " --num-classes 3 --forget-bias {forget_bias} --output {output}"
)


def _run(tmp_path, cell="lstm", radius=0.9, seq_len=6, loss="cross_entropy", name="record"):
    output = tmp_path / f"{name}-{cell}-{radius}-{seq_len}-{loss}.npz"
    experiment.main(ARGS.format(cell=cell, forget_bias=0.5 if cell == "lstm" else 0, radius=radius, seq_len=seq_len, loss=loss, output=output).split())
    with np.load(output) as record:
        return dict(record)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_record_holds_every_array_with_its_shape(tmp_path, cell, loss):
    record = _run(tmp_path, cell=cell, loss=loss)
    expected = set(experiment.RECORD) - (set() if cell == "lstm" else {"log10_grad_c"})
    assert set(record) == expected
    for name in experiment.STEP_ARRAYS:
        if name in record:
            assert record[name].shape == (2, 6)
    for name in experiment.SEED_ARRAYS:
        assert record[name].shape == (2,)
    assert record["seed"].tolist() == [0, 1]
    np.testing.assert_allclose(record["spectral_radius"], 0.9, rtol=1e-12)
    assert np.isfinite(record["log10_grad_h"]).all()


def test_shorter_sequence_gives_the_same_first_steps_forward(tmp_path):
    # The same inputs prefix and weights: the loss sits at a different step, so
    # compare what does not depend on it: the seeds' weights and spectral norms.
    short, long = _run(tmp_path, seq_len=4), _run(tmp_path, seq_len=9)
    np.testing.assert_array_equal(short["spectral_norm"], long["spectral_norm"])
    np.testing.assert_array_equal(short["gamma_step"][:, :1], long["gamma_step"][:, :1])


def test_identical_runs_give_identical_records(tmp_path):
    first, second = _run(tmp_path, name="first"), _run(tmp_path, name="second")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_forget_bias_for_another_cell_is_refused(tmp_path):
    argv = ARGS.format(cell="gru", forget_bias=1, radius=1, seq_len=3, loss="mse", output=tmp_path / "out.npz").split()
    with pytest.raises(SystemExit, match="forget-bias applies to --cell lstm only"):
        experiment.main(argv)


def test_last_finite_state_stops_before_an_overflow():
    h = np.ones((5, 2, 3))
    h[3, 1, 0] = np.inf
    np.testing.assert_array_equal(experiment.last_finite_state(h), h[2])
    assert experiment.last_finite_state(h[:3]) is not None
    np.testing.assert_array_equal(experiment.last_finite_state(np.full((2, 1, 1), np.nan)), np.zeros((1, 1)))


@pytest.mark.parametrize(
    "flag, value, message",
    [("--radius", "0", "must be a finite number > 0"), ("--radius", "nan", "must be a finite number"),
     ("--seq-len", "0", "must be an integer >= 1"), ("--cell", "cnn", "invalid choice")],
)
def test_bad_arguments_exit_with_a_message_and_write_nothing(tmp_path, capsys, flag, value, message):
    argv = ARGS.format(cell="rnn", forget_bias=0, radius=1, seq_len=3, loss="mse", output=tmp_path / "out.npz").split()
    argv[argv.index(flag) + 1] = value
    with pytest.raises(SystemExit) as exit_info:
        experiment.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_entry_imports_numpy_and_the_core_only():
    code = "import sys, bptt.pipeline.experiment; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert "numpy" in loaded
    assert not {"pyarrow", "pandas", "matplotlib", "snakemake", "scipy"} & set(loaded)
