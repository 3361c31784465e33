"""The training engine's gradients: equal to the core's, and to finite differences."""

import numpy as np
import pytest

from bptt.core import cells, gradients
from bptt.train import engine

CASES = [
    ("rnn", "tanh", "orthogonal", 0.0),
    ("rnn", "relu", "identity", 0.0),
    ("lstm", "tanh", "orthogonal", 1.0),
    ("lstm", "relu", "orthogonal", "chrono"),
    ("gru", "tanh", "orthogonal", 1.0),
    ("gru", "linear", "orthogonal", 0.0),
    ("gru", "sigmoid", "orthogonal", 0.0),  # f' taken from f's output: every activation has its own form
]


def _stack(kind, activation, init, bias, m=3, hidden=5, inputs=2):
    nets = [
        cells.make(
            kind,
            input_size=inputs,
            hidden_size=hidden,
            activation=activation,
            radius=1.1,
            rng=np.random.default_rng(s),
            recurrent_init=init,
            gate_bias=bias,
            chrono_t_max=8,
        )
        for s in range(m)
    ]
    stack = cells.stack(nets)
    rng = np.random.default_rng(9)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in stack.params.items()}  # biases not all 0
    return cells.Cell(kind, activation, params)


@pytest.mark.parametrize("kind, activation, init, bias", CASES)
def test_forward_and_gradients_match_the_core(kind, activation, init, bias):
    cell = _stack(kind, activation, init, bias)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 3, 4, 2))
    dh = rng.standard_normal((3, 4, 5))
    trace = engine.forward(kind, activation, cell.params, x)
    np.testing.assert_allclose(trace["h"][1:], cells.forward(cell, x), rtol=1e-12, atol=1e-14)
    ours = engine.backward(kind, activation, cell.params, trace, dh)
    core = gradients.param_grads(cell, x, dh)
    for name in cells.PARAM_NAMES:
        np.testing.assert_allclose(ours[name], core[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind, activation, init, bias", CASES[::2])
def test_gradients_match_finite_differences(kind, activation, init, bias):
    cell = _stack(kind, activation, init, bias, m=2, hidden=3)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 2, 2, 2))
    dh = rng.standard_normal((2, 2, 3))

    def loss(params):  # L = sum(dh_last * h_{T-1}) per model
        return (engine.forward(kind, activation, params, x)["h"][-1] * dh).sum(axis=(1, 2))

    grads = engine.backward(kind, activation, cell.params, engine.forward(kind, activation, cell.params, x), dh)
    eps = 1e-6
    for name in cells.PARAM_NAMES:
        flat = cell.params[name].reshape(2, -1)
        for j in range(0, flat.shape[1], max(1, flat.shape[1] // 7)):
            up = {k: v.copy() for k, v in cell.params.items()}
            down = {k: v.copy() for k, v in cell.params.items()}
            up[name].reshape(2, -1)[:, j] += eps
            down[name].reshape(2, -1)[:, j] -= eps
            numeric = (loss(up) - loss(down)) / (2 * eps)
            np.testing.assert_allclose(grads[name].reshape(2, -1)[:, j], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_a_model_that_overflows_leaves_the_others_untouched():
    cell = _stack("rnn", "relu", "identity", 0.0, m=2)
    params = {k: v.copy() for k, v in cell.params.items()}
    params["weight_hh"][0] *= 1e200  # model 0 overflows
    x = np.random.default_rng(3).standard_normal((6, 2, 4, 2))
    dh = np.ones((2, 4, 5))
    trace = engine.forward("rnn", "relu", params, x)
    grads = engine.backward("rnn", "relu", params, trace, dh)
    assert not np.isfinite(trace["h"][-1, 0]).all()
    clean = {k: v[1:] for k, v in params.items()}
    alone = engine.backward("rnn", "relu", clean, engine.forward("rnn", "relu", clean, x[:, 1:]), dh[1:])
    for name in cells.PARAM_NAMES:
        np.testing.assert_array_equal(grads[name][1], alone[name][0])


def test_a_workspace_changes_no_number_and_follows_the_stack_size():
    """A step computed in a workspace used before (other data, another M) equals a fresh one, bit for bit:
    nothing of the previous trace (h_0, c_0 included) leaks into the next."""
    workspace = engine.Workspace()
    rng = np.random.default_rng(4)
    for kind, m in (("lstm", 3), ("lstm", 3), ("lstm", 2), ("gru", 3), ("rnn", 3)):
        cell = _stack(kind, "tanh", "orthogonal", 1.0 if kind != "rnn" else 0.0, m=m)
        x, dh = rng.standard_normal((6, m, 4, 2)), rng.standard_normal((m, 4, 5))
        fresh = engine.forward(kind, "tanh", cell.params, x)
        reused = engine.forward(kind, "tanh", cell.params, x, workspace)
        np.testing.assert_array_equal(reused["h"], fresh["h"])
        ours, theirs = (engine.backward(kind, "tanh", cell.params, t, dh) for t in (reused, fresh))
        for name in cells.PARAM_NAMES:
            np.testing.assert_array_equal(ours[name], theirs[name])
        for array in reused.values():
            array.fill(np.nan)  # what the next call must not see
    again = engine.forward("rnn", "tanh", cell.params, x, workspace)
    assert np.shares_memory(again["h"], reused["h"])  # the same shapes: the same arrays


def test_an_activation_without_a_derivative_from_its_output_is_refused():
    with pytest.raises(ValueError, match="softsign"):
        engine._df_from_output("softsign")
