"""Settings that change how files are read: batch_first (inputs and every-step targets) and bias: false."""

import numpy as np
from safetensors.numpy import save_file

from bptt.audit import run, weights


def gru_state(rng, h=4, i=3, bias=True):
    state = {"weight_ih_l0": rng.standard_normal((3 * h, i)), "weight_hh_l0": rng.standard_normal((3 * h, h)) / 2}
    if bias:
        state |= {"bias_ih_l0": rng.standard_normal(3 * h), "bias_hh_l0": rng.standard_normal(3 * h)}
    return state | {"head.weight": rng.standard_normal((2, h))}


def test_batch_first_reads_the_same_sequences_and_targets(tmp_path):
    rng = np.random.default_rng(0)
    save_file(gru_state(rng), str(tmp_path / "m.safetensors"))
    x, y = rng.standard_normal((7, 3, 3)), rng.standard_normal((7, 3, 2))  # (T, B, I), (T, B, C)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "xb.npy", x.swapaxes(0, 1))
    np.save(tmp_path / "yb.npy", y.swapaxes(0, 1))
    head = {"weight": "head.weight", "loss": "mse", "loss_at": "every"}

    def table(inputs, targets, batch_first):
        model = {"name": "m", "weights": str(tmp_path / "m.safetensors"), "inputs": str(tmp_path / inputs)}
        model |= {"batch_first": batch_first, "head": head | {"targets": str(tmp_path / targets)}}
        return run.audit({"models": [model]}).to_pandas()

    a, b = table("x.npy", "y.npy", False), table("xb.npy", "yb.npy", True)
    assert len(a) == len(b) > 0
    np.testing.assert_array_equal(a["log10_norm"], b["log10_norm"])


def test_bias_false_reads_zero_biases(tmp_path):
    rng = np.random.default_rng(1)
    state = gru_state(rng, bias=False)
    save_file({k: v for k, v in state.items() if not k.startswith("head")}, str(tmp_path / "m.safetensors"))
    net = weights.load(tmp_path / "m.safetensors", bias=False)
    assert not net.layers[0].params["bias_ih"].any()
    np.testing.assert_array_equal(net.layers[0].params["weight_hh"], state["weight_hh_l0"])
