"""Bad input: one line naming the file, key or shape and what was expected; exit 2, no traceback, no table."""

import builtins
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from bptt.audit.__main__ import main

H, I = 4, 3


def lstm_state(layers=1, **change):
    rng = np.random.default_rng(0)
    state = {}
    for k in range(layers):
        state |= {
            f"weight_ih_l{k}": rng.standard_normal((4 * H, I if k == 0 else H)).astype(np.float32),
            f"weight_hh_l{k}": rng.standard_normal((4 * H, H)).astype(np.float32),
            f"bias_ih_l{k}": np.zeros(4 * H, np.float32),
            f"bias_hh_l{k}": np.zeros(4 * H, np.float32),
        }
    state |= change
    return {k: v for k, v in state.items() if v is not None}


def run(tmp_path, capsys, state=None, x=None, model=None, fmt="safetensors"):
    weights = tmp_path / f"m.{fmt}"
    if fmt == "safetensors":
        save_file(lstm_state() if state is None else state, str(weights))
    else:
        weights.write_bytes(b"not really")
    np.save(tmp_path / "x.npy", np.zeros((5, 2, I)) if x is None else x)
    spec = {"name": "m", "weights": str(weights), "inputs": str(tmp_path / "x.npy")} | (model or {})
    out = tmp_path / "audit.parquet"
    code = main(["--settings-json", json.dumps({"models": [spec]}), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_unknown_key(tmp_path, capsys):
    assert "unknown key(s) decoder.weight" in run(tmp_path, capsys, lstm_state(**{"decoder.weight": np.ones(2)}))


def test_missing_key(tmp_path, capsys):
    assert "missing key(s) weight_hh_l1" in run(tmp_path, capsys, lstm_state(2, weight_hh_l1=None))


def test_shape_against_layout(tmp_path, capsys):
    err = run(tmp_path, capsys, lstm_state(bias_hh_l0=np.zeros(3 * H, np.float32)))
    assert "bias_hh_l0 has shape (12,)" in err and "(16,)" in err


def test_second_layer_shape(tmp_path, capsys):
    bad = np.zeros((4 * H, H + 1), np.float32)
    assert "weight_ih_l1 has shape (16, 5)" in run(tmp_path, capsys, lstm_state(2, weight_ih_l1=bad))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(tmp_path, capsys, value):
    w = lstm_state()["weight_hh_l0"].copy()
    w[1, 2] = value
    assert "weight_hh_l0 holds NaN or inf" in run(tmp_path, capsys, lstm_state(weight_hh_l0=w))


def test_feature_size(tmp_path, capsys):
    err = run(tmp_path, capsys, x=np.zeros((5, 2, I + 2)))
    assert "feature size 5" in err and "weight_ih_l0 takes 3" in err


def test_empty_inputs(tmp_path, capsys):
    assert "the array is empty (shape (0, 2, 3))" in run(tmp_path, capsys, x=np.zeros((0, 2, I)))


def test_pt_without_torch(tmp_path, capsys, monkeypatch):
    real = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("no torch here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert "reading a .pt file needs torch, which is not importable here" in run(tmp_path, capsys, fmt="pt")


def test_bidirectional_refused(tmp_path, capsys):
    state = lstm_state() | {f"{k}_reverse": v for k, v in lstm_state().items()}
    assert "bidirectional" in run(tmp_path, capsys, state)


def test_rnn_needs_its_nonlinearity(tmp_path, capsys):
    state = {
        "weight_ih_l0": np.ones((H, I)),
        "weight_hh_l0": np.eye(H),
        "bias_ih_l0": np.zeros(H),
        "bias_hh_l0": np.zeros(H),
    }
    assert "set nonlinearity: tanh or relu" in run(tmp_path, capsys, state)


def test_proj_size_refused(tmp_path, capsys):
    assert "proj_size=2" in run(tmp_path, capsys, model={"proj_size": 2})


def test_targets_that_are_not_numbers(tmp_path, capsys):
    np.save(tmp_path / "y.npy", np.array(["a", "b"]))
    head = {"weight": "fc.weight", "loss": "mse", "targets": str(tmp_path / "y.npy")}
    state = lstm_state(**{"fc.weight": np.ones((2, H), np.float32)})
    assert "dtype <U1; expected numbers" in run(tmp_path, capsys, state, model={"head": head})
