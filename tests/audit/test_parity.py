"""The audit against torch.nn modules in float64: forward states and per-step ||dL/dh_k||, ||dL/dc_k||.

Every cell kind, 1 and 2 layers, both nonlinearities of nn.RNN, a loss on the last step and at every step.
"""

import numpy as np
import pytest
from torch_reference import log10_norms, module, state_dict_numpy, torch, unrolled

from bptt.audit import measures, stacked, weights

CASES = [
    ("rnn", "tanh", 1),
    ("rnn", "relu", 1),
    ("rnn", "tanh", 2),
    ("rnn", "relu", 2),
    ("lstm", "tanh", 1),
    ("lstm", "tanh", 2),
    ("gru", "tanh", 1),
    ("gru", "tanh", 2),
]


def network(kind, nonlinearity, layers, tmp_path, seed=0, input_size=3, hidden=5, gain=1.0):
    from safetensors.numpy import save_file

    m = module(kind, input_size, hidden, layers, nonlinearity, seed=seed, gain=gain)
    path = tmp_path / "model.safetensors"
    save_file(state_dict_numpy(m), str(path))
    return m, weights.load(path, nonlinearity=nonlinearity if kind == "rnn" else None)


@pytest.mark.parametrize(("kind", "nonlinearity", "layers"), CASES)
def test_forward_states_match_torch(kind, nonlinearity, layers, tmp_path):
    m, net = network(kind, nonlinearity, layers, tmp_path)
    x = np.random.default_rng(1).standard_normal((7, 4, 3))
    top, hs, _ = unrolled(m, kind, x, nonlinearity)
    fused = m(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(top.detach().numpy(), fused, rtol=1e-12, atol=1e-14)  # the unroll is the module
    states = stacked.forward(net, x)
    assert len(states) == layers + 1
    for layer in range(layers):
        np.testing.assert_allclose(states[layer + 1], torch.stack(hs[layer]).detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(states[-1], fused, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("kind", "nonlinearity", "layers"), CASES)
@pytest.mark.parametrize(("loss", "loss_at"), [("cross_entropy", "last"), ("mse", "every")])
def test_per_step_gradients_match_autograd(kind, nonlinearity, layers, loss, loss_at, tmp_path):
    m, net = network(kind, nonlinearity, layers, tmp_path)
    rng = np.random.default_rng(2)
    steps, batch, classes = 9, 4, 3
    x = rng.standard_normal((steps, batch, 3))
    lead = (steps, batch) if loss_at == "every" else (batch,)
    target = rng.integers(0, classes, lead) if loss == "cross_entropy" else rng.standard_normal((*lead, classes))
    head = measures.Head(rng.standard_normal((classes, 5)), rng.standard_normal(classes), loss, loss_at, target)

    top, hs, cs = unrolled(m, kind, x, nonlinearity)
    y = top @ torch.tensor(head.weight).T + torch.tensor(head.bias)
    y = y if loss_at == "every" else y[-1]
    t = torch.tensor(target)
    if loss == "cross_entropy":
        total = torch.nn.functional.cross_entropy(y.reshape(-1, classes), t.reshape(-1), reduction="sum")
    else:
        total = 0.5 * ((y - t) ** 2).sum()
    total.backward()

    got = measures.per_step(net, x, head, directions=1, seed=0)
    for layer in range(layers):
        want_h = log10_norms(hs[layer])
        np.testing.assert_allclose(10 ** (got["loss_h"][layer] - want_h), 1.0, rtol=0, atol=1e-10)
        if kind == "lstm":
            want_c = log10_norms(cs[layer])
            np.testing.assert_allclose(10 ** (got["loss_c"][layer] - want_c), 1.0, rtol=0, atol=1e-10)


def test_pt_file_reads_as_the_safetensors_file(tmp_path):
    m, from_safetensors = network("gru", "tanh", 2, tmp_path)
    torch.save(m.state_dict(), tmp_path / "model.pt")
    from_pt = weights.load(tmp_path / "model.pt")
    assert from_pt.dtypes == ("float64",) and len(from_pt.layers) == 2
    for a, b in zip(from_pt.layers, from_safetensors.layers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_loss_free_measure_matches_autograd(kind, tmp_path):
    """state (and state_c): ||v^T dh_{T-1}^(top)/dh_k^(l)|| for the random unit v the audit draws."""
    m, net = network(kind, "tanh", 2, tmp_path)
    x = np.random.default_rng(3).standard_normal((8, 3, 3))
    v = np.random.default_rng(5).standard_normal((1, 3, 5))  # the draw of per_step(..., seed=5)
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    top, hs, cs = unrolled(m, kind, x)
    (top[-1] * torch.tensor(v[0])).sum().backward()
    got = measures.per_step(net, x, None, directions=1, seed=5)
    assert set(got) == ({"state", "state_c"} if kind == "lstm" else {"state"})
    for layer in range(2):
        np.testing.assert_allclose(10 ** (got["state"][layer] - log10_norms(hs[layer])), 1.0, rtol=0, atol=1e-10)
        if kind == "lstm":
            np.testing.assert_allclose(10 ** (got["state_c"][layer] - log10_norms(cs[layer])), 1.0, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_optional_jacobian_norm_bounds_the_directional_measure(kind, tmp_path):
    """One layer: ||v^T dh_{T-1}/dh_k|| <= ||ds_{T-1}/ds_k||_2 for every unit v (s contains h)."""
    _, net = network(kind, "tanh", 1, tmp_path)
    x = np.random.default_rng(4).standard_normal((10, 3, 3))
    got = measures.per_step(net, x, None, directions=3, seed=0, jacobian=3)
    state = got["state"][0].reshape(10, 3, 3)  # (T, directions, B): columns direction-major
    assert got["jacobian"][0].shape == (10, 3)
    assert (state <= got["jacobian"][0][:, None, :] + 1e-12).all()
    assert np.isclose(got["jacobian"][0][-1], 0.0).all()  # lag 0: the identity
