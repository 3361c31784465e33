"""No gradient is reported as 0 unless it is 0, and no NaN goes unflagged (issue 8, items 1 and 2)."""

import numpy as np
import pytest

from bptt.core import cells, gradients, reference


def saturated_lstm():
    """An LSTM whose input and output gates sit at sigma(-1000) = e^-1000 (0 in float64) and whose
    forget gate sits at sigma(1000): the h-part of the adjoint is e^-1000 times the c-part."""
    H = 2
    params = {
        "weight_ih": np.zeros((4 * H, 1)),
        "weight_hh": np.zeros((4 * H, H)),
        "bias_ih": np.concatenate([np.full(H, -1000.0), np.full(H, 1000.0), np.full(H, 0.5), np.full(H, -1000.0)]),
        "bias_hh": np.zeros(4 * H),
    }
    return cells.from_params("lstm", params, activation="tanh")


def test_a_gradient_rounded_to_zero_at_a_saturated_step_is_flagged_not_reported_as_zero():
    cell = saturated_lstm()
    x, dh = np.zeros((6, 1, 1)), np.ones((1, 2))
    plain, _ = reference.bptt(cell, x, dh)
    assert (plain[:-1] == 0).all()  # plain float64 arithmetic says 0: the true value is ~e^-1000, not 0
    p = gradients.profile(cell, x, dh)
    assert np.isfinite(p.log10_grad_h[-1]).all()  # dh_last itself
    assert np.isnan(p.log10_grad_h[:-1]).all() and p.unmeasurable[:-1].all()
    assert not np.isneginf(p.log10_grad_h).any()
    with pytest.warns(RuntimeWarning, match="NaN, not 0"):
        gradients.lag_profile(cell, x, dh)


def test_an_exact_zero_from_relu_at_an_unsaturated_step_stays_minus_infinity():
    # A bias of -10 keeps every pre-activation negative: h = 0 and f' = 0 exactly, so dL/dh_k = 0
    # for k < T-1, and that is the true value.
    cell = cells.make("rnn", input_size=1, hidden_size=3, activation="relu", radius=0.5, rng=np.random.default_rng(0))
    params = dict(cell.params, bias_ih=np.full(3, -10.0))
    cell = cells.from_params("rnn", params, activation="relu")
    p = gradients.profile(cell, np.zeros((5, 2, 1)), np.ones((2, 3)))
    assert np.isneginf(p.log10_grad_h[:-1]).all() and not p.unmeasurable.any()


def test_an_lstm_near_float64s_largest_numbers_gives_no_unflagged_nan_before_the_overflow():
    # A linear LSTM with rho = 3 grows towards 1e308: gates saturate far beyond float64, and one
    # backward step's product with U exceeds float64 although every factor is finite. Before the
    # guard this gave NaN at most steps and NaN parameter-gradient norms, unflagged.
    rng = np.random.default_rng(2)
    cell = cells.make("lstm", input_size=8, hidden_size=16, activation="linear", radius=3.0, rng=rng)
    x, dh = rng.standard_normal((2000, 4, 8)), rng.standard_normal((4, 16))
    p = gradients.profile(cell, x, dh)
    assert p.overflow and 500 < p.overflow_step < 2000
    before = slice(0, p.overflow_step)
    nan = np.isnan(p.log10_grad_h[before])
    assert p.unmeasurable[before][nan].all()  # every NaN before the overflow is a flagged one
    assert not np.isneginf(p.log10_grad_h).any()  # a linear LSTM's gradient is never exactly 0
    assert np.isfinite(p.log10_grad_h[p.overflow_step - 1]).all()  # dh_last, at the cut


@pytest.mark.parametrize("kind", cells.KINDS)
def test_a_finite_dh_last_whose_squared_norm_exceeds_float64_gives_the_scaled_gradients(kind):
    # L is linear in dh_last: scaling it by 2^600 (entries ~1e180, squared norm beyond float64) adds
    # 600 log10(2) to every log10 norm and multiplies every parameter gradient by 2^600. Before the
    # fix the first backward step squared dh_last to inf and every norm came out NaN.
    rng = np.random.default_rng(4)
    cell = cells.make(kind, input_size=2, hidden_size=3, activation="tanh", radius=0.9, rng=rng)
    x, dh = rng.standard_normal((6, 2, 2)), rng.standard_normal((2, 3))
    small, small_grads = gradients.lag_profile_and_grads(cell, x, dh)
    big, big_grads = gradients.lag_profile_and_grads(cell, x, np.ldexp(dh, 600))
    np.testing.assert_allclose(big, small + 600 * np.log10(2.0), rtol=1e-14)
    for name, g in small_grads.items():  # relative to each array's norm: 10**(log scale) rounds at ~1e-13
        back = np.ldexp(big_grads[name], -600)  # exact
        assert np.linalg.norm(back - g) <= 1e-12 * np.linalg.norm(g), name
