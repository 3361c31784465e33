"""Gradients against central finite differences of an independent forward pass."""

import core_reference as ref
import numpy as np
import pytest

from bptt.core import activations, cells, gradients

T, B, I, H = 5, 2, 2, 3
CASES = [(k, a) for k in cells.KINDS for a in activations.NAMES]


def setup(kind, activation, seed=0):
    """A cell with random (nonzero) biases, inputs and dh_last; ReLU kinks kept away from."""
    rng = np.random.default_rng(seed)
    cell = cells.make(kind, input_size=I, hidden_size=H, activation=activation, radius=0.9, rng=rng)
    params = dict(cell.params)
    params["bias_ih"] = 0.3 * rng.standard_normal(params["bias_ih"].shape)
    params["bias_hh"] = 0.3 * rng.standard_normal(params["bias_hh"].shape)
    # A positive candidate bias keeps the LSTM's ReLU g_t > 0, hence c_t > 0, away from
    # the kink of f(c_t) (c_0 = i_0 g_0 would otherwise sit exactly on it when g_0 = 0).
    k = cells.SPECS[kind].candidate_block
    params["bias_ih"][k * H : (k + 1) * H] += 1.0 if kind == "lstm" else 0.0
    cell = cells.from_params(kind, params, activation=activation)
    x = rng.standard_normal((T, B, I))
    dh_last = rng.standard_normal((B, H))
    _, kinks = ref.run(kind, cell.params, activation, x)
    # Finite differences with eps = 1e-6 never cross the kink of ReLU if this holds.
    assert min(np.abs(k).min() for k in kinks) > 1e-4
    return cell, x, dh_last


def rel_err(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b)


@pytest.mark.parametrize("kind,activation", CASES)
def test_param_grads_match_finite_differences(kind, activation):
    cell, x, dh_last = setup(kind, activation)
    got = gradients.param_grads(cell, x, dh_last)
    want = ref.grad_params(kind, cell.params, activation, x, dh_last)
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == cell.params[name].shape
        assert rel_err(got[name], want[name]) <= 1e-6, name


@pytest.mark.parametrize("kind,activation", CASES)
def test_lag_profile_matches_finite_differences(kind, activation):
    cell, x, dh_last = setup(kind, activation)
    got = gradients.lag_profile(cell, x, dh_last)
    assert got.shape == (T, B)
    for k in range(T):
        g = ref.grad_state(kind, cell.params, activation, x, dh_last, k)
        np.testing.assert_allclose(10.0 ** got[k], np.linalg.norm(g, axis=1), rtol=1e-6)


@pytest.mark.parametrize("activation", activations.NAMES)
def test_lstm_cell_state_gradient_matches_finite_differences(activation):
    cell, x, dh_last = setup("lstm", activation)
    got = gradients.profile(cell, x, dh_last).log10_grad_c
    for k in range(T):
        g = ref.grad_state("lstm", cell.params, activation, x, dh_last, k, part=1)
        np.testing.assert_allclose(10.0 ** got[k], np.linalg.norm(g, axis=1), rtol=1e-6)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_jacobian_norms_match_finite_differences(kind):
    cell, x, dh_last = setup(kind, "tanh")
    x, dh_last = x[:, :1], dh_last[:1]
    p = gradients.profile(cell, x, dh_last)
    for k in range(T):
        J = ref.jacobian(kind, cell.params, "tanh", x, k)
        np.testing.assert_allclose(10.0 ** p.log10_jac[k, 0], np.linalg.norm(J, 2), rtol=1e-6)
    # gamma_k = ||d s_k / d s_{k-1}||_2: the one-step Jacobian, checked from its own step.
    for k in range(1, T):
        states, _ = ref.run(kind, cell.params, "tanh", x[:k])
        one = _one_step_jacobian(kind, cell.params, x[k], states[-1])
        np.testing.assert_allclose(p.gamma_step[k, 0], np.linalg.norm(one, 2), rtol=1e-6)


def _one_step_jacobian(kind, params, x_t, state, eps=1e-6):
    s = np.concatenate(state, axis=1)[0]
    n, H = s.size, params["weight_hh"].shape[1]

    def step(v):
        st = tuple(v[None, j : j + H] for j in range(0, n, H))
        return np.concatenate(ref.run(kind, params, "tanh", x_t[None], st)[0][-1], axis=1)[0]

    return np.stack([(step(s + e) - step(s - e)) / (2 * eps) for e in np.eye(n) * eps], axis=1)
