"""Mean-field theory of the LSTM and the GRU: quadrature, fixed points, exact limits, and the core's exact
gradients at H = I = 512 beside the predictions of the dynamical mean field (bptt.theory.dmft), with the
static theory's printed beside them (docs/theory.md).

The 512-unit comparison runs a subset of the grid by default (tanh, rho = 1: the LSTM at gate bias 3, the GRU
at 0, and both at a large bias); BPTT_FULL_GRID=1 runs the whole grid of issue 19 (LSTM and GRU x
tanh and sigmoid x rho 0.5, 1, 1.5 x gate bias 0, 1, 3: several minutes):

    BPTT_FULL_GRID=1 python -m pytest -q -s tests/theory/test_gated.py -k agreement
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from bptt.core import activations, cells, gradients
from bptt.theory import dmft, gated

ACTS = ("tanh", "sigmoid")
RADII = (0.5, 1.0, 1.5)
BIASES = (0.0, 1.0, 3.0)


def test_gated_theory_imports_numpy_and_bptt_core_only():
    code = "import sys, bptt.theory.gated, bptt.theory.dmft; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    bptt_modules = {m for m in loaded if m.split(".")[0] == "bptt"}
    assert all(m == "bptt" or m.startswith(("bptt.core", "bptt.theory")) for m in bptt_modules)
    assert not {"scipy", "pandas", "pyarrow", "matplotlib"} & {m.split(".")[0] for m in loaded}


# --- Quadrature and fixed points ------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", gated.CELLS)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("radius,bias", [(0.5, 0.0), (1.0, 1.0), (1.5, 3.0), (3.0, -1.0)])
def test_halving_the_quadrature_step_changes_moments_and_rates_by_less_than_1e_10(cell, activation, radius, bias):
    coarse = gated.gated_stationary(cell, activation, radius, bias)
    fine = gated.gated_stationary(cell, activation, radius, bias, step=gated.STEP / 2)
    for key, value in coarse.items():
        assert abs(fine[key] - value) <= 1e-10 * max(abs(value), 1.0), key
    rates = np.array(gated.gated_modes(cell, activation, radius, bias))
    rates_fine = np.array(gated.gated_modes(cell, activation, radius, bias, step=gated.STEP / 2))
    np.testing.assert_allclose(rates_fine, rates, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", gated.CELLS)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("radius,bias", [(0.5, 0.0), (1.0, 1.0), (1.5, 3.0)])
def test_the_step_by_step_profile_settles_at_the_stationary_rate(cell, activation, radius, bias):
    # Forward from the zero state and backward step by step (gated_profile) against the fixed point by
    # bisection and the eigenvalue of the stationary map (gated_gradient_rate): two independent routes.
    log_h, log_c = gated.gated_profile(cell, activation, radius, bias, 400)
    per_step = 10 ** (log_h[200] - log_h[201])  # deep in the sequence, far from the loss
    assert per_step == pytest.approx(gated.gated_gradient_rate(cell, activation, radius, bias), rel=1e-9)
    if cell == "lstm":
        assert 10 ** (log_c[200] - log_c[201]) == pytest.approx(per_step, rel=1e-9)  # one slow mode for both
        assert log_c[-1] == -np.inf  # nothing comes back through c_T
    assert log_h[-1] == 0.0


@pytest.mark.parametrize("cell", gated.CELLS)
def test_gate_moments_at_zero_radius_are_those_of_the_input_alone(cell):
    # rho = 0: every pre-activation is W x + b with variance v exactly, whatever h does.
    got = gated.gated_stationary(cell, "tanh", 0.0, 1.0, input_variance=2.0)
    assert got["q_gate"] == 2.0 and got["q_candidate"] == 2.0


def test_lstm_cell_second_moment_solves_its_recursion():
    # C = E[f^2] C + E[i^2] E[g^2] for tanh (E g = 0 kills the mean terms), with the gate moments at the
    # reported q by an independent rule (Gauss-Hermite, converged at q ~ 1.3).
    got = gated.gated_stationary("lstm", "tanh", 1.0, 1.0)
    assert got["cell_mean"] == pytest.approx(0.0, abs=1e-15)
    q = got["q_gate"]
    f2, i2 = (_e(lambda u, b=b: _sig(b + u) ** 2, q) for b in (1.0, 0.0))
    g2 = _e(lambda u: np.tanh(u) ** 2, q)
    assert got["cell_second_moment"] == pytest.approx(i2 * g2 / (1 - f2), rel=1e-12)


def _sig(u):
    return 1 / (1 + np.exp(-u))


def _e(fn, q):
    z, w = np.polynomial.hermite_e.hermegauss(120)
    return float(np.dot(w / w.sum(), fn(math.sqrt(q) * z)))


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("mean,sd", [(0.3, 70.0), (5.0, 100.0), (-3.0, 200.0)])
def test_the_wide_cell_state_rule_agrees_with_the_narrow_one_where_both_apply(monkeypatch, activation, mean, sd):
    # A forget gate near 1 spreads c so wide that the narrow rule would need ~144 sd nodes: past WIDE the
    # expectations are taken in c itself. Here the narrow rule (forced) is converged and the two agree.
    args = (activations.get(activation), np.array([mean]), np.array([sd * sd]), gated.STEP)
    wide = gated._gaussian(*args)
    monkeypatch.setattr(gated, "WIDE", math.inf)
    narrow = gated._gaussian(*args)
    np.testing.assert_allclose(np.ravel(wide), np.ravel(narrow), rtol=1e-7)


# --- Exact limits ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("radius", RADII)
def test_a_forget_gate_held_at_1_gives_the_cell_paths_rate(activation, radius):
    # b_f -> inf: f_t -> 1, so dL/dc_{t-1} = dL/dc_t f_t keeps its norm: the cell path's rate, 1.
    rates = [gated.gated_gradient_rate("lstm", activation, radius, b) for b in (5.0, 10.0, 20.0, 30.0)]
    gaps = np.abs(np.array(rates) - 1.0)
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 1e-6


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("radius", RADII)
def test_a_large_update_bias_gives_the_identitys_rate(activation, radius):
    # b_z -> inf: z_t -> 1, h_t = h_{t-1}: the identity's rate, 1, approached from below.
    rates = np.array([gated.gated_gradient_rate("gru", activation, radius, b) for b in (5.0, 10.0, 20.0, 30.0)])
    assert np.all(rates < 1.0) and np.all(np.diff(rates) > 0) and 1.0 - rates[-1] < 1e-6


# --- Chrono: a mixture over units ---------------------------------------------------------------------------


def test_chrono_has_no_single_rate_and_its_mixture_profile_converges_in_the_nodes():
    with pytest.raises(ValueError, match="chrono' has no single rate"):
        gated.gated_gradient_rate("lstm", "tanh", 1.0, "chrono")
    kw = dict(chrono_t_max=50)
    coarse, _ = gated.gated_profile("lstm", "tanh", 1.0, "chrono", 60, **kw)
    fine, _ = gated.gated_profile("lstm", "tanh", 1.0, "chrono", 60, **kw, step=gated.STEP / 2)
    np.testing.assert_allclose(fine, coarse, rtol=0, atol=1e-10)
    # No single exponential: the per-step factor rises with the lag as the fast units die out, from the
    # loss (row 58) back to where the forward transient of the first steps begins (row 5).
    factor = 10 ** (coarse[:-1] - coarse[1:])  # row k: ||dL/dh_k|| / ||dL/dh_{k+1}||
    assert np.all(np.diff(factor[5:58]) < 0) and factor[5] - factor[57] > 0.05


@pytest.mark.parametrize(
    "args,kw,match",
    [
        (("rnn", "tanh", 1.0, 0.0), {}, "cell must be one of"),
        (("lstm", "relu", 1.0, 0.0), {}, "activation must be one of"),
        (("gru", "tanh", -1.0, 0.0), {}, "radius must be"),
        (("gru", "tanh", 1.0, math.nan), {}, "gate_bias must be a finite number"),
        (("lstm", "tanh", 1.0, 0.0), {"input_variance": -1.0}, "input_variance must be"),
        (("gru", "tanh", 1.0, "chrono"), {}, "chrono"),
    ],
)
def test_bad_arguments_name_the_argument_and_what_is_allowed(args, kw, match):
    with pytest.raises(ValueError, match=match):
        gated.gated_gradient_rate(*args, **kw)


# --- The core's exact gradients at H = I = 512 ---------------------------------------------------------------

H = 512
SEEDS = 3
STEPS, FIRST_LAG, LAST_LAG = 32, 4, 24  # the fitted window of lags; the forward transient is in the prediction
LIMIT_BIAS = 12.0
FULL = os.environ.get("BPTT_FULL_GRID") == "1"
# The target: the measured median within this of the dynamical mean field's prediction.
EXACT = 0.005
# Samples of the single-unit process per prediction (its spread over seeds: docs/theory.md, "Monte Carlo error").
UNITS = 4 * dmft.UNITS
# Where the target is missed: the measured median minus the prediction, as measured with this file
# (BPTT_FULL_GRID=1, the command in the module docstring) and tabled in docs/theory.md. A rerun must find it
# again within the spread over networks (at least EXACT). All lie below the prediction, at gate bias 0 or 1
# and mostly with the sigmoid candidate: there the mean of a unit's long product of gate factors rests on
# few units (h's mean freezes part of their field), which 512 units sample no better than 512 samples of
# the process do (docs/theory.md: with 512 samples its median rate meets these measurements).
GAP = {
    ("lstm", "tanh", 0.5, 0.0): -0.0091,
    ("lstm", "sigmoid", 0.5, 0.0): -0.0378,
    ("lstm", "sigmoid", 0.5, 1.0): -0.0106,
    ("lstm", "sigmoid", 1.0, 0.0): -0.0613,
    ("lstm", "sigmoid", 1.0, 1.0): -0.0119,
    ("lstm", "sigmoid", 1.5, 0.0): -0.0493,
    ("gru", "tanh", 0.5, 0.0): -0.0072,
    ("gru", "sigmoid", 0.5, 0.0): -0.0448,
    ("gru", "sigmoid", 0.5, 1.0): -0.0122,
    ("gru", "sigmoid", 1.0, 0.0): -0.0600,
    ("gru", "sigmoid", 1.0, 1.0): -0.0117,
    ("gru", "sigmoid", 1.5, 0.0): -0.0512,
    ("gru", "sigmoid", 1.5, 1.0): -0.0084,
}
POINTS = (
    [(c, a, r, b) for c in gated.CELLS for a in ACTS for r in RADII for b in BIASES]
    if FULL
    else [("lstm", "tanh", 1.0, 3.0), ("gru", "tanh", 1.0, 0.0)]
) + [(c, "tanh", 1.0, LIMIT_BIAS) for c in gated.CELLS]


def _window_rate(log_norm: np.ndarray) -> np.ndarray:
    """10**slope of log10 norm (STEPS, ...) against lag over FIRST_LAG..LAST_LAG, per column: (...)."""
    lag = np.arange(STEPS - 1, -1, -1)
    sel = (lag >= FIRST_LAG) & (lag <= LAST_LAG)
    y = log_norm[sel].reshape(sel.sum(), -1)
    return 10 ** np.polyfit(lag[sel], y, 1)[0].reshape(log_norm.shape[1:])


@pytest.fixture(scope="module")
def measured():
    """(cell, activation, radius, bias) -> the window rate of each of SEEDS networks (SEEDS,).

    One LSTM per seed from cells.make at rho = 1, gate bias 0; every other point rescales its U and adds
    the bias (the draws do not depend on either: bptt.core.initialisation), and the GRU of a seed takes
    the first three blocks of U and of W (the same distributions as cells.make's GRU), so that 12 QR
    decompositions of 512 x 512 serve the whole grid. Each (cell, activation) runs as one stack.
    """
    rng = np.random.default_rng(99)
    x, dh = rng.standard_normal((STEPS, 1, H)), rng.standard_normal((1, H))
    base = [
        cells.make("lstm", input_size=H, hidden_size=H, activation="tanh", radius=1.0, rng=np.random.default_rng(s))
        for s in range(SEEDS)
    ]
    out = {}
    for cell in gated.CELLS:
        blocks = 4 if cell == "lstm" else 3
        for act in ACTS:
            points = [p for p in POINTS if p[:2] == (cell, act)]
            if not points:
                continue
            nets = []
            for _, _, radius, bias in points:
                for b in base:
                    p = {k: v[: blocks * H].copy() for k, v in b.params.items()}
                    p["weight_hh"] *= radius
                    p["bias_ih"].reshape(blocks, H)[1] += bias  # block 1: the LSTM's f, the GRU's z
                    nets.append(cells.from_params(cell, p, activation=act))
            m = len(nets)
            log_h = gradients.lag_profile(
                cells.stack(nets), np.repeat(x[:, None], m, axis=1), np.repeat(dh[None], m, axis=0)
            )
            rates = _window_rate(log_h.mean(axis=-1))  # (M,), the batch has one sequence
            for i, point in enumerate(points):
                out[point] = rates[i * SEEDS : (i + 1) * SEEDS]
    return out


def _predicted(cell, activation, radius, bias) -> float:
    return float(_window_rate(dmft.dmft_profile(cell, activation, radius, bias, STEPS, units=UNITS)[0]))


def _static(cell, activation, radius, bias) -> float:
    return float(_window_rate(gated.gated_profile(cell, activation, radius, bias, STEPS)[0]))


def test_agreement_with_512_unit_networks(measured):
    rows, failures = [], []
    for point in POINTS:
        cell, act, radius, bias = point
        got = measured[point]
        med, spread = float(np.median(got)), float(got.max() - got.min())
        want = _predicted(*point)
        gap = med - want
        if point in GAP:
            tol = max(EXACT, spread)
            ok, allowed = abs(gap - GAP[point]) <= tol, f"documented {GAP[point]:+.4f} +- {tol:.4f}"
        else:
            ok, allowed = abs(gap) <= EXACT, f"target: |gap| <= {EXACT}"
        rows.append(
            f"{cell:4s} {act:7s} rho={radius:3.1f} b={bias:4.1f}  static {_static(*point):.4f}  "
            f"predicted {want:.4f}  measured {med:.4f} "
            f"[{got.min():.4f}, {got.max():.4f}]  gap {gap:+.4f}  ({allowed})"
        )
        if not ok:
            failures.append(rows[-1])
    print("\n" + "\n".join(rows))
    assert not failures, "\n".join(failures)
