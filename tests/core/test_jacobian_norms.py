"""Jacobian norms: exact against the SVD of the explicitly formed product."""

import core_reference as ref
import numpy as np
import pytest

from bptt.core import cells, gradients, jacobian, spectral


def test_top_singular_values_match_numpy_svd_for_hard_cases():
    rng = np.random.default_rng(0)
    cases = [
        rng.standard_normal((16, 16)),
        np.eye(16),  # all singular values equal
        np.diag([1.0, 1.0 - 1e-12, 0.5] + [0.1] * 13),  # top two nearly equal
        np.zeros((16, 16)),
        np.outer(rng.standard_normal(16), rng.standard_normal(16)),  # rank one
        rng.standard_normal((32, 32)) * 1e-200,
    ]
    p = np.stack([np.pad(c, ((0, 32 - len(c)), (0, 32 - len(c)))) for c in cases])
    p = p / np.maximum(np.abs(p).max(axis=(1, 2), keepdims=True), 1e-300)  # entries below 1, as documented
    want = np.linalg.svd(p, compute_uv=False)[:, 0]
    np.testing.assert_allclose(spectral.top_singular_values(p), want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_log10_jac_and_gamma_match_the_svd_of_the_explicit_jacobians_to_1e_9(kind):
    # H = 24 (n = 48 for the LSTM), T = 40: the product over every lag, formed from finite-difference
    # free one-step Jacobians of the reference forward pass.
    T, H = 40, 24
    rng = np.random.default_rng(1)
    cell = cells.make(kind, input_size=3, hidden_size=H, activation="tanh", radius=1.2, rng=rng)
    x, dh = rng.standard_normal((T, 1, 3)), rng.standard_normal((1, H))
    p = gradients.profile(cell, x, dh)
    states, _ = ref.run(kind, cell.params, "tanh", x)
    product = np.eye(H * cells.SPECS[kind].state_parts)
    for k in range(T - 1, -1, -1):
        want = np.log10(np.linalg.svd(product, compute_uv=False)[0])
        assert abs(p.log10_jac[k, 0] - want) <= 1e-9 / np.log(10), k
        j_k = ref.one_step_jacobian(kind, cell.params, "tanh", x[k], states[k - 1] if k else None)
        assert p.gamma_step[k, 0] == pytest.approx(np.linalg.svd(j_k, compute_uv=False)[0], rel=1e-9), k
        product = product @ j_k


def test_jacobian_diagnostics_on_the_first_sequences_only_are_those_of_the_whole_batch():
    rng = np.random.default_rng(3)
    cell = cells.make("lstm", input_size=3, hidden_size=6, activation="tanh", radius=1.1, rng=rng)
    x, dh = rng.standard_normal((25, 4, 3)), rng.standard_normal((4, 6))
    whole = gradients.profile(cell, x, dh)
    first = gradients.profile(cell, x, dh, jacobian_samples=1)
    assert first.log10_jac.shape == first.gamma_step.shape == (25, 1)
    np.testing.assert_array_equal(first.log10_jac[:, 0], whole.log10_jac[:, 0])
    np.testing.assert_array_equal(first.gamma_step[:, 0], whole.gamma_step[:, 0])
    np.testing.assert_array_equal(first.log10_grad_h, whole.log10_grad_h)  # the gradient is the whole batch's
    assert gradients.profile(cell, x, dh, jacobian_samples=0).log10_jac.shape == (25, 0)
    with pytest.raises(ValueError, match="jacobian_samples must be an integer from 0 to the batch size 4"):
        gradients.profile(cell, x, dh, jacobian_samples=5)


def test_the_measured_lags_are_every_lag_up_to_32_then_log_spaced_and_the_last():
    assert jacobian.measured_lags(25).tolist() == list(range(25))
    lags = jacobian.measured_lags(200).tolist()
    assert lags == list(range(33)) + [43, 57, 76, 101, 135, 180, 199]


def test_jacobian_norms_at_chosen_lags_are_those_of_every_lag_and_nan_elsewhere():
    rng = np.random.default_rng(4)
    cell = cells.make("lstm", input_size=3, hidden_size=5, activation="tanh", radius=1.1, rng=rng)
    x, dh = rng.standard_normal((50, 2, 3)), rng.standard_normal((2, 5))
    every = gradients.profile(cell, x, dh)
    lags = jacobian.measured_lags(50)
    some = gradients.profile(cell, x, dh, jacobian_lags=lags)
    steps = 49 - lags
    for field in ("log10_jac", "gamma_step"):
        np.testing.assert_allclose(getattr(some, field)[steps], getattr(every, field)[steps], rtol=1e-12, atol=1e-12)
        others = np.setdiff1d(np.arange(50), steps)
        assert len(others) and np.isnan(getattr(some, field)[others]).all(), field
    assert not some.unmeasurable.any()  # a lag not asked for is not an unmeasurable one
    np.testing.assert_array_equal(some.log10_grad_h, every.log10_grad_h)
    with pytest.raises(ValueError, match="jacobian_lags must be a 1-d sequence of integers"):
        gradients.profile(cell, x, dh, jacobian_lags=[1.5])
