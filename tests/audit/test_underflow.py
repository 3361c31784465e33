"""float32 autograd reads exactly 0 where the audit resolves the value (checked against float64 autograd),
and half-precision weights are upcast exactly."""

import numpy as np
from safetensors.numpy import save_file
from torch_reference import log10_norms, module, state_dict_numpy, torch, unrolled

from bptt.audit import measures, weights


def test_float32_autograd_reads_zero_where_the_audit_does_not(tmp_path):
    m = module("rnn", 3, 8, 2, "tanh", seed=0, gain=0.1)  # each step shrinks the gradient about tenfold
    path = tmp_path / "rnn.safetensors"
    save_file(state_dict_numpy(m), str(path))
    net = weights.load(path, nonlinearity="tanh")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 2, 3))
    target = rng.integers(0, 3, 2)
    head = measures.Head(rng.standard_normal((3, 8)), np.zeros(3), "cross_entropy", "last", target)
    got = measures.per_step(net, x, head, directions=1, seed=0)["loss_h"]

    def autograd(dtype):
        top, hs, _ = unrolled(m, "rnn", x, "tanh", dtype=dtype)
        y = top[-1] @ torch.tensor(head.weight, dtype=dtype).T
        torch.nn.functional.cross_entropy(y, torch.tensor(target), reduction="sum").backward()
        return [log10_norms(layer) for layer in hs]

    f32, f64 = autograd(torch.float32), autograd(torch.float64)
    for layer in range(2):
        zero = np.isneginf(f32[layer])  # float32 autograd: exactly 0
        assert zero.any() and np.isfinite(got[layer][zero]).all()
        # Below 2**-150 every entry rounds to 0 in float32: the report's "reads 0 at the latest from here".
        # (A lower layer reads 0 sooner: its gradient arrives through the layer above's zeros.)
        assert np.isneginf(f32[layer][got[layer] < -150 * np.log10(2)]).all()
        np.testing.assert_allclose(10 ** (got[layer] - f64[layer]), 1.0, rtol=0, atol=1e-10)
    assert np.nanmin(got[0]) < -60  # far beyond float32 (1.4e-45), still inside float64 for the check


def test_half_precision_weights_are_upcast_exactly(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "weight_ih_l0": rng.standard_normal((12, 2)),
        "weight_hh_l0": rng.standard_normal((12, 4)) / 2,
        "bias_ih_l0": rng.standard_normal(12),
        "bias_hh_l0": rng.standard_normal(12),
    }
    for name, dtype in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        from safetensors.torch import save_file as save_torch

        path = tmp_path / f"{name}.safetensors"
        save_torch({k: torch.tensor(v).to(dtype) for k, v in state.items()}, str(path))
        net = weights.load(path)
        assert net.kind == "gru" and net.upcast == (name,)
        for k, v in state.items():
            want = torch.tensor(v).to(dtype).to(torch.float64).numpy()
            np.testing.assert_array_equal(net.layers[0].params[k.removesuffix("_l0")], want)
