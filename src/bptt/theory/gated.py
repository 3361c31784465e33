"""Mean-field theory of the LSTM and the GRU in this project's parametrisation: the stationary forward
moments and the per-step factor of ||dL/dh_k|| (and ||dL/dc_k||). docs/theory.md derives every
equation; this docstring names them and states what is assumed.

Parametrisation (bptt.core.initialisation): every H x H block of U is rho Q_b with Q_b an independent
Haar orthogonal matrix, W has entries N(0, 1/I), x_t has per-entry variance v = `input_variance`, all
biases are 0 except the gate bias b on the LSTM's forget gate or the GRU's update gate z. Every
expectation below is over a unit i at a step t of a wide network (H -> infinity).

Assumptions (Gilboa et al. 2019; Chen, Pennington & Schoenholz 2018, in the Elman case Poole et al. 2016):
  (A1) independence of gate pre-activations: the blocks U_b h_{t-1} + W_b x_t of different gates
       are independent centred Gaussians, each of variance v + rho^2 Q_h (Q_h = ||h||^2 / H), and
       independent of the unit's own state (c_{t-1}, h_{t-1}), which they see only through a
       random projection;
  (A2) gradient independence: the U_b^T of the backward pass are independent of the forward pass,
       so ||U_b^T d||^2 = rho^2 ||d||^2 and the blocks' contributions add in squares;
  (A3) stationarity: the forward moments have reached their fixed point (`gated_gradient_rate`),
       or follow their own mean-field recursion step by step from the zero state (`gated_profile`);
  (A4) LSTM only: the cell state c of a unit is Gaussian with the mean M and second moment C the
       recursion gives (it is a sum of many products when the forget gate is near 1, but not when
       it is small);
  (A5) independence across steps: a unit's gate values at different steps are independent, so the
       factors its own paths (c_t = f_t c_{t-1} + ..., h_t = z_t h_{t-1} + ...) multiply along a lag
       average step by step.
(A4) and (A5) do NOT become exact as H -> infinity. U_b h_{t-1} is, for unit i, a field that h's
memory keeps correlated from one step to the next (and, for the sigmoid candidate, h has a mean, so
part of the field is frozen per unit). Positively correlated factors multiply to more than their
means do (Gaussian fields with non-negative correlations are associated, and the gates are increasing
functions of them), so the predicted rate lies BELOW the measured one; the gap vanishes where the
unit-local factor is constant (a gate bias b -> infinity: the exact limits below) and where the field
is negligible against the input (rho -> 0), and grows with rho. docs/theory.md gives the measured gaps
at H = I = 512; `bptt.theory.dmft` drops (A4) and (A5) (a unit's fields as Gaussian processes in time) and
closes most of them.

LSTM (gates i, f, o = sigma(a), candidate g = f(a_g); all four pre-activations have variance
q = v + rho^2 Q_h, means 0 except a_f's, which is b):
    M_t = E[f] M_{t-1} + E[i] E[g],   C_t = E[f^2] C_{t-1} + 2 E[f] E[i] E[g] M_{t-1} + E[i^2] E[g^2]
    Q_h = E[o^2] E[f(c)^2],   c ~ N(M, C - M^2)                                              (L1-L3)
Backward, per unit second moments D_h = E[(dL/dh)^2], D_c = E[(dL/dc through c_{t+1})^2]:
    e   = D_c + A D_h,                          A   = E[o^2] E[f'(c)^2]
    D_h <- K_c e + K_o D_h,   K_c = rho^2 (E[g^2] E[sigma'(a_i)^2] + C E[sigma'(a_f)^2] + E[i^2] E[f'(a_g)^2]),
                              K_o = rho^2 E[f(c)^2] E[sigma'(a_o)^2]
    D_c <- E[f^2] e                                                                          (L4)
a 2 x 2 linear map (one per unit class for chrono). Its larger eigenvalue lambda_1 sets the
asymptotic rate sqrt(lambda_1) of both ||dL/dh_k|| and ||dL/dc_k||; the smaller one, lambda_2, the
transient: from the loss's start (D_h, D_c) = (1, 0) the profile is a sum of the two modes.

GRU (r, z = sigma(a_r), sigma(a_z), a_z with mean b; a_n = W_n x + r U_n h, so given r it is
N(0, v + r^2 P) with P = rho^2 Q_h; n = f(a_n)):
    M_h <- E[1 - z] E[n] + E[z] M_h,   Q_h <- E[(1 - z)^2] E[n^2] + 2 E[z (1 - z)] E[n] M_h + E[z^2] Q_h   (G1)
    chi = E[z^2] + rho^2 (E[(1 - z)^2] (E[f'(a_n)^2 (U_n h)^2 sigma'(a_r)^2] + E[r^2 f'(a_n)^2])
                          + E[(h - n)^2] E[sigma'(a_z)^2])                                  (G2)
a single rate sqrt(chi) per step, with no transient once the forward moments are stationary.

Exact limits (tested): a forget-gate bias b -> infinity gives lambda_1 -> E[f^2] -> 1 (the cell path's
rate sqrt(E[f^2])); an update-gate bias b -> infinity gives chi -> 1, the identity's rate.

Chrono (Tallec & Ollivier 2018): unit j has b_f = log u_j, b_i = -log u_j, u_j ~ U(1, T_max - 1).
The forward moments average over units (Q_h = E_u[Q_h(u)]); backward, D_h is shared by all units
(it comes through U) while each unit class keeps its own D_c(u): the map (L4) becomes one row for D_h
and one per class, with E_u by Gauss-Legendre quadrature in u (CHRONO_NODES). Its spectrum runs from
the fastest to the slowest unit's cell path, so over any finite window the profile is a mixture, not a
single exponential: `gated_gradient_rate` refuses chrono and `gated_profile` gives the mixture.
"""

import math
from typing import NamedTuple

import numpy as np
from numpy.polynomial.legendre import leggauss

from bptt.core import activations, cells, initialisation
from bptt.theory import meanfield
from bptt.theory.meanfield import STEP, _check_number, _expect, _nodes

CELLS = ("lstm", "gru")
# The candidate activations the gated theory covers: bounded, so that Q_h <= 1 brackets the fixed point.
ACTIVATIONS = meanfield.BOUNDED
# Gauss-Legendre nodes over u for the chrono mixture (the profile changes by < 1e-9 when doubled: tested).
CHRONO_NODES = 48
# The cell state's spread beyond which its expectations are taken in c itself (`_gaussian`), and the |c|
# beyond which tanh and sigmoid, squared, and their slopes squared equal their limits to double precision.
WIDE, C_MAX = 64.0, 40.0
_SIGMOID = activations.SIGMOID


class Units(NamedTuple):
    """Classes of units with their gate biases: bias (n,) of the forget (LSTM) or update (GRU) gate,
    input_bias (n,) of the LSTM's input gate, weight (n,) summing to 1."""

    bias: np.ndarray
    input_bias: np.ndarray
    weight: np.ndarray


def _check(cell, activation, radius, gate_bias, input_variance, chrono_t_max, nodes=CHRONO_NODES):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS} for the gated theory, got {activation!r}")
    radius = initialisation.check_radius(radius)
    v = _check_number("input_variance", input_variance, ">= 0")
    gate_bias = initialisation.check_gate_bias(gate_bias, chrono_t_max)
    if gate_bias == initialisation.CHRONO:
        if cell != "lstm":
            raise ValueError(f"gate_bias 'chrono' applies to cell 'lstm' only, got cell {cell!r}")
        x, w = leggauss(nodes)
        b = np.log(1.0 + 0.5 * (x + 1.0) * (chrono_t_max - 2.0))  # log u, u in (1, T_max - 1)
        units = Units(b, -b, 0.5 * w)
    else:
        units = Units(np.array([gate_bias]), np.zeros(1), np.ones(1))
    return activations.get(activation), radius, v, units


def _gate(bias: np.ndarray, q: float, step: float) -> dict[str, np.ndarray]:
    """Moments of a sigmoid gate s = sigma(b + sqrt(q) z) per bias (n,): E s, E s^2, E (1-s), E (1-s)^2,
    E s(1-s), E[1 - s^2], E sigma'^2. 1 - s is sigma(-a), exact where s rounds to 1."""
    z, w = _nodes(q, step)
    a = bias[:, None] + math.sqrt(q) * z  # (n, nodes)
    s, r = _SIGMOID.f(a), _SIGMOID.f(-a)
    return {
        "m": s @ w,
        "m2": (s * s) @ w,
        "off": r @ w,
        "off2": (r * r) @ w,
        "on_off": (s * r) @ w,
        "one_minus_m2": (r * (1.0 + s)) @ w,
        "slope2": _SIGMOID.df(a) ** 2 @ w,
    }


def _gaussian(act, mean: np.ndarray, var: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """E f(c)^2 and E f'(c)^2 for c ~ N(mean, var) per unit class (n,).

    Classes with sqrt(var) <= WIDE: `meanfield`'s rule on one node set (its node count grows like
    sqrt(var)). Wider ones (a forget gate near 1 lets C grow like 1 / (1 - E f^2), past 1e13 at b = 30):
    the midpoint rule in c itself, nodes (j + 1/2) step over |c| < C_MAX, where f^2 and f'^2 vary, plus
    their limits (their values at +-C_MAX, equal to double precision for tanh and sigmoid) times the
    normal mass beyond. Its error is O(step^2) (the integrand is not periodic), < 1e-7 of
    the result at sd > WIDE; the step-halving test covers the narrow rule.
    """
    sd = np.sqrt(var)
    f2, df2 = np.empty(len(var)), np.empty(len(var))
    narrow = sd <= WIDE
    if narrow.any():
        z, w = _nodes(float(var[narrow].max()), step)
        c = mean[narrow, None] + sd[narrow, None] * z
        f2[narrow], df2[narrow] = act.f(c) ** 2 @ w, act.df(c) ** 2 @ w
    if not narrow.all():
        m, s = mean[~narrow, None], sd[~narrow, None]
        c = (np.arange(-math.ceil(C_MAX / step), math.ceil(C_MAX / step)) + 0.5) * step
        p = np.exp(-0.5 * ((c - m) / s) ** 2) * (step / (s * math.sqrt(2 * math.pi)))  # (k, nodes)
        below = 0.5 * np.vectorize(math.erfc)((C_MAX + m[:, 0]) / (s[:, 0] * math.sqrt(2)))
        above = 0.5 * np.vectorize(math.erfc)((C_MAX - m[:, 0]) / (s[:, 0] * math.sqrt(2)))
        ends = np.array([-C_MAX, C_MAX])
        for out, fn in ((f2, lambda u: act.f(u) ** 2), (df2, lambda u: act.df(u) ** 2)):
            lo, hi = fn(ends)
            out[~narrow] = p @ fn(c) + lo * below + hi * above
    return f2, df2


# --- LSTM ---------------------------------------------------------------------------------------------------


def _lstm_moments(act, radius, v, units, q_h, m_prev, c_prev, step, stationary=False) -> dict:
    """One step of (L1-L3) from the population's Q_h and a unit class's (M, C) of step t-1, or, with
    stationary=True, the fixed point of (L1-L2) at this Q_h (M, C then ignored)."""
    q = v + radius * radius * q_h
    i, f, o = _gate(units.input_bias, q, step), _gate(units.bias, q, step), _gate(np.zeros(1), q, step)
    mg, mg2 = _expect(act.f, q, step), _expect(lambda u: act.f(u) ** 2, q, step)
    dg2 = _expect(lambda u: act.df(u) ** 2, q, step)
    if stationary:
        m = i["m"] * mg / f["off"]
        c = (i["m2"] * mg2 + 2.0 * f["m"] * i["m"] * mg * m) / f["one_minus_m2"]
        m_prev, c_prev = m, c
    else:
        m = f["m"] * m_prev + i["m"] * mg
        c = f["m2"] * c_prev + 2.0 * f["m"] * i["m"] * mg * m_prev + i["m2"] * mg2
    fc2, dfc2 = _gaussian(act, m, np.maximum(c - m * m, 0.0), step)
    r2 = radius * radius
    return {
        "q": q,
        "m": m,
        "c": c,
        "q_h": o["m2"] * fc2,  # (L3), per unit class
        "f2": f["m2"],
        "f_mean": f["m"],
        "a": o["m2"] * dfc2,
        "k_c": r2 * (mg2 * i["slope2"] + c_prev * f["slope2"] + i["m2"] * dg2),
        "k_o": r2 * fc2 * o["slope2"],
    }


def _lstm_map(mo: dict, weight: np.ndarray) -> np.ndarray:
    """The backward map (L4) on (D_h, D_c per unit class): an (n+1, n+1) non-negative matrix."""
    n = len(weight)
    out = np.zeros((n + 1, n + 1))
    out[0, 0] = np.dot(weight, mo["k_c"] * mo["a"] + mo["k_o"])
    out[0, 1:] = weight * mo["k_c"]
    out[1:, 0] = mo["f2"] * mo["a"]
    out[1:, 1:] = np.diag(mo["f2"])
    return out


# --- GRU ----------------------------------------------------------------------------------------------------


def _gru_moments(act, radius, v, units, q_h, m_prev, step, stationary=False) -> dict:
    """One step of (G1) and the factor chi of (G2) from the previous step's (Q_h, M_h); with
    stationary=True, the Q_h of (G1)'s fixed point at this q_h and M_h = E[n]."""
    r2 = radius * radius
    q, p = v + r2 * q_h, r2 * q_h
    z = _gate(units.bias, q, step)
    zr, wr = _nodes(q, step)
    r, dr = _SIGMOID.f(math.sqrt(q) * zr), _SIGMOID.df(math.sqrt(q) * zr)  # reset gate at its nodes (k,)
    s_var = v + r * r * p  # variance of a_n given r, (k,)
    zs, ws = _nodes(float(s_var.max()), step)
    s = np.sqrt(s_var)[:, None] * zs  # a_n given r, (k, m)
    f_s, df2 = act.f(s), act.df(s) ** 2
    mn, mn2 = wr @ (f_s @ ws), wr @ (f_s**2 @ ws)
    rdn = wr @ (r * r * (df2 @ ws))
    # E[(U_n h)^2 | a_n = s, r] = P - r^2 P^2 / S + (r P s / S)^2, with S = v + r^2 P (Gaussian conditioning)
    u2 = p - (r * r * p * p / s_var)[:, None] + (r * p / s_var)[:, None] ** 2 * s * s
    run = wr @ (dr * dr * ((df2 * u2) @ ws))
    if stationary:
        m_prev = mn
        q_prev = (z["off2"] * mn2 + 2.0 * z["on_off"] * mn * m_prev) / z["one_minus_m2"]
    else:
        q_prev = q_h
    h_minus_n = q_prev - 2.0 * m_prev * mn + mn2
    return {
        "q": q,
        "q_candidate": v + p * float(wr @ (r * r)),
        "m": z["off"] * mn + z["m"] * m_prev,
        "q_h": z["off2"] * mn2 + 2.0 * z["on_off"] * mn * m_prev + z["m2"] * q_prev,
        "chi": z["m2"] + r2 * (z["off2"] * (run + rdn) + h_minus_n * z["slope2"]),
        "z_mean": z["m"],
    }


# --- Stationary state and public API ------------------------------------------------------------------------


def _stationary(cell, act, radius, v, units, step) -> dict:
    """The moments at the fixed point Q_h = G(Q_h) of the population's second moment of h.

    G(Q) is the population average of (L3) (LSTM) or the fixed point of (G1) (GRU) at q = v + rho^2 Q,
    with the cell state's (or h's) own recursion at its fixed point. |h| <= 1 for tanh and sigmoid, so
    G maps [0, 1] into [0, 1]: G(0) >= 0 and G(1) <= 1, and bisection (the rule of `meanfield._q_star`:
    G(mid) > mid moves lo up) ends at adjacent floats around a fixed point. The tests check that the
    step-by-step recursion from the zero state reaches the same one.
    """

    def moments(q_h):
        if cell == "lstm":
            return _lstm_moments(act, radius, v, units, q_h, None, None, step, stationary=True)
        return _gru_moments(act, radius, v, units, q_h, None, step, stationary=True)

    lo, hi = 0.0, 1.0
    if float(np.dot(units.weight, moments(lo)["q_h"])) <= lo:
        return moments(lo)
    while lo < (mid := 0.5 * (lo + hi)) < hi:
        if float(np.dot(units.weight, moments(mid)["q_h"])) > mid:
            lo = mid
        else:
            hi = mid
    return moments(hi)


def gated_stationary(
    cell: str, activation: str, radius: float, gate_bias: float, *, input_variance: float = 1.0, step=STEP
) -> dict[str, float]:
    """The stationary forward moments (A3) for a number gate_bias b.

    Keys: "q_gate" the variance of every gate's pre-activation (a_i, a_f, a_o; a_r, a_z), "gate_mean"
    the mean of the biased gate (E f or E z), "q_candidate" the variance of the candidate's (a_g, or
    a_n = W_n x + r U_n h), "h_second_moment" Q_h, and for the LSTM "cell_mean" M and
    "cell_second_moment" C. step: node spacing of the quadrature.
    """
    act, radius, v, units = _check(cell, activation, radius, gate_bias, input_variance, None)
    mo = _stationary(cell, act, radius, v, units, _check_number("step", step, "> 0"))
    out = {"q_gate": mo["q"], "h_second_moment": float(mo["q_h"][0])}
    if cell == "lstm":
        return out | {
            "gate_mean": float(mo["f_mean"][0]),
            "q_candidate": mo["q"],
            "cell_mean": float(mo["m"][0]),
            "cell_second_moment": float(mo["c"][0]),
        }
    return out | {"gate_mean": float(mo["z_mean"][0]), "q_candidate": mo["q_candidate"]}


def gated_modes(
    cell: str, activation: str, radius: float, gate_bias: float, *, input_variance: float = 1.0, step=STEP
) -> tuple[float, float]:
    """(rate, transient): the per-step factors of ||dL/dh_k|| of the slow and the fast mode at stationarity.

    LSTM: sqrt of the two eigenvalues lambda_1 >= lambda_2 of the map (L4); ||dL/dh_k|| and ||dL/dc_k||
    both approach rate^lag, after a transient that dies like (transient / rate)^lag. GRU: (sqrt(chi), 0):
    one mode, no transient.
    """
    act, radius, v, units = _check(cell, activation, radius, gate_bias, input_variance, None)
    mo = _stationary(cell, act, radius, v, units, _check_number("step", step, "> 0"))
    if cell == "gru":
        return math.sqrt(float(mo["chi"][0])), 0.0
    eig = np.sort(np.abs(np.linalg.eigvals(_lstm_map(mo, units.weight))))
    return math.sqrt(eig[-1]), math.sqrt(eig[-2])


def gated_gradient_rate(
    cell: str, activation: str, radius: float, gate_bias: float, *, input_variance: float = 1.0
) -> float:
    """The predicted factor by which each step back multiplies ||dL/dh_k|| (and ||dL/dc_k||), at large lag.

    cell "lstm" or "gru"; activation "tanh" or "sigmoid" (the candidate's); radius rho of every block of U;
    gate_bias b, a number (the forget gate's for the LSTM, the update gate's for the GRU). The rate of the
    slow mode of `gated_modes`; for the LSTM the fast mode also shapes short lags (`gated_profile`).
    gate_bias "chrono" has no single rate (module docstring): ValueError, use `gated_profile`.
    """
    if gate_bias == initialisation.CHRONO:
        raise ValueError("gate_bias 'chrono' has no single rate (a mixture over units): use gated_profile")
    return gated_modes(cell, activation, radius, gate_bias, input_variance=input_variance)[0]


def gated_profile(
    cell: str,
    activation: str,
    radius: float,
    gate_bias,
    steps: int,
    *,
    input_variance: float = 1.0,
    chrono_t_max: int | None = None,
    step=STEP,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted log10 ||dL/dh_k|| and log10 ||dL/dc_k|| (through c_{k+1}; LSTM, else None), each (steps,),
    row k = step k as in `bptt.core.gradients.lag_profile`, for a sequence of `steps` steps from the
    zero state with the loss on h_{steps-1}, relative to ||dL/dh_{steps-1}|| (so row steps-1 is 0, and
    log10 ||dL/dc|| there is -inf).

    The forward moments follow (L1-L3) or (G1) step by step from zero (the transient of the state), and
    the backward maps (L4) or (G2) use each step's own moments: the mean-field prediction of the whole
    profile, transients included. gate_bias: a number, or "chrono" (LSTM) with chrono_t_max (the
    mixture over units of the module docstring).
    """
    act, radius, v, units = _check(cell, activation, radius, gate_bias, input_variance, chrono_t_max)
    step = _check_number("step", step, "> 0")
    cells.check_integer("steps", steps)
    n = len(units.weight)
    m, c, q_h = np.zeros(n), np.zeros(n), np.zeros(n)
    forward = []
    for _ in range(steps):
        q_pop = float(np.dot(units.weight, q_h))
        if cell == "lstm":
            mo = _lstm_moments(act, radius, v, units, q_pop, m, c, step)
            m, c = mo["m"], mo["c"]
        else:
            mo = _gru_moments(act, radius, v, units, q_pop, m, step)
            m = mo["m"]
        q_h = mo["q_h"]
        forward.append(mo)
    log_h, log_c = np.zeros(steps), np.full(steps, -np.inf)
    d = np.zeros(n + 1) if cell == "lstm" else np.zeros(1)
    d[0] = 1.0  # D_h at the last step; D_c = 0 there (nothing comes back through c_{T})
    scale = 0.0  # log10 of the factor taken out of d, so that no lag underflows
    for t in range(steps - 1, 0, -1):
        mo = forward[t]
        d = _lstm_map(mo, units.weight) @ d if cell == "lstm" else d * mo["chi"]
        top = d.max()
        d /= top
        scale += math.log10(top)
        log_h[t - 1] = 0.5 * (math.log10(d[0]) + scale) if d[0] > 0 else -np.inf
        if cell == "lstm":
            dc = float(np.dot(units.weight, d[1:]))
            log_c[t - 1] = 0.5 * (math.log10(dc) + scale) if dc > 0 else -np.inf
    return log_h, (log_c if cell == "lstm" else None)
