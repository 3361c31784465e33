"""Mean-field rate at which ||dL/dh_k|| vanishes or explodes in the Elman network.

Cell (notation of docs/design.md): z_t = W x_t + U h_{t-1} + b, h_t = f(z_t); z below is a standard
normal variable and E_z its expectation. `radius` (rho) enters only through rho^2, the per-unit
gain of U on a vector independent of it, ||U h||^2 / ||h||^2 ~ ||U||_F^2 / H: for the project's
U = rho Q (Q orthogonal) that is exactly rho^2, the spectral radius squared (see the limits below).

Forward (poole2016). In a wide network the pre-activations of the units at step t are
spread like N(0, q_t), and q_t follows the variance map

    q_t = V(q_{t-1}),   V(q) = rho^2 E_z[f(sqrt(q) z)^2] + sigma_in^2 + sigma_b^2        (1)

with sigma_in^2 the variance of each unit of W x_t and sigma_b^2 that of each bias. In this
project W has entries N(0, 1/I) and x has standard deviation `input_scale`, so
sigma_in^2 = input_scale^2; the biases are zero.
Every state starts at h_{-1} = 0, so q_0 = sigma_in^2 + sigma_b^2 =: c; V is non-decreasing
for all four activations (see `variance_map`), so q_t rises monotonically from c to the
smallest fixed point of V that is >= c. That fixed point is q* (`q_star`): the stationary
variance this project's network reaches. (With c = 0 and f(0) = 0 it is 0: the state stays
exactly 0. For tanh with rho > 1 this fixed point is unstable: any perturbation grows to the
larger one, poole2016's nonzero q*, but zero input and a zero start never perturb it.)

Backward (schoenholz2017, chen2018). dL/dh_{k-1} = (dL/dh_k * f'(z_k)) U, so, treating U as
independent of the f'(z_k) it multiplies (the gradient-independence assumption), each step
multiplies the squared norm by

    chi_1 = rho^2 E_z[f'(sqrt(q*) z)^2]                                                  (2)

and ||dL/dh_k|| itself by sqrt(chi_1) (`gradient_rate`), i.e. ||dL/dh_k|| ~ exp(-lag / tau) with
tau = -1 / ln sqrt(chi_1) (`timescale`). chi_1 = 1 is the edge of chaos; `critical_radius` is
the rho where it holds. The per-step bound gamma_f sigma_max(U) (Pascanu et al.) is a worst
case over directions and sits above this rate.

Where the prediction is exact, and where only a limit:
  - linear f with U = rho Q: dL/dh_k = dh_last U^lag, whose norm is exactly rho^lag ||dh_last||
    for every H, every input and every lag: rate = rho.
  - everything else: the limit H -> infinity. At finite H (i) the factor a step applies to the
    squared norm is an average over H units, so it fluctuates by O(1/sqrt(H)) around chi_1 and
    the mean of log ||dL/dh_k|| falls below the log of its mean by O(1/H) per step (Jensen);
    (ii) each unit i has its own input variance input_scale^2 sum_j W_ij^2, spread by about
    sqrt(2/I) around sigma_in^2 (a fixed, not a resampled, difference between units); (iii) the
    backward pass multiplies by the same U as the forward pass, at every step, which the
    gradient-independence assumption ignores. Measured with U = rho Q, H = 512, I = 512 (the
    tests): within 0.003 of sqrt(chi_1) for tanh and sigmoid at rho <= 1.5, falling short by more
    as rho grows (tanh at 1.5: by 0.0013 +- 0.0012 over 8 networks; 0.0007 at H = 1024).
    (iv) The sigmoid's mean is 1/2, so U h carries a part that is fixed per unit; at large rho
    it dominates (near the sigmoid's critical radius, ~10.3 at input variance 1, ~90% of q* is
    variance between the units' time averages) and the measured rate scatters by +-0.02..0.03
    between networks at H = 256..1024: it follows sqrt(rho^2 mean f'(z)^2) of the network at
    hand (correlation 0.99 over 6 networks), not the mean-field average.
  - the Gaussian init, G / sqrt(H) (G standard Gaussian) rescaled to spectral radius rho: its
    gain ||U||_F^2 / H tends to rho^2 as H -> infinity (the spectral radius of G / sqrt(H) and
    ||G||_F^2 / H^2 both tend to 1), but slowly: at H = 512 ||U||_F / sqrt(H) was 1.1-3.3% below rho
    (0.484-0.494 at rho = 0.5, three seeds), and measured tanh and sigmoid rates followed
    gradient_rate at rho = ||U||_F / sqrt(H) (within 0.004) rather than at rho (up to 0.022 above
    them). The Gaussian matrix is also non-normal with norm about 2 rho: products of it grow or
    shrink transiently before they settle, which changes transients, not the mean-field chi_1
    (for the linear network ||v U^lag||^(1/lag) -> rho as lag -> infinity for generic v, Gelfand's
    formula).

Unbounded activations. relu and linear are positively homogeneous (f(s z) = s f(z) for s > 0),
so V(q) = a q + c with a = rho^2 E_z[f(z)^2], and f' does not depend on the scale of z, so
chi_1 = rho^2 E_z[f'(z)^2] (rho^2 / 2 for relu, rho^2 for linear) whatever q is. For these f,
E_z[f(z)^2] = E_z[f'(z)^2] (f(z) = z f'(z) with f' constant on each half-line), so a = chi_1:
the state explodes exactly where the gradient does. Where chi_1 >= 1 and c > 0 (relu with
rho >= sqrt(2), linear with rho >= 1) q_t grows without bound and no stationary state exists:
`q_star` returns inf. chi_1, `gradient_rate`, `timescale` and `critical_radius` stay finite
there and keep their meaning: the per-step factor of the gradient norm does not depend on
how large the states have grown (for the linear network it is still exact).

Quadrature. E_z[F(sqrt(q) z)] for tanh and sigmoid uses the trapezoidal rule on nodes
z_j = (j + 1/2) h, |z_j| < 9 (the normal mass outside is 2e-19), with weights h phi(z_j)
normalised to sum 1, and h = step / max(1, sqrt(q)). The integrands are analytic in a strip
around the real axis (tanh^2 and tanh'^2 have their nearest poles at sqrt(q) z = +-i pi/2,
the sigmoid's at +-i pi), where the trapezoidal rule converges like exp(-2 pi d / h) with d
the strip's half-width in z; scaling h with 1/sqrt(q) keeps that error ~ exp(-pi^2 / step)
for every q, with 2 * 9 / h ~ 144 sqrt(q) nodes at the default step 1/8. Gauss-Hermite nodes
spread over |z| < ~2 sqrt(n) and do not narrow with q: for chi_1 of tanh at rho = 1.5 (q* = 2.2)
numpy's hermegauss with 64/128/256 nodes is off by 1e-4/4e-7/5e-11 (relative), at rho = 5
(q* = 22) by 0.38/0.11/0.012, and it returns NaN weights beyond ~350 nodes. relu and linear
need no quadrature (above).
"""

import math

import numpy as np

from bptt.core import activations, initialisation

# tanh, sigmoid: |f| <= 1 and f'^2 even and non-increasing in |z|; q* is found by bisection.
BOUNDED = ("tanh", "sigmoid")
# relu, linear: positively homogeneous of degree 1; q* and chi_1 in closed form.
HOMOGENEOUS = ("relu", "linear")
# Default node spacing of the quadrature, in units of the integrand's own scale (module docstring).
STEP = 0.125
# Nodes cover |z| < Z_MAX: 2 Phi(-9) = 2.3e-19 of the normal mass lies outside.
Z_MAX = 9.0

_BOUNDS = {"": lambda v: True, ">= 0": lambda v: v >= 0, "> 0": lambda v: v > 0}


def _check_number(name: str, value, bound: str = "") -> float:
    """value as a float; ValueError unless it is a finite number satisfying bound ('', '>= 0', '> 0')."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or not _BOUNDS[bound](value)
    ):
        raise ValueError(f"{name} must be {f'a finite number {bound}'.strip()}, got {value!r}")
    return float(value)


def _check_activation(name) -> activations.Activation:
    if name not in BOUNDED + HOMOGENEOUS:
        raise ValueError(f"activation must be one of {BOUNDED + HOMOGENEOUS}, got {name!r}")
    return activations.get(name)


def _check_variances(input_variance, bias_variance) -> float:
    """c = sigma_in^2 + sigma_b^2 = q_0, the pre-activation variance of the first step (h_{-1} = 0)."""
    c = _check_number("input_variance", input_variance, ">= 0")
    return c + _check_number("bias_variance", bias_variance, ">= 0")


def _expect(fn, q: float, step: float = STEP) -> float:
    """E_z[fn(sqrt(q) z)], z ~ N(0, 1), for fn analytic in a strip around the real axis.

    fn maps nodes (2m,) to values (2m,); q >= 0. The trapezoidal rule of the module docstring:
    nodes z_j = (j + 1/2) h with h = step / max(1, sqrt(q)) and |z_j| < Z_MAX, weights h phi(z_j)
    normalised to sum 1. The nodes pair up as +-z_j, so relu(u)^2 (not analytic at 0) still comes
    out as q / 2 times the rule's E[z^2] = 1, to rounding.
    """
    z, w = _nodes(q, step)
    return float(np.dot(w, fn(math.sqrt(q) * z)))


def _nodes(q: float, step: float = STEP) -> tuple[np.ndarray, np.ndarray]:
    """The standard-normal nodes z (2m,) and weights w (2m,) (summing to 1) of `_expect`'s rule for scale q."""
    h = step / max(1.0, math.sqrt(q))
    m = math.ceil(Z_MAX / h)
    z = (np.arange(-m, m) + 0.5) * h  # (2m,), symmetric about 0, no node at 0
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _homogeneous_gain(act: activations.Activation) -> float:
    """E_z[f'(z)^2] = E_z[f(z)^2] for a positively homogeneous f, exactly: f' is f'(1) on z > 0 and
    f'(-1) on z < 0, each with probability 1/2, and f(z)^2 = z^2 f'(z)^2 with E[z^2 | z > 0] = 1."""
    return float(np.mean(act.df(np.array([1.0, -1.0])) ** 2))


def _variance_map(act, radius: float, q: float, c: float, step: float) -> float:
    return radius * radius * _expect(lambda u: act.f(u) ** 2, q, step) + c


def variance_map(
    activation: str, radius: float, q: float, *, input_variance: float = 1.0, bias_variance: float = 0.0, step=STEP
) -> float:
    """V(q) = rho^2 E_z[f(sqrt(q) z)^2] + sigma_in^2 + sigma_b^2, equation (1): the map q_{t-1} -> q_t.

    V is non-decreasing in q: E_z[F(sqrt(q) z)] is, whenever F(u) + F(-u) is non-decreasing in
    |u|, and with F = f^2 that sum is 2 tanh(u)^2 (tanh), u^2 (relu), 2 u^2 (linear), and for the
    sigmoid sigma(u)^2 + sigma(-u)^2 = 1 - 2 sigma(u) sigma(-u) = 1 - 2 sigma'(u).
    step: node spacing of the quadrature (module docstring).
    """
    act = _check_activation(activation)
    radius = initialisation.check_radius(radius)
    q = _check_number("q", q, ">= 0")
    c = _check_variances(input_variance, bias_variance)
    return _variance_map(act, radius, q, c, _check_number("step", step, "> 0"))


def q_star(
    activation: str, radius: float, *, input_variance: float = 1.0, bias_variance: float = 0.0, step=STEP
) -> float:
    """q*: the limit of q_t = V(q_{t-1}) from q_0 = c = sigma_in^2 + sigma_b^2 (h_{-1} = 0).

    inf where no stationary state exists (relu with rho >= sqrt(2), linear with rho >= 1, if c > 0);
    0 where c = 0 and f(0) = 0 (the state stays 0); NaN for tanh and sigmoid where rho^2 is beyond
    float64 (rho > ~1.3e154), where q* cannot be located. See the module docstring.
    """
    act = _check_activation(activation)
    radius = initialisation.check_radius(radius)
    c = _check_variances(input_variance, bias_variance)
    return _q_star(act, radius, c, _check_number("step", step, "> 0"))


def _q_star(act, radius: float, c: float, step: float) -> float:
    """q* for checked arguments.

    relu, linear: V(q) = a q + c, a = rho^2 E_z[f(z)^2], so q_t = c (1 + a + ... + a^t): c / (1 - a)
    if a < 1; for a >= 1 it grows without bound if c > 0 (and is 0 for ever if c = 0).

    tanh, sigmoid: bisection, exact by this argument.
    Bracket: V(q) >= c, so V(c) >= c; f^2 <= 1 gives V(q) <= rho^2 + c, so hi = c + rho^2 has
    V(hi) <= hi: a fixed point lies in [c, c + rho^2].
    Uniqueness: for q > 0, (V(q) - q) / q = rho^2 m(q) / q + c / q - 1 with m(q) = E_z[f(sqrt(q) z)^2].
    For tanh, m(q) / q = E_z[z^2 (tanh(u) / u)^2] at u = sqrt(q) z, and tanh(u) / u falls strictly
    with |u|. For the sigmoid, sigma(u) = (1 + tanh(u / 2)) / 2 and the odd part averages out, so
    m(q) = (1 + m_tanh(q / 4)) / 4 and m(q) / q = 1 / (4 q) + m_tanh(q / 4) / (16 (q / 4)). Either way
    (V(q) - q) / q falls strictly (if rho > 0 or c > 0): V has at most one fixed point q > 0, and
    V(q) > q exactly for 0 < q < it. So if V(c) = c then q* = c (c = 0 with tanh, or rho = 0);
    otherwise V(mid) > mid says on which side of q* mid lies.
    Termination: each step replaces lo or hi by a float strictly between them, so the finite set of
    floats in [lo, hi] shrinks every step; the loop ends when lo and hi are adjacent floats (~55 steps
    from a bracket of width ~1), with q* in (lo, hi].
    """
    if act.name in HOMOGENEOUS:
        a = radius * radius * _homogeneous_gain(act)
        if c == 0:
            return 0.0
        return c / (1.0 - a) if a < 1.0 else math.inf
    if radius * radius == math.inf:  # rho^2 beyond float64 (rho > ~1.3e154): q* cannot be located
        return math.nan
    lo, hi = c, c + radius * radius
    if _variance_map(act, radius, lo, c, step) == lo:
        return lo
    while lo < (mid := 0.5 * (lo + hi)) < hi:
        if _variance_map(act, radius, mid, c, step) > mid:
            lo = mid
        else:
            hi = mid
    return hi


def chi1(
    activation: str, radius: float, *, input_variance: float = 1.0, bias_variance: float = 0.0, step=STEP
) -> float:
    """chi_1 = rho^2 E_z[f'(sqrt(q*) z)^2], equation (2): the per-step factor of ||dL/dh_k||^2.

    relu, linear: f' does not depend on the scale of z, so chi_1 = rho^2 / 2 and rho^2, also where
    q* = inf (module docstring). step: node spacing of the quadrature.
    """
    act = _check_activation(activation)
    radius = initialisation.check_radius(radius)
    c = _check_variances(input_variance, bias_variance)
    return _chi1(act, radius, c, _check_number("step", step, "> 0"))


def _chi1(act, radius: float, c: float, step: float = STEP) -> float:
    if act.name in HOMOGENEOUS:
        return radius * radius * _homogeneous_gain(act)
    q = _q_star(act, radius, c, step)
    return math.nan if math.isnan(q) else radius * radius * _expect(lambda u: act.df(u) ** 2, q, step)


def gradient_rate(activation: str, radius: float, *, input_variance: float = 1.0, bias_variance: float = 0.0) -> float:
    """sqrt(chi_1): the predicted factor by which each step back multiplies ||dL/dh_k||.

    < 1: gradients vanish, ||dL/dh_k|| ~ rate^lag; > 1: they explode; = 1: the edge of chaos.
    relu, linear: rho sqrt(E f'^2), also where chi_1 = rho^2 E f'^2 is beyond float64; tanh and sigmoid:
    NaN where q* is (`q_star`).
    """
    act = _check_activation(activation)
    radius = initialisation.check_radius(radius)
    if act.name in HOMOGENEOUS:
        _check_variances(input_variance, bias_variance)
        return radius * math.sqrt(_homogeneous_gain(act))
    return math.sqrt(chi1(activation, radius, input_variance=input_variance, bias_variance=bias_variance))


def timescale(rate: float) -> float:
    """tau = -1 / ln(rate), in steps, so that ||dL/dh_k|| ~ exp(-lag / tau).

    rate < 1: tau > 0, the number of steps over which the norm shrinks by a factor e; rate = 1: inf;
    rate > 1: tau < 0, and the norm grows by a factor e every |tau| steps; rate = 0: 0 (gone in one step).
    """
    rate = _check_number("rate", rate, ">= 0")
    if rate == 1.0:
        return math.inf
    return 0.0 if rate == 0.0 else -1.0 / math.log(rate)


def critical_radius(activation: str, *, input_variance: float = 1.0, bias_variance: float = 0.0) -> float:
    """The rho where chi_1 = 1, the edge of chaos: gradients vanish below it and explode above.

    relu: sqrt(2); linear: 1 (chi_1 = rho^2 E_z[f'(z)^2], whatever the variances).
    tanh, sigmoid: bisection on rho. Bracket: chi_1(0) = 0 < 1, and doubling rho from 1 reaches
    chi_1 >= 1: q* <= c + rho^2 and f'^2 falls with |z|, so chi_1(rho) >= rho^2 k(c + rho^2) with
    k(q) = E_z[f'(sqrt(q) z)^2] >= f'(1)^2 P(|z| <= 1 / sqrt(q)) ~ f'(1)^2 0.8 / sqrt(q) for large q:
    chi_1 grows at least like rho. So a crossing exists for every activation and variance here and
    the result is always finite (no case returns inf). chi_1 is continuous in rho (V is continuous
    in rho and q, and V(q) - q changes sign strictly at q*, see `_q_star`), and the bisection, which
    ends as `_q_star`'s does, returns hi with chi_1(lo) < 1 <= chi_1(hi) at adjacent floats. Were
    there several crossings it would find one of them; the tests check on a grid that chi_1 rises
    with rho.
    """
    act = _check_activation(activation)
    c = _check_variances(input_variance, bias_variance)
    if act.name in HOMOGENEOUS:
        return math.sqrt(1.0 / _homogeneous_gain(act))
    lo, hi = 0.0, 1.0
    while _chi1(act, hi, c) < 1.0:
        lo, hi = hi, 2.0 * hi
    while lo < (mid := 0.5 * (lo + hi)) < hi:
        if _chi1(act, mid, c) < 1.0:
            lo = mid
        else:
            hi = mid
    return hi


def forget_path_rate(gate_bias: float, *, preactivation_variance: float) -> float:
    """E_z[sigma(b_f + sqrt(q_f) z)]: the mean factor one step of the LSTM's cell path applies to a gradient.

    c_t = f_t * c_{t-1} + i_t * g_t, so along the cell path alone dL/dc_{t-1} = dL/dc_t * f_t, unit by
    unit, with f_t = sigma(a_f) and, in mean field, the forget-gate pre-activation a_f ~ N(b_f, q_f):
    gate_bias = b_f, preactivation_variance = q_f, the variance of W_f x_t + U_f h_{t-1}.

    What it predicts: the expected factor of one step, E[f_t]; over a lag, E[prod f_t] = E[f_t]^lag
    if the f_t of different steps are independent. What it does not: (i) it is the cell path alone;
    the measured ||dL/dh_k|| also carries the h path (through U h_{t-1} into every gate and g_t),
    which can dominate where the forget gates are small; (ii) it is the mean of a product, unit by
    unit, not the decay of a norm: at large H ||dL/dc_k|| shrinks by sqrt(E[f_t^2]) >= E[f_t] per step
    (a root mean square over units), and a typical unit's factor is exp(E[ln f_t]) <= E[f_t] (Jensen);
    (iii) the independence across steps itself: f_t depends on h_{t-1}, so the f_t are correlated.
    """
    b = _check_number("gate_bias", gate_bias)
    q = _check_number("preactivation_variance", preactivation_variance, ">= 0")
    sigmoid = activations.get("sigmoid").f
    return _expect(lambda u: sigmoid(b + u), q)
