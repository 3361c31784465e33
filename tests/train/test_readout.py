"""The readout's gradients dL/dV, dL/dc and dL/dh against central finite differences of its loss."""

import numpy as np
import pytest

from bptt.train import readout

M, B, H, C = 2, 3, 4, 3


def _problem(loss_name, seed=0):
    rng = np.random.default_rng(seed)
    h, weight, bias = rng.standard_normal((M, B, H)), rng.standard_normal((M, C, H)), rng.standard_normal((M, C))
    target = rng.integers(0, C, (M, B)) if loss_name == "cross_entropy" else rng.standard_normal((M, B, C))
    return h, weight, bias, target


def _numeric(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of a (changed in place)."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        grad[i] = (up - f()) / (2 * eps)
        a[i] = keep
    return grad


@pytest.mark.parametrize("loss_name, scale", [("cross_entropy", 1.0), ("mse", 2.0)])
def test_gradients_of_the_batch_mean_match_finite_differences(loss_name, scale):
    h, weight, bias, target = _problem(loss_name)
    got = readout.loss_and_grads(loss_name, h, weight, bias, target, scale)

    def total():  # the models' batch-mean losses summed: each depends on its own model only
        return readout.loss_and_grads(loss_name, h, weight, bias, target, scale).loss.mean(axis=1).sum()

    for name, array in (("weight", weight), ("bias", bias), ("dh_last", h)):
        np.testing.assert_allclose(getattr(got, name), _numeric(total, array), rtol=1e-7, atol=1e-9, err_msg=name)


def test_outputs_are_v_h_plus_c_per_model():
    h, weight, bias, _ = _problem("mse")
    y = readout.outputs(h, weight, bias)
    for m in range(M):
        np.testing.assert_allclose(y[m], h[m] @ weight[m].T + bias[m], rtol=1e-14)
