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
            loss.loss_and_grad(name, up, readout, target)[0].sum() - loss.loss_and_grad(name, down, readout, target)[0].sum()
        ) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", loss.NAMES)
def test_dh_last_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    h, readout = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    target = rng.integers(0, 4, size=3) if name == "cross_entropy" else rng.standard_normal((3, 4))
    _, dh_last, exact = loss.loss_and_grad(name, h, readout, target)
    assert exact.all()
    np.testing.assert_allclose(dh_last, _finite_difference(name, h, readout, target), rtol=1e-6, atol=1e-9)


def test_cross_entropy_of_uniform_logits_is_log_classes():
    value, _, _ = loss.cross_entropy(np.zeros((2, 3)), np.ones((7, 3)), np.array([0, 6]))
    np.testing.assert_allclose(value, np.log(7))


def test_cross_entropy_stays_finite_for_huge_logits():
    value, dh_last, _ = loss.cross_entropy(np.full((1, 2), 1e200), np.eye(2), np.array([1]))
    assert np.isfinite(value).all() and np.isfinite(dh_last).all()


def test_a_softmax_certain_beyond_float64_is_flagged_not_exact_rather_than_a_zero_gradient():
    # Logit gap 1000: softmax(y) - onehot is e^-1000 in truth and exactly 0 in float64.
    h = np.array([[1000.0, 0.0], [1.0, 0.0]])
    _, dh_last, exact = loss.cross_entropy(h, np.eye(2), np.array([0, 0]))
    assert (dh_last[0] == 0).all() and not exact[0]
    assert exact[1] and (dh_last[1] != 0).all()


def test_unknown_loss_names_the_allowed_ones():
    with pytest.raises(ValueError, match="cross_entropy, mse"):
        loss.loss_and_grad("hinge", np.zeros((1, 1)), np.zeros((2, 1)), np.zeros(1, int))
