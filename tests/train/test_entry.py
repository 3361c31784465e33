"""The training job entry: its record, determinism, seeds apart, divergence recorded, bad input refused."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bptt.pipeline import train

ARGS = (
    "--task {task} --model m --seq-len {seq_len} --clip {clip} --cell {cell} --activation {activation}"
    " --recurrent-init {init} --radius 1 --gate-bias {gate_bias} --optimizer {optimizer} --learning-rate {lr}"
    " --steps {steps} --batch-size 4 --eval-interval 3 --eval-batch-size 8 --seeds {seeds} --hidden-size 3"
)
DEFAULTS = {
    "task": "adding",
    "seq_len": 4,
    "clip": "off",
    "cell": "lstm",
    "activation": "tanh",
    "init": "orthogonal",
    "gate_bias": 1,
    "optimizer": "adam",
    "lr": 0.01,
    "steps": 7,
    "seeds": 2,
}


def _argv(tmp_path, name="record", **changes):
    settings = DEFAULTS | changes
    argv = ARGS.format(**settings).split() + ["--output", str(tmp_path / f"{name}.npz")]
    return argv + (["--num-classes", "3"] if settings["task"] == "recall" else [])


def _run(tmp_path, name="record", **changes):
    train.main(_argv(tmp_path, name, **changes))
    with np.load(tmp_path / f"{name}.npz") as record:
        return dict(record)


@pytest.mark.parametrize("task", ["adding", "recall"])
def test_record_holds_every_array_with_its_shape(tmp_path, task):
    record = _run(tmp_path, task=task)
    assert set(record) == set(train.RECORD) | ({"num_classes"} if task == "recall" else set())
    assert record["eval_step"].tolist() == [0, 3, 6, 7]
    assert record["eval_loss"].shape == record["eval_metric"].shape == (4, 2)
    assert record["grad_norm"].shape == record["clipped"].shape == record["train_loss"].shape == (7, 2)
    assert record["seed"].tolist() == [0, 1] and record["diverged_step"].tolist() == [-1, -1]
    assert (str(record["task"]), str(record["model"]), int(record["seq_len"]), str(record["clip"])) == (
        task,
        "m",
        4,
        "off",
    )
    assert np.isfinite(record["eval_loss"]).all()


def test_identical_runs_give_identical_records(tmp_path):
    first, second = _run(tmp_path, "first"), _run(tmp_path, "second")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_a_seed_trains_the_same_whatever_the_other_seeds(tmp_path):
    # Each seed has its own streams (bptt.pipeline.seeding), and the stack keeps models apart.
    one, three = _run(tmp_path, "one", seeds=1), _run(tmp_path, "three", seeds=3)
    np.testing.assert_allclose(one["eval_loss"][:, 0], three["eval_loss"][:, 0], rtol=1e-12)
    np.testing.assert_allclose(one["grad_norm"][:, 0], three["grad_norm"][:, 0], rtol=1e-12)


def test_a_diverging_job_records_the_divergence_and_exits_normally(tmp_path, capsys):
    # Plain SGD with a huge learning rate on the IRNN, no clipping: a seed leaves float64.
    record = _run(
        tmp_path,
        cell="rnn",
        activation="relu",
        init="identity",
        gate_bias=0,
        optimizer="sgd",
        lr=1e6,
        seq_len=20,
        steps=20,
    )
    diverged = record["diverged_step"] > 0
    assert diverged.any()
    assert np.isnan(record["eval_loss"][-1][diverged]).all() and np.isfinite(record["eval_loss"][0]).all()
    assert f"{diverged.sum()} of 2 diverged" in capsys.readouterr().out


def test_clipping_is_counted_in_the_record(tmp_path):
    record = _run(tmp_path, clip="1e-9")
    assert str(record["clip"]) == "1e-09" and record["clipped"].all()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"clip": "-1"}, "must be a finite number > 0, got -1"),
        ({"clip": "0"}, "must be a finite number > 0, got 0"),
        ({"task": "copy"}, "invalid choice: 'copy'"),
        ({"steps": 0}, "must be an integer >= 1, got 0"),
        ({"cell": "rnn", "gate_bias": 1}, "gate_bias applies to the gated kinds only"),
        ({"init": "identity"}, "recurrent_init 'identity' applies to kind 'rnn' only"),
        ({"seq_len": 1}, "the adding task needs seq_len, an integer >= 2"),
        ({"optimizer": "rmsprop"}, "invalid choice: 'rmsprop'"),
    ],
)
def test_bad_arguments_exit_with_a_message_and_write_nothing(tmp_path, capsys, changes, message):
    with pytest.raises(SystemExit) as exit_info:
        train.main(_argv(tmp_path, **changes))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_num_classes_goes_with_the_recall_task_only(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.main(_argv(tmp_path, task="recall")[:-2])  # recall without --num-classes
    with pytest.raises(SystemExit):
        train.main(_argv(tmp_path) + ["--num-classes", "3"])  # adding with it
    assert capsys.readouterr().err.count("--num-classes is required for --task recall and applies to it only") == 2


def test_a_failed_write_leaves_no_file_under_the_output_name(tmp_path, monkeypatch):
    def broken(file, **arrays):
        file.write(b"half a record")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        train.main(_argv(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_killed_job_leaves_nothing_behind(tmp_path):
    argv = _argv(tmp_path, steps=100_000)  # long enough to be killed while it trains
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    job = subprocess.Popen([sys.executable, "-m", "bptt.pipeline.train", *argv], env=env)
    time.sleep(1.0)
    assert job.poll() is None
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert list(tmp_path.iterdir()) == []


def test_entry_imports_numpy_the_core_and_train_only():
    code = "import sys, bptt.pipeline.train; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert "numpy" in loaded
    assert not {"pyarrow", "pandas", "matplotlib", "snakemake", "scipy", "jsonschema"} & set(loaded)


def test_the_computation_receives_frozen_settings_not_the_parsed_namespace(tmp_path):
    settings, path = train.parse_args(_argv(tmp_path))
    assert isinstance(settings, train.Settings) and path == str(tmp_path / "record.npz")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seeds = 1
