"""The readout losses: values and dh_last against central finite differences."""

import numpy as np
import pytest

from bptt.core import loss


def _finite_difference(name, h, readout, target, eps=1e-6):
    grad = np.zeros_like(h)
    for index in np.ndindex(h.shape):
        up, down = h.copy(), h.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (
            loss.loss_and_grad(name, up, readout, target)[0].sum()
            - loss.loss_and_grad(name, down, readout, target)[0].sum()
        ) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", loss.NAMES)
def test_dh_last_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    h, readout = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    target = rng.integers(0, 4, size=3) if name == "cross_entropy" else rng.standard_normal((3, 4))
    _, mantissa, scale = loss.loss_and_grad(name, h, readout, target)
    dh_last = mantissa * 10.0 ** scale[:, None]
    np.testing.assert_allclose(dh_last, _finite_difference(name, h, readout, target), rtol=1e-6, atol=1e-9)


def test_cross_entropy_of_uniform_logits_is_log_classes():
    value, _, _ = loss.cross_entropy(np.zeros((2, 3)), np.ones((7, 3)), np.array([0, 6]))
    np.testing.assert_allclose(value, np.log(7))


def test_cross_entropy_stays_finite_for_huge_logits():
    value, dh_last, scale = loss.cross_entropy(np.full((1, 2), 1e200), np.eye(2), np.array([1]))
    assert np.isfinite(value).all() and np.isfinite(dh_last).all() and np.isfinite(scale).all()


def test_a_softmax_certain_beyond_float64_keeps_its_gradient_in_log_space():
    # Logit gap 1000: softmax(y) - onehot is e^-1000 (1 - e^-1000) ... in truth, 0 in float64.
    h = np.array([[1000.0, 0.0], [1.0, 0.0]])
    _, mantissa, scale = loss.cross_entropy(h, np.eye(2), np.array([0, 0]))
    # Two classes: dL/dy = (p_0 - 1, p_1) = (-p_1, p_1), p_1 = 1 / (1 + e^gap).
    log10_p1 = -np.logaddexp(0.0, [1000.0, 1.0]) / np.log(10)
    np.testing.assert_allclose(scale, log10_p1, rtol=1e-15)
    np.testing.assert_allclose(mantissa, [[-1.0, 1.0], [-1.0, 1.0]], rtol=1e-15)


def test_mse_near_float64s_largest_numbers_keeps_an_exact_gradient():
    h = np.array([[1e307, -1e307]])
    readout = np.array([[1.0, 1.0], [1.0, -1.0]])
    value, mantissa, scale = loss.mse(h, readout, np.zeros((1, 2)))
    assert np.isinf(value[0])  # the loss value itself exceeds float64
    # residual = (0, 2e307); dh = residual V = (2e307, -2e307), beyond float64 as a product.
    np.testing.assert_allclose(np.log10(np.abs(mantissa)) + scale, np.log10(2e307), rtol=1e-15)


def test_unknown_loss_names_the_allowed_ones():
    with pytest.raises(ValueError, match="cross_entropy, mse"):
        loss.loss_and_grad("hinge", np.zeros((1, 1)), np.zeros((2, 1)), np.zeros(1, int))


@pytest.mark.parametrize("name", loss.NAMES)
def test_the_loss_at_every_step_is_each_steps_own_loss_and_gradient(name):
    rng = np.random.default_rng(1)
    h, readout = rng.standard_normal((6, 3, 5)), rng.standard_normal((4, 5))
    target = rng.integers(0, 4, size=(6, 3)) if name == "cross_entropy" else rng.standard_normal((6, 3, 4))
    every = loss.at_every_step(name, h, readout, target)
    assert every.loss.shape == (6, 3) and every.dh_last.shape == (6, 3, 5)
    for t in range(6):
        alone = loss.loss_and_grad(name, h[t], readout, target[t])
        np.testing.assert_array_equal(every.loss[t], alone.loss)
        np.testing.assert_allclose(
            every.dh_last[t] * 10.0 ** every.log10_scale[t][:, None],
            _finite_difference(name, h[t], readout, target[t]),
            rtol=1e-6,
            atol=1e-9,
        )
