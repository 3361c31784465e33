"""Analytic cases, the Pascanu bound, log-space range, chunking and overflow."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt.core import activations, cells, gradients, initialisation


def linear_rnn(radius, hidden=6, inputs=3, activation="linear", seed=0):
    return cells.make(
        "rnn",
        input_size=inputs,
        hidden_size=hidden,
        activation=activation,
        radius=radius,
        rng=np.random.default_rng(seed),
    )


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5])
def test_linear_rnn_with_scaled_orthogonal_U_decays_exactly_as_rho_to_the_lag(radius):
    # dL/dh_k = dh_last U^(T-1-k) and U = rho Q: the norm is ||dh_last|| rho^lag, whatever x is.
    T, B = 40, 4
    cell = linear_rnn(radius)
    rng = np.random.default_rng(1)
    x, dh = rng.standard_normal((T, B, 3)), rng.standard_normal((B, 6))
    got = gradients.lag_profile(cell, x, dh)
    lag = np.arange(T - 1, -1, -1)[:, None]
    want = np.log10(np.linalg.norm(dh, axis=1))[None, :] + lag * np.log10(radius)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_tanh_with_zero_input_and_bias_follows_the_same_law(kind):
    # Zero input, zero bias, zero initial state keep h_t = 0, so f'(z_t) = 1 and
    # dL/dh_k = dh_last U^lag for the RNN; for the GRU r = z = 1/2 and n = 0 give
    # dh_{t-1} = dh_t (1/2 + U_n / 4): the law holds with rho replaced by that matrix's norm.
    T, B, radius = 30, 3, 0.8
    cell = cells.make(kind, input_size=2, hidden_size=5, activation="tanh", radius=radius, rng=np.random.default_rng(2))
    dh = np.random.default_rng(3).standard_normal((B, 5))
    got = gradients.lag_profile(cell, np.zeros((T, B, 2)), dh)
    lag = np.arange(T - 1, -1, -1)[:, None]
    start = np.log10(np.linalg.norm(dh, axis=1))[None, :]
    if kind == "rnn":
        np.testing.assert_allclose(got, start + lag * np.log10(radius), rtol=0, atol=1e-12)
    else:
        step = 0.5 * np.eye(5) + 0.25 * cells.candidate_block(cell)
        want = [np.log10(np.linalg.norm(dh @ np.linalg.matrix_power(step, k), axis=1)) for k in range(T)]
        np.testing.assert_allclose(got, np.array(want[::-1]), rtol=0, atol=1e-10)


def test_ten_thousand_steps_stay_exact_far_below_float64s_smallest_number():
    T, B = 10_000, 2
    cell = linear_rnn(0.5, hidden=4, inputs=2)
    rng = np.random.default_rng(4)
    got = gradients.lag_profile(cell, rng.standard_normal((T, B, 2)), rng.standard_normal((B, 4)))
    lag = np.arange(T - 1, -1, -1)[:, None]
    assert got[0].max() < -3000  # 10**-3009: no float64 holds it
    np.testing.assert_allclose(got - got[-1], lag * np.log10(0.5) * np.ones((1, B)), rtol=0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    activation=st.sampled_from(activations.NAMES),
    radius=st.floats(0.1, 3.0),
    method=st.sampled_from(initialisation.METHODS),
    seed=st.integers(0, 2**32 - 1),
    input_scale=st.floats(0.0, 3.0),
)
def test_pascanu_bound_holds_for_random_rnns(activation, radius, method, seed, input_scale):
    # ||d h_{T-1}/d h_k||_2 <= (gamma_f sigma_max(U))^lag  (Pascanu et al. 2013).
    rng = np.random.default_rng(seed)
    cell = cells.make(
        "rnn", input_size=3, hidden_size=6, activation=activation, radius=radius, rng=rng, recurrent_init=method
    )
    T = 12
    p = gradients.profile(cell, input_scale * rng.standard_normal((T, 2, 3)), rng.standard_normal((2, 6)))
    assert not p.overflow
    factor = p.gamma_bound * np.linalg.norm(cell.params["weight_hh"], 2)
    lag = np.arange(T - 1, -1, -1)[:, None]
    assert np.all(p.log10_jac <= lag * np.log10(factor) + 1e-9)
    assert np.all(p.gamma_step <= factor * (1 + 1e-12))


@pytest.mark.parametrize("kind", cells.KINDS)
def test_chunked_sweep_equals_single_sweep(kind, monkeypatch):
    T, B = 23, 3
    rng = np.random.default_rng(5)
    cell = cells.make(kind, input_size=2, hidden_size=4, activation="tanh", radius=1.2, rng=rng)
    x, dh = rng.standard_normal((T, B, 2)), rng.standard_normal((B, 4))
    whole = gradients.profile(cell, x, dh)
    monkeypatch.setattr(gradients, "TRACE_BYTES", 8 * B * 4 * cells.SPECS[kind].arrays_per_step * 5)
    assert gradients.chunk_length(cell, B) == 5
    assert gradients.chunk_length(cell, B, 16) == 4  # 4 equal chunks, not 5 + 5 + 5 + 1
    assert gradients.chunk_length(cell, B, T) == 5  # 23 steps: 5 + 5 + 5 + 5 + 3
    parts = gradients.profile(cell, x, dh)
    for field in ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step"):
        a, b = getattr(whole, field), getattr(parts, field)
        if a is None:
            assert b is None
            continue
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=field)
    for name, g in whole.param_grads.items():
        np.testing.assert_allclose(parts.param_grads[name], g, rtol=1e-12, atol=0, err_msg=name)


def test_profile_agrees_with_lag_profile_and_param_grads():
    rng = np.random.default_rng(6)
    cell = cells.make("lstm", input_size=2, hidden_size=4, activation="relu", radius=0.9, rng=rng, gate_bias=1.0)
    x, dh = rng.standard_normal((9, 2, 2)), rng.standard_normal((2, 4))
    p = gradients.profile(cell, x, dh)
    np.testing.assert_array_equal(p.log10_grad_h, gradients.lag_profile(cell, x, dh))
    for name, g in gradients.param_grads(cell, x, dh).items():
        np.testing.assert_array_equal(p.param_grads[name], g)
        assert p.log10_grad_norm[name] == pytest.approx(np.log10(np.linalg.norm(g)), abs=1e-12)
    assert p.log10_jac[-1] == pytest.approx(0.0, abs=1e-15)  # d s_{T-1}/d s_{T-1} = I
    assert np.all(p.log10_grad_c[-1] == -np.inf)  # L depends on c_{T-1} only through h_{T-1}
    assert np.all(p.log10_dW_hh_contrib[0] == -np.inf)  # h_{-1} = 0
    assert p.spectral_radius == pytest.approx(0.9, abs=1e-12)
    assert p.spectral_norm == pytest.approx(0.9, abs=1e-12)


def test_forward_overflow_is_flagged_at_its_first_step_without_nan_in_the_finite_part():
    T, B = 2500, 2
    cell = linear_rnn(1.5, hidden=4, inputs=2)
    rng = np.random.default_rng(7)
    x, dh = rng.standard_normal((T, B, 2)), rng.standard_normal((B, 4))
    with np.errstate(all="ignore"):
        h = cells.forward(cell, x)
    first_bad = int(np.argmin(np.isfinite(h).all(axis=(1, 2))))
    assert 0 < first_bad < T
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy must not warn either
        p = gradients.profile(cell, x, dh)
    assert p.overflow and p.overflow_step == first_bad
    assert np.isfinite(p.log10_grad_h[:first_bad]).all() and np.isnan(p.log10_grad_h[first_bad:]).all()
    assert np.isfinite(p.log10_jac[:first_bad]).all() and np.isfinite(p.gamma_step[:first_bad]).all()
    assert all(np.isfinite(v) for v in p.log10_grad_norm.values())
    # The finite part is the gradient of the sequence cut just before the overflow.
    np.testing.assert_allclose(
        p.log10_grad_h[:first_bad], gradients.lag_profile(cell, x[:first_bad], dh), rtol=0, atol=1e-12
    )
    with pytest.warns(RuntimeWarning, match=f"overflowed at step {first_bad}"):
        gradients.lag_profile(cell, x, dh)


def test_exploding_param_grads_keep_exact_log10_norms():
    # Zero input keeps h = 0 (no forward overflow) while dL/dh_k grows as 2^lag;
    # bias grads sum those: past 10^308 they are inf in float64, not in log space.
    T = 1100
    cell = linear_rnn(2.0, hidden=3, inputs=1)
    dh = np.ones((1, 3))
    with pytest.warns(RuntimeWarning, match="exceed float64"):
        grads = gradients.param_grads(cell, np.zeros((T, 1, 1)), dh)
    assert np.isinf(grads["bias_hh"]).any() and not np.isnan(grads["bias_hh"]).any()
    assert np.all(grads["weight_hh"] == 0.0)  # h = 0 throughout
    p = gradients.profile(cell, np.zeros((T, 1, 1)), dh)
    assert p.param_grads_overflow and not p.overflow
    # sum_k dh U^lag with U = 2Q: the last term dominates, norm ~ sqrt(3) 2^(T-1) up to a factor < 2.
    assert abs(p.log10_grad_norm["bias_hh"] - ((T - 1) * np.log10(2.0) + 0.5 * np.log10(3))) < np.log10(2.0)


def test_overflow_at_the_first_step_leaves_nothing_finite_and_says_so():
    cell = linear_rnn(1.0, hidden=3, inputs=4)
    x = np.full((5, 1, 4), 1.7e308)  # W x_0 overflows already
    p = gradients.profile(cell, x, np.ones((1, 3)))
    assert p.overflow and p.overflow_step == 0
    assert np.isnan(p.log10_grad_h).all() and all(np.isnan(g).all() for g in p.param_grads.values())


@pytest.mark.parametrize("kind", cells.KINDS)
def test_same_seed_gives_bit_identical_results(kind):
    def run():
        rng = np.random.default_rng(8)
        cell = cells.make(kind, input_size=2, hidden_size=4, activation="sigmoid", radius=1.3, rng=rng)
        return gradients.profile(cell, rng.standard_normal((15, 3, 2)), rng.standard_normal((3, 4)))

    a, b = run(), run()
    for field in ("log10_grad_h", "log10_jac", "log10_dW_hh_contrib", "gamma_step"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field
    for name in a.param_grads:
        assert a.param_grads[name].tobytes() == b.param_grads[name].tobytes(), name
