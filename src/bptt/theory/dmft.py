"""Dynamical mean-field theory of the LSTM's and the GRU's gradient norm: each unit's fields as Gaussian
processes in time, sampled by Monte Carlo over the single-unit effective process (docs/theory.md, section
"Dynamical mean field").

The static theory (`bptt.theory.gated`) averages a unit's own gate factors step by step (its (A5)). In the
large-H limit a unit i sees, instead, the field u_b(t) = (U_b h_{t-1})_i of each block b as a centred Gaussian
process in t (the dynamical mean field of Sompolinsky, Crisanti & Sommers 1988), independent across
blocks (independent Q_b) and across units, whose two-time covariance is the population's:

    (D1)  E[u_b(t) u_b(s)] = rho^2 C_h(t-1, s-1),   C_h(t, s) = (1/H) sum_j h_j(t) h_j(s)

(an orthogonal rho Q_b preserves inner products up to O(1/H)); C_h includes h's mean, so a sigmoid candidate
leaves part of every field frozen per unit. The input's part W_b x_t is N(0, v), independent across blocks
and across steps (x is iid in time), and the biases add their means. The unit's gates, cell state and h
follow from its fields exactly as in the cell (bptt.core.lstm, bptt.core.gru): so E[prod_t f_t^2] is
taken over correlated f_t, not as prod_t E[f_t^2].

Backward, under gradient independence ((A2) of `gated`: U_b^T independent of the forward pass, but ONE
copy for all steps) the mixing term (U_b^T dL/da_b(t))_i is, by the same argument, a Gaussian process over
the backward steps, independent across blocks and of the unit's forward variables, with covariance

    (D2)  E[eta_b(t) eta_b(s)] = rho^2 (1/H) sum_j dL/da_{b,j}(t) dL/da_{b,j}(s)

while the unit-local paths (the LSTM's dL/dc_{t-1} = ... f_t, the GRU's dL/dh_{t-1} = z_t dL/dh_t + ...)
multiply its own correlated factors.

Computation (Monte Carlo, not exact integration: the state of one unit, (c, h) with the history of its
fields, is not Markov in a few variables, and the covariances (D1), (D2) are themselves averages over the
process): `units` samples of the unit, fixed seed. Both covariances are causal (step t needs only steps
< t), so each step's row of (D1), (D2) is estimated from the samples so far, and the new field value is
drawn from its Gaussian conditional on the sample's own past values (`_Process`). The predicted
log10 ||dL/dh_k|| is 0.5 log10 of the sample mean of (dL/dh_k)^2. Its Monte Carlo error: docs/theory.md
(small where the fields decorrelate; where h's mean freezes part of them, the mean of a long product
rests on rare samples, and the rate still moves with `units`).
"""

import math

import numpy as np

from bptt.core import activations, cells, initialisation
from bptt.theory import gated

UNITS = 8192  # samples of the single-unit process (its Monte Carlo error: docs/theory.md)
SEED = 0
# A new value whose variance given the past is below this fraction of its own is taken as spanned by the
# past: a frozen field (h's mean, or a gate held near 1) makes the past nearly collinear.
RCOND = 1e-10
_SIGMOID = activations.SIGMOID


class _Process:
    """Samples (paths, units) of a centred Gaussian process given its covariance one causal row at a time:
    value(t) = sum_s L[t, s] xi(s) with xi iid standard normal and L the covariance's Cholesky factor, grown a
    row at a time. A pivot below RCOND of its variance marks a direction the past already spans: its
    coefficient is 0 (the semidefinite Cholesky factor)."""

    def __init__(self, paths: int, units: int, steps: int, rng: np.random.Generator):
        self.chol = np.zeros((steps, steps))
        self.xi = rng.standard_normal((steps, paths, units))
        self.t = 0

    def next(self, row: np.ndarray) -> np.ndarray:
        """row (t+1,): covariance of the next value with the t past ones and with itself -> the next values
        (paths, units), Gaussian with that covariance given each path's past."""
        t, chol = self.t, self.chol
        for s in range(t):  # forward substitution: chol[:t, :t] @ l = row[:t]
            pivot = chol[s, s]
            chol[t, s] = (row[s] - chol[t, :s] @ chol[s, :s]) / pivot if pivot > 0 else 0.0
        rest = row[t] - chol[t, :t] @ chol[t, :t]
        chol[t, t] = math.sqrt(rest) if rest > RCOND * row[t] else 0.0
        self.t += 1
        return np.tensordot(chol[t, : t + 1], self.xi[: t + 1], axes=1)


def _population_row(x: np.ndarray, t: int, scale: float) -> np.ndarray:
    """scale (1/n) sum_j x_j(s) x_j(t) for s = 0..t, from x (steps, units)."""
    return scale * (x[: t + 1] @ x[t]) / x.shape[1]


def _lstm(act, radius, v, bias, steps, units, rng) -> tuple[np.ndarray, np.ndarray]:
    r2 = radius * radius
    fields = _Process(4, units, steps, rng)  # U_b h_{t-1}, blocks i, f, g, o: one covariance (D1)
    h, c = np.zeros((steps, units)), np.zeros((steps + 1, units))  # c[t + 1] = c_t, c[0] = c_{-1} = 0
    a, gates = np.empty((steps, 4, units)), np.empty((steps, 4, units))
    for t in range(steps):
        u = fields.next(_population_row(h, t - 1, r2)) if t else np.zeros((4, units))
        a[t] = math.sqrt(v) * rng.standard_normal((4, units)) + u
        a[t, 1] += bias
        gates[t] = _SIGMOID.f(a[t])
        gates[t, 2] = act.f(a[t, 2])
        c[t + 1] = gates[t, 1] * c[t] + gates[t, 0] * gates[t, 2]
        h[t] = gates[t, 3] * act.f(c[t + 1])
    noise = [_Process(1, units, steps, rng) for _ in range(4)]  # eta_b, one covariance (D2) per block
    da = np.zeros((4, steps, units))  # dL/da_b at the backward steps so far
    dh, dc = rng.standard_normal(units), np.zeros(units)
    d2h, d2c = np.zeros(steps), np.zeros(steps)
    d2h[-1] = np.mean(dh * dh)
    for n, t in enumerate(range(steps - 1, 0, -1)):
        i, f, g, o = gates[t]
        dct = dc + dh * o * act.df(c[t + 1])
        sig = _SIGMOID.df(a[t])
        da[:, n] = dct * g * sig[0], dct * c[t] * sig[1], dct * i * act.df(a[t, 2]), dh * act.f(c[t + 1]) * sig[3]
        dh = sum(p.next(_population_row(da[b], n, r2))[0] for b, p in enumerate(noise))
        dc = dct * f
        d2h[t - 1], d2c[t - 1] = np.mean(dh * dh), np.mean(dc * dc)
    return d2h, d2c


def _gru(act, radius, v, bias, steps, units, rng) -> np.ndarray:
    r2 = radius * radius
    fields = _Process(3, units, steps, rng)  # U_b h_{t-1}, blocks r, z, n
    h = np.zeros((steps + 1, units))  # h[t + 1] = h_t, h[0] = h_{-1} = 0
    a, gates, un = np.empty((steps, 3, units)), np.empty((steps, 3, units)), np.empty((steps, units))
    for t in range(steps):
        u = fields.next(_population_row(h[1:], t - 1, r2)) if t else np.zeros((3, units))
        a[t] = math.sqrt(v) * rng.standard_normal((3, units))
        a[t, :2] += u[:2]
        a[t, 1] += bias
        gates[t, :2] = _SIGMOID.f(a[t, :2])
        un[t] = u[2]
        a[t, 2] += gates[t, 0] * u[2]  # a_n = W_n x + r (U_n h)
        gates[t, 2] = act.f(a[t, 2])
        h[t + 1] = gates[t, 2] + gates[t, 1] * (h[t] - gates[t, 2])
    noise = [_Process(1, units, steps, rng) for _ in range(3)]
    da = np.zeros((3, steps, units))
    dh = rng.standard_normal(units)
    d2h = np.zeros(steps)
    d2h[-1] = np.mean(dh * dh)
    for n, t in enumerate(range(steps - 1, 0, -1)):
        r, z, cand = gates[t]
        dan = dh * _SIGMOID.f(-a[t, 1]) * act.df(a[t, 2])  # dL/da_n = dL/dh (1 - z) f'(a_n)
        da[:, n] = dan * un[t] * _SIGMOID.df(a[t, 0]), dh * (h[t] - cand) * _SIGMOID.df(a[t, 1]), dan * r
        dh = z * dh + sum(p.next(_population_row(da[b], n, r2))[0] for b, p in enumerate(noise))
        d2h[t - 1] = np.mean(dh * dh)
    return d2h


def dmft_profile(
    cell: str,
    activation: str,
    radius: float,
    gate_bias: float,
    steps: int,
    *,
    input_variance: float = 1.0,
    units: int = UNITS,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted log10 ||dL/dh_k|| and log10 ||dL/dc_k|| (LSTM; else None), each (steps,), for a sequence
    of `steps` steps from the zero state with the loss on h_{steps-1}, relative to ||dL/dh_{steps-1}||:
    the conventions of `gated.gated_profile`, by the effective process of the module docstring with
    `units` samples and generator seed `seed`. gate_bias: a number (chrono: not covered)."""
    act, radius, v, units_ = gated._check(cell, activation, radius, gate_bias, input_variance, None)
    if gate_bias == initialisation.CHRONO:
        raise ValueError("gate_bias 'chrono' is not covered by the dynamical mean field: use gated.gated_profile")
    cells.check_integer("steps", steps, 2)
    cells.check_integer("units", units, 2)
    rng = np.random.default_rng(seed)
    bias = float(units_.bias[0])
    with np.errstate(divide="ignore"):
        if cell == "lstm":
            d2h, d2c = _lstm(act, radius, v, bias, steps, units, rng)
            return 0.5 * (np.log10(d2h) - math.log10(d2h[-1])), 0.5 * (np.log10(d2c) - math.log10(d2h[-1]))
        d2h = _gru(act, radius, v, bias, steps, units, rng)
        return 0.5 * (np.log10(d2h) - math.log10(d2h[-1])), None


def dmft_rate(
    cell: str,
    activation: str,
    radius: float,
    gate_bias: float,
    *,
    burn_in: int,
    window: int,
    input_variance: float = 1.0,
    units: int = UNITS,
    seed: int = SEED,
) -> float:
    """The predicted factor per step of ||dL/dh_k|| over a window: 10**slope of `dmft_profile`'s log10
    ||dL/dh_k|| against the lag over the last `window` steps (lags 0..window-1) of a sequence of
    burn_in + window steps from the zero state. Not an asymptotic rate: the process is sampled over a
    finite window (docs/theory.md), and a gate held near 1 approaches its limit only as the lag grows."""
    cells.check_integer("window", window, 2)
    cells.check_integer("burn_in", burn_in, 0)
    steps = burn_in + window
    log_h, _ = dmft_profile(
        cell, activation, radius, gate_bias, steps, input_variance=input_variance, units=units, seed=seed
    )
    return float(10 ** np.polyfit(np.arange(window - 1, -1, -1), log_h[burn_in:], 1)[0])
