"""Mean-field predictions: closed forms, quadrature, fixed points, and agreement with the core's exact gradients."""

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from bptt.core import activations, cells, gradients
from bptt.theory import meanfield as mf

RADII = [0.5, 1.0, 1.5]


def test_the_theory_covers_exactly_the_cores_activations():
    # A new activation in the core must be classified here (and its proofs checked) before it is used.
    assert sorted(mf.BOUNDED + mf.HOMOGENEOUS) == sorted(activations.NAMES)


def test_theory_imports_numpy_and_bptt_core_only():
    code = "import sys, bptt.theory.meanfield; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    bptt_modules = {m for m in loaded if m.split(".")[0] == "bptt"}
    assert bptt_modules and all(m == "bptt" or m.startswith(("bptt.core", "bptt.theory")) for m in bptt_modules)
    assert not {"scipy", "pandas", "pyarrow", "matplotlib"} & {m.split(".")[0] for m in loaded}


# --- Closed forms: linear and relu ---------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [0.0, 0.3, 0.9, 1.0, 1.7])
@pytest.mark.parametrize("input_variance", [0.0, 1.0, 4.0])
def test_linear_rate_is_exactly_rho_and_its_critical_radius_is_1(radius, input_variance):
    assert mf.gradient_rate("linear", radius, input_variance=input_variance) == pytest.approx(radius, rel=1e-15)
    assert mf.critical_radius("linear", input_variance=input_variance) == 1.0


@pytest.mark.parametrize("radius", [0.0, 0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("input_variance", [0.0, 1.0, 4.0])
def test_relu_rate_is_rho_over_sqrt2_and_its_critical_radius_sqrt2(radius, input_variance):
    assert mf.gradient_rate("relu", radius, input_variance=input_variance) == pytest.approx(
        radius / math.sqrt(2), rel=1e-15
    )
    assert mf.critical_radius("relu", input_variance=input_variance) == math.sqrt(2)


@pytest.mark.parametrize("radius", [0.7, 2.0])
def test_linear_network_with_orthogonal_U_decays_at_the_predicted_rate_at_any_width(radius):
    # The one exact case: ||dh_last U^lag|| = rho^lag ||dh_last|| for U = rho Q, here with H = 5.
    rng = np.random.default_rng(0)
    cell = cells.make("rnn", input_size=3, hidden_size=5, activation="linear", radius=radius, rng=rng)
    got = gradients.lag_profile(cell, rng.standard_normal((30, 2, 3)), rng.standard_normal((2, 5)))
    per_step = got[:-1] - got[1:]  # log10 of the factor of one step back, per sample
    np.testing.assert_allclose(per_step, np.log10(mf.gradient_rate("linear", radius)), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "activation,radius,input_variance,want",
    [
        ("linear", 0.5, 1.0, 1 / (1 - 0.25)),  # q* = c / (1 - rho^2)
        ("linear", 0.9, 2.0, 2 / (1 - 0.81)),
        ("relu", 1.0, 1.0, 1 / (1 - 0.5)),  # q* = c / (1 - rho^2 / 2)
        ("relu", 1.3, 0.5, 0.5 / (1 - 0.845)),
        ("linear", 1.0, 1.0, math.inf),  # q_t = c (t + 1): no stationary state
        ("linear", 1.5, 1.0, math.inf),
        ("relu", math.sqrt(2), 1.0, math.inf),
        ("relu", 2.0, 0.1, math.inf),
        ("relu", 2.0, 0.0, 0.0),  # zero input, zero start: the state stays 0
        ("tanh", 1.5, 0.0, 0.0),
    ],
)
def test_q_star_closed_forms_and_where_no_stationary_state_exists(activation, radius, input_variance, want):
    assert mf.q_star(activation, radius, input_variance=input_variance) == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("activation,radius", [("relu", 1.5), ("relu", 3.0), ("linear", 1.0), ("linear", 1.2)])
def test_without_a_stationary_state_the_rate_stays_finite_and_is_exact_for_linear(activation, radius):
    # chi_1 does not depend on q for relu and linear, so the rate survives q* = inf.
    assert mf.q_star(activation, radius) == math.inf
    rate = mf.gradient_rate(activation, radius)
    assert rate == pytest.approx(radius / math.sqrt(2) if activation == "relu" else radius, rel=1e-15)


# --- Quadrature -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", mf.BOUNDED)
@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5, 3.0, 10.0])
@pytest.mark.parametrize("input_variance", [0.25, 1.0])
def test_halving_the_quadrature_step_changes_q_star_and_chi1_by_less_than_1e_12(activation, radius, input_variance):
    # Halving the step doubles the nodes. relu and linear use no quadrature (exact closed forms, tested above).
    for fn in (mf.q_star, mf.chi1):
        coarse = fn(activation, radius, input_variance=input_variance)
        fine = fn(activation, radius, input_variance=input_variance, step=mf.STEP / 2)
        assert abs(fine - coarse) <= 1e-12 * abs(fine), fn.__name__


@pytest.mark.parametrize("activation", mf.BOUNDED)
@pytest.mark.parametrize("radius", [0.3, 0.5])
def test_quadrature_agrees_with_gauss_hermite_where_that_converges(activation, radius):
    # An independent rule: Gauss-Hermite with 200 nodes is converged to ~1e-15 for q* <= 0.3 (input variance 0.1).
    z, w = hermegauss(200)
    w = w / w.sum()
    act = activations.get(activation)
    q = mf.q_star(activation, radius, input_variance=0.1)
    assert q < 0.3
    u = math.sqrt(q) * z
    want_v = radius**2 * np.dot(w, act.f(u) ** 2) + 0.1
    want_chi1 = radius**2 * np.dot(w, act.df(u) ** 2)
    assert want_v == pytest.approx(q, rel=1e-13)  # q* is GH's fixed point too
    assert mf.chi1(activation, radius, input_variance=0.1) == pytest.approx(want_chi1, rel=1e-13)


# --- q* as a fixed point ------------------------------------------------------------------------------------


STATIONARY = [(a, r) for a in activations.NAMES for r in (0.0, 0.5, 0.9)] + [
    ("tanh", 1.3),
    ("tanh", 3.0),
    ("sigmoid", 1.3),
    ("sigmoid", 10.0),
    ("relu", 1.3),
]


@pytest.mark.parametrize("activation,radius", STATIONARY)
@pytest.mark.parametrize("input_variance,bias_variance", [(0.0, 0.0), (1.0, 0.0), (0.25, 0.5), (4.0, 1.0)])
def test_q_star_is_a_fixed_point_of_the_variance_map(activation, radius, input_variance, bias_variance):
    kw = dict(input_variance=input_variance, bias_variance=bias_variance)
    q = mf.q_star(activation, radius, **kw)
    assert q >= input_variance + bias_variance
    assert abs(mf.variance_map(activation, radius, q, **kw) - q) <= 1e-12 * max(q, 1e-300)


@pytest.mark.parametrize("activation,radius", [r for r in STATIONARY if r[1] > 0])
@pytest.mark.parametrize("input_variance", [0.25, 1.0])
def test_iterating_the_variance_map_from_any_start_reaches_q_star(activation, radius, input_variance):
    want = mf.q_star(activation, radius, input_variance=input_variance)
    for q in (0.0, input_variance, 0.5 * want, 10 * want, 1e3):
        for _ in range(300):  # V contracts by <= 0.35 per step here (0.85 for relu at 1.3)
            q = mf.variance_map(activation, radius, q, input_variance=input_variance)
        assert q == pytest.approx(want, rel=1e-12)


def test_with_zero_input_tanh_stays_at_q_0_even_where_that_fixed_point_is_unstable():
    # q* = 0 is where the zero start stays (h_t = 0 exactly), so chi_1 = rho^2; but V'(0) = rho^2 > 1:
    # any positive start flows to the other fixed point, where the rate is lower.
    assert mf.q_star("tanh", 1.5, input_variance=0.0) == 0.0
    assert mf.gradient_rate("tanh", 1.5, input_variance=0.0) == pytest.approx(1.5, rel=1e-15)
    q = 1e-6
    for _ in range(200):
        q = mf.variance_map("tanh", 1.5, q, input_variance=0.0)
    assert q > 0.5 and abs(mf.variance_map("tanh", 1.5, q, input_variance=0.0) - q) <= 1e-12 * q  # q = 0.7934
    assert mf.q_star("tanh", 1.5, input_variance=1e-12) == pytest.approx(q, rel=1e-9)  # what any input reaches
    assert 1.0 < mf.gradient_rate("tanh", 1.5, input_variance=1e-12) < 1.1  # 1.067: exploding, far slower than 1.5


@pytest.mark.parametrize("rate,want", [(math.exp(-1), 1.0), (math.exp(-0.1), 10.0), (1.0, math.inf), (math.e, -1.0)])
def test_timescale_is_minus_one_over_ln_rate(rate, want):
    assert mf.timescale(rate) == pytest.approx(want, rel=1e-14)


def test_timescale_of_rate_0_is_0():
    assert mf.timescale(0.0) == 0.0


# --- Against the core's exact gradients ---------------------------------------------------------------------


def measured(activation, radius, *, hidden=512, batch=16, burn=50, window=100, skip=5, seed=0):
    """(per-step factor, mean z^2) of an Elman network over steps burn .. burn+window-1.

    The factor is 10**slope of the batch mean of log10 ||dL/dh_k|| against the lag, fitted over lags
    skip .. skip+window-1, i.e. steps k in [burn, burn + window): every f'(z_t) that enters it is past
    the burn-in (the state starts at 0 and q_t converges by a factor V' <= 0.35 per step). The mean of
    log (each sample's rate, then averaged) is what the pipeline plots; at H = 512 a norm self-averages
    over units, so it differs from the log of the mean norm by O(1/H) per step (0.0008 at most in the
    factor, measured for these cases); at small H the two part, and the log of the mean follows the
    largest sample. x is standard normal and W has entries N(0, 1/I): input_variance = 1.
    """
    t = burn + window + skip
    rng = np.random.default_rng(seed)
    cell = cells.make("rnn", input_size=hidden, hidden_size=hidden, activation=activation, radius=radius, rng=rng)
    x, dh = rng.standard_normal((t, batch, hidden)), rng.standard_normal((batch, hidden))
    lag = np.arange(t - 1, -1, -1)
    fit = (lag >= skip) & (lag < skip + window)
    slope = np.polyfit(lag[fit], gradients.lag_profile(cell, x, dh).mean(axis=1)[fit], 1)[0]
    h = cells.forward(cell, x)  # (T, B, H)
    steps = slice(burn, burn + window)
    z = x[steps] @ cell.params["weight_ih"].T + h[burn - 1 : burn + window - 1] @ cell.params["weight_hh"].T
    return 10.0**slope, float(np.mean(z * z))


@pytest.mark.parametrize("activation", mf.BOUNDED)
@pytest.mark.parametrize("radius", RADII)
def test_at_H_512_the_measured_rate_agrees_with_the_prediction_within_0_005(activation, radius):
    rate, q = measured(activation, radius)
    assert abs(rate - mf.gradient_rate(activation, radius)) < 0.005
    assert q == pytest.approx(mf.q_star(activation, radius), rel=0.01)  # the window is stationary at q*


def test_the_measured_rate_of_tanh_crosses_1_at_the_critical_radius():
    # Input variance 1: rho_c = 1.856, predicted rates 0.968 and 1.031 at 0.95 and 1.05 rho_c. H = 256 is
    # enough for this coarse check (measured spread over seeds ~0.004). The sigmoid's rho_c (~10.3) is
    # left out: there its state is nearly static and the measured rate scatters by ~0.03 over seeds.
    rho_c = mf.critical_radius("tanh")
    below, _ = measured("tanh", 0.95 * rho_c, hidden=256, batch=8)
    above, _ = measured("tanh", 1.05 * rho_c, hidden=256, batch=8)
    assert below < 1 < above


@pytest.mark.parametrize("activation", mf.BOUNDED)
@pytest.mark.parametrize("input_variance", [0.0, 0.25, 1.0, 4.0])
def test_chi1_rises_with_rho_and_equals_1_at_the_critical_radius(activation, input_variance):
    # Bisection finds a crossing; rising chi_1 makes it the only one. No case returns inf: chi_1 grows
    # at least like rho for tanh and sigmoid (see critical_radius), and relu and linear are closed forms.
    kw = dict(input_variance=input_variance)
    chi = [mf.chi1(activation, r, **kw) for r in np.arange(0.0, 16.0, 0.5)]
    assert np.all(np.diff(chi) > 0)
    rho_c = mf.critical_radius(activation, **kw)
    assert math.isfinite(rho_c) and mf.chi1(activation, rho_c, **kw) == pytest.approx(1.0, abs=1e-12)


def test_critical_radii_of_tanh_and_sigmoid():
    # q* = 0: chi_1 = rho^2, so rho_c = 1 to the last bit or one below it (numpy's tanh differs by a
    # rounding between SIMD kernels: 1 + 2^-52 on some processors).
    assert mf.critical_radius("tanh", input_variance=0.0) == pytest.approx(1.0, abs=2**-51)
    assert mf.critical_radius("tanh") == pytest.approx(1.85559, abs=1e-5)
    assert mf.critical_radius("sigmoid") == pytest.approx(10.2650, abs=1e-4)


# --- LSTM forget path ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gate_bias,variance", [(0.0, 1.0), (1.0, 0.5), (-2.0, 4.0), (3.0, 9.0)])
def test_forget_path_rate_matches_monte_carlo(gate_bias, variance):
    rng = np.random.default_rng(0)
    f = 1.0 / (1.0 + np.exp(-(gate_bias + math.sqrt(variance) * rng.standard_normal(1_000_000))))
    se = f.std() / math.sqrt(f.size)
    assert abs(mf.forget_path_rate(gate_bias, preactivation_variance=variance) - f.mean()) < 4 * se


@pytest.mark.parametrize("gate_bias", [-3.0, 0.0, 1.0, 5.0])
def test_forget_path_rate_with_zero_variance_is_sigma_of_the_bias(gate_bias):
    want = 1.0 / (1.0 + math.exp(-gate_bias))
    assert mf.forget_path_rate(gate_bias, preactivation_variance=0.0) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("gate_bias", [0.5, 2.0])
def test_forget_path_rate_is_symmetric_like_the_sigmoid(gate_bias):
    # sigma(-u) = 1 - sigma(u) and z is symmetric: E[sigma(-b + s z)] = 1 - E[sigma(b + s z)].
    up = mf.forget_path_rate(gate_bias, preactivation_variance=2.0)
    down = mf.forget_path_rate(-gate_bias, preactivation_variance=2.0)
    assert up + down == pytest.approx(1.0, abs=1e-15)
    assert 0.5 < up < 1.0 / (1.0 + math.exp(-gate_bias))  # variance pulls the mean gate towards 1/2


# --- Bad arguments ------------------------------------------------------------------------------------------

ALLOWED = r"activation must be one of \('tanh', 'sigmoid', 'relu', 'linear'\)"


def calls_with(**bad):
    """Every public function called with its defaults except `bad`."""
    default = dict(activation="tanh", radius=1.0, input_variance=1.0, bias_variance=0.0)
    a = {**default, **bad}
    variances = dict(input_variance=a["input_variance"], bias_variance=a["bias_variance"])
    return {
        "q_star": lambda: mf.q_star(a["activation"], a["radius"], **variances),
        "chi1": lambda: mf.chi1(a["activation"], a["radius"], **variances),
        "gradient_rate": lambda: mf.gradient_rate(a["activation"], a["radius"], **variances),
        "variance_map": lambda: mf.variance_map(a["activation"], a["radius"], 1.0, **variances),
        "critical_radius": lambda: mf.critical_radius(a["activation"], **variances),
    }


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"activation": "softplus"}, ALLOWED),
        ({"activation": None}, ALLOWED),
        ({"input_variance": -0.1}, r"input_variance must be a finite number >= 0, got -0.1"),
        ({"input_variance": float("nan")}, r"input_variance must be a finite number >= 0"),
        ({"input_variance": "1"}, r"input_variance must be a finite number >= 0"),
        ({"bias_variance": float("inf")}, r"bias_variance must be a finite number >= 0"),
        ({"bias_variance": True}, r"bias_variance must be a finite number >= 0"),
    ],
)
@pytest.mark.parametrize("fn", ["q_star", "chi1", "gradient_rate", "variance_map", "critical_radius"])
def test_every_function_rejects_bad_activation_and_variances(bad, message, fn):
    with pytest.raises(ValueError, match=message):
        calls_with(**bad)[fn]()


@pytest.mark.parametrize("radius", [-0.1, float("nan"), float("inf"), "1", None])
@pytest.mark.parametrize("fn", ["q_star", "chi1", "gradient_rate", "variance_map"])
def test_functions_of_rho_reject_a_bad_radius(radius, fn):
    with pytest.raises(ValueError, match="radius must be a finite number >= 0"):
        calls_with(radius=radius)[fn]()


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_closed_forms_check_their_arguments_too(activation):
    with pytest.raises(ValueError, match="input_variance must be a finite number >= 0"):
        mf.chi1(activation, 1.0, input_variance=-1.0)
    with pytest.raises(ValueError, match="bias_variance must be a finite number >= 0"):
        mf.critical_radius(activation, bias_variance=float("nan"))


@pytest.mark.parametrize("step", [0.0, -0.1, float("nan"), "0.1"])
@pytest.mark.parametrize("fn", [mf.q_star, mf.chi1])
def test_a_bad_quadrature_step_is_rejected(step, fn):
    with pytest.raises(ValueError, match="step must be a finite number > 0"):
        fn("sigmoid", 1.0, step=step)
    with pytest.raises(ValueError, match="step must be a finite number > 0"):
        mf.variance_map("sigmoid", 1.0, 1.0, step=step)


@pytest.mark.parametrize("q", [-1.0, float("inf"), None])
def test_variance_map_rejects_a_bad_q(q):
    with pytest.raises(ValueError, match="q must be a finite number >= 0"):
        mf.variance_map("tanh", 1.0, q)


@pytest.mark.parametrize("rate", [-0.5, float("nan"), float("inf"), "1"])
def test_timescale_rejects_a_bad_rate(rate):
    with pytest.raises(ValueError, match="rate must be a finite number >= 0"):
        mf.timescale(rate)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"gate_bias": float("nan"), "preactivation_variance": 1.0}, r"gate_bias must be a finite number, got nan"),
        ({"gate_bias": "1", "preactivation_variance": 1.0}, r"gate_bias must be a finite number"),
        ({"gate_bias": 1.0, "preactivation_variance": -1.0}, r"preactivation_variance must be a finite number >= 0"),
        ({"gate_bias": 1.0, "preactivation_variance": float("inf")}, r"preactivation_variance must be a finite number"),
    ],
)
def test_forget_path_rate_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mf.forget_path_rate(**kwargs)


@pytest.mark.parametrize("activation", mf.BOUNDED + mf.HOMOGENEOUS)
def test_a_radius_whose_square_leaves_float64_gives_exact_or_nan_never_an_error(activation):
    radius = 1e300
    rate = mf.gradient_rate(activation, radius)
    if activation in ("relu", "linear"):  # exact: rho sqrt(E f'^2)
        assert rate == pytest.approx(radius / math.sqrt(2) if activation == "relu" else radius, rel=1e-15)
        assert mf.q_star(activation, radius) == math.inf
    else:  # q* beyond float64: not located, and said so with NaN
        assert (
            math.isnan(rate) and math.isnan(mf.q_star(activation, radius)) and math.isnan(mf.chi1(activation, radius))
        )
