"""Exact backpropagation through time, with every norm carried in log10: the fast sweep.

The derivation this module follows (Elman 1990; the blog post "The Vanishing Gradient Problem"):
for the Elman cell h_t = f(z_t), z_t = W x_t + b + U h_{t-1}, and a loss L on the states,

    dL/dh_k  = dL/dh_t  prod_{tau=k}^{t-1} dh_{tau+1}/dh_tau = dL/dh_t prod_{tau=k}^{t-1} diag f'(z_{tau+1}) U  (1)
    dL/dU    = sum_k dL/dz_k^T h_{k-1},        dL/dz_k = dL/dh_k * f'(z_k)                                (2)
    gamma_k  = ||diag f'(z_k) U||_2 = ||dh_k/dh_{k-1}||_2: a product of gammas above 1 explodes, below 1 vanishes (3)

(1) is computed as a recurrence, one backward step per step: dL/dh_{k-1} = dL/dz_k U (`_backward`, the cell's
`backward_step`; the LSTM and GRU replace diag f' U by their own step Jacobian d s_k/d s_{k-1}, s = h or
(h, c)). (2) sums one term per step and sample (`_weight_grads`, and log10_dW_hh_contrib holds each term's
norm). (3) and the product itself, ||d s_{T-1}/d s_k||_2, come from `bptt.core.jacobian` (`profile` only).
`bptt.core.reference` is the same computation written plainly; what this module adds:
  - log space: the backward loop divides the adjoint by its norm at every step and adds log10 of that
    norm to a running scale (10**scale times a unit vector), so no lag underflows or overflows;
  - chunks: long sequences are cut into chunks of at most TRACE_BYTES of trace; only each chunk's
    initial state is kept from the forward pass, and a chunk's trace is recomputed when the
    backward sweep reaches it, so memory is bounded and cost linear (`_sweep`);
  - stacks: M networks of one kind (`bptt.core.cells.stack`) run as one batch;
  - overflow: a model whose forward pass leaves float64 is cut before its first non-finite step s; its
    gradients are those of L = sum(dh_last * h_{s-1}) over steps 0..s-1 and rows s..T-1 are NaN (`_cut`);
  - guards and precision (`bptt.core.precision`, shared with `bptt.core.sources`): inputs and backward
    steps that could leave float64 although every factor is finite are divided by powers of two first
    (exact, moved to the log scale); where a saturated step may have rounded a norm away, the entry is
    NaN and flagged in `unmeasurable`, never reported as 0 (an exact zero, from ReLU's f' = 0 at an
    unsaturated step, stays -inf) (`_precision_flags`).

Loss: L = sum(dh_last * h_{T-1}), so dL/dh_{T-1} = dh_last, optionally times 10**log10_scale per
sample (a gradient beyond float64's range, from `bptt.core.loss`); or, with every_step, L = sum_t L_t.
Step k is 0-based; lag = T-1-k. Per-step arrays are (T, B): row k = step k, a column per sample; for a
stack (T, M, B).

Profile fields (the types never depend on the input's values; "per model" means a float64/bool/int
ndarray of shape () for a single cell and (M,) for a stack of M):
  log10_grad_h          ndarray, log10 ||dL/dh_k||, the full adjoint of h_k (for the LSTM through c as well)
  log10_grad_c          ndarray for the LSTM: log10 ||dL/dc_k|| (adjoint of c_k as part of s_k = (h_k, c_k),
                        through c_{k+1}; -inf at k = T-1); None for the cells without c
  log10_jac             ndarray, log10 ||d s_{T-1} / d s_k||_2, s = h or (h, c) for the LSTM; (T, J) for the
                        first J = jacobian_samples sequences (J = B by default), as gamma_step; NaN at the
                        lags not asked for (jacobian_lags)
  log10_dW_hh_contrib   ndarray, log10 ||step k's term of dL/dW_hh||_F = log10 ||dL/d(U h_{k-1})|| ||h_{k-1}||
                        (-inf at k = 0: h_{-1} = 0)
  gamma_step            ndarray, gamma_k = ||d s_k / d s_{k-1}||_2 (= ||diag f'(z_k) U||_2 for the RNN), linear
                        scale; NaN at the lags not asked for
  unmeasurable          bool ndarray, True where some norm of row k was lost to float64's range (it is NaN)
  param_grads           dict like cell.params: dL/dtheta summed over the batch (per model for a stack)
  param_grads_overflow  per model, bool: some entry of param_grads exceeds float64 (it is then +-inf)
  log10_grad_norm       dict name -> per model float: log10 of the Frobenius norm of param_grads[name],
                        computed in log space (finite even where param_grads overflow; NaN if precision was lost)
  gamma_bound           float, sup |f'| of the activation
  spectral_radius       per model float: max |eigenvalue| of the candidate-path block of U (all of U for the RNN)
  spectral_norm         per model float: sigma_max of that block; Pascanu's per-step factor is gamma_bound * it
  overflow, overflow_step   per model bool and int, see "overflow" above; overflow_step = -1 when there is none
"""

import warnings
from typing import NamedTuple

import numpy as np

from bptt.core import activations, cells, cellspec, initialisation, logscale, precision
from bptt.core.jacobian import JacobianProduct
from bptt.core.precision import LOG10_2, UNDERFLOW  # noqa: F401  (UNDERFLOW: gradients.UNDERFLOW, as bptt.audit reads it)

# Largest trace (the forward values of one chunk) held at once, in bytes: an LSTM with B = 32, H = 128 keeps
# 1117 steps (T = 1000 in one chunk) and stays below 1 GB in all at T = 10^4.
TRACE_BYTES = 384 * 2**20
# The guard's limit (`bptt.core.precision.guard_exponents`), read here at every sweep by both sweeps.
GUARD_EXPONENT = precision.GUARD_EXPONENT


class Profile(NamedTuple):
    log10_grad_h: np.ndarray
    log10_grad_c: np.ndarray | None
    log10_jac: np.ndarray
    log10_dW_hh_contrib: np.ndarray
    gamma_step: np.ndarray
    unmeasurable: np.ndarray
    param_grads: dict[str, np.ndarray]
    param_grads_overflow: np.ndarray
    log10_grad_norm: dict[str, np.ndarray]
    gamma_bound: float
    spectral_radius: np.ndarray
    spectral_norm: np.ndarray
    overflow: np.ndarray
    overflow_step: np.ndarray


class _Sweep(NamedTuple):
    """What one sweep of a stack computes: per-step arrays (T, M, B), per-model arrays (M, ...)."""

    log10_grad_h: np.ndarray
    log10_grad_c: np.ndarray | None
    log10_jac: np.ndarray | None
    log10_dW_hh_contrib: np.ndarray | None
    gamma_step: np.ndarray | None
    unmeasurable: np.ndarray
    grads: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (mantissa (M, ...), log10 scale (M,))
    grads_lost: np.ndarray  # (M,) precision lost somewhere in the model's sweep
    overflow_step: np.ndarray  # (M,), -1 if none


_PER_STEP = ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step", "unmeasurable")


def lag_profile(
    cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray, log10_scale=None, *, every_step=False
) -> np.ndarray:
    """log10 ||dL/dh_k|| for x (T, B, I), dh_last (B, H): (T, B). For a stack, (T, M, B).

    every_step: the loss has a term at every step, L = sum_t L_t, and dh_last is dh_all (T, B, H),
    dh_all[t] = dL_t/dh_t (with log10_scale (T, B)); the same holds for every function below."""
    return _public(cell, x, dh_last, log10_scale, every_step, grads=False)[0]


def param_grads(
    cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray, log10_scale=None, *, every_step=False
) -> dict[str, np.ndarray]:
    """dL/dtheta summed over the batch, for x (T, B, I), dh_last (B, H): dict like cell.params."""
    return _public(cell, x, dh_last, log10_scale, every_step, grads=True)[1]


def lag_profile_and_grads(
    cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray, log10_scale=None, *, every_step=False
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(lag_profile, param_grads) from one forward and one backward pass."""
    return _public(cell, x, dh_last, log10_scale, every_step, grads=True)


def param_grads_from_last_state(cell: cells.Cell, x: np.ndarray, head) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """param_grads with dh_last computed from h_{T-1} inside the same forward pass, for a stack.

    A training loop's dh_last depends on h_{T-1} (through its loss): `cells.forward` and then
    `param_grads` would run the forward pass twice. cell: a stack of M, x (T, M, B, I).
    head(h_last, models) -> dh_last: h_last (M', B, H) of the models `models` (indices into the
    stack, (M',)) whose forward pass stayed within float64; dh_last finite, of the same shape.
    Returns (grads, finite): grads like cell.params, summed over the batch, NaN for the models whose
    forward pass left float64, and finite (M,) bool naming the others. Gradients beyond float64 are
    +-inf, without the warnings of param_grads (a caller that trains tests them).
    """
    if cell.n_models is None:
        raise ValueError(
            "param_grads_from_last_state needs a stack (bptt.core.cells.stack); wrap one cell with cells.as_stack"
        )
    batch = np.shape(x)[-2] if np.ndim(x) == 4 else 1  # a stand-in dh_last, for the checks of x alone
    x = check_inputs(cell, x, np.zeros((cell.n_models, batch, cell.hidden_size)))[2]
    models = np.arange(cell.n_models)
    while len(models):
        sub = cells.Cell(cell.kind, cell.activation, {k: v[models] for k, v in cell.params.items()})

        def dh_last(h_last, models=models):
            dh = np.asarray(head(h_last, models), dtype=np.float64)
            if dh.shape != h_last.shape or not np.isfinite(dh).all():
                raise ValueError(f"head must return a finite dh_last of shape {h_last.shape}, got shape {dh.shape}")
            return dh

        try:
            out = _sweep(sub, x[:, models], dh_last, np.zeros((len(models), x.shape[2])), jacobian=None)
            break
        except _Overflow as overflow:  # sweep the models that stayed finite again, without the others
            models = models[overflow.overflow_step < 0]
    finite = np.isin(np.arange(cell.n_models), models)
    grads = {k: np.full_like(v, np.nan) for k, v in cell.params.items()}
    if len(models):
        for k, (mantissa, scale) in out.grads.items():
            grads[k][models] = logscale.to_linear(mantissa, scale)
    return grads, finite


def _public(cell, x, dh_last, log10_scale, every_step, *, grads: bool):
    """lag_profile and param_grads of a sweep, with warnings for what carries no flag there."""
    stacked, single, xs, dhs, scale = check_inputs(cell, x, dh_last, log10_scale, every_step=every_step)
    dh_last, scale, sources = _split(dhs, scale, every_step)
    out = _sweep(stacked, xs, dh_last, scale, jacobian=None, sources=sources)
    if (out.overflow_step >= 0).any():
        warnings.warn(
            f"forward pass overflowed at step {int(out.overflow_step.max())}: results cover the steps before "
            "it (later rows are NaN); use bptt.core.gradients.profile for the flag",
            RuntimeWarning,
            stacklevel=3,
        )
    if out.unmeasurable.any():
        warnings.warn(
            f"{int(out.unmeasurable.sum())} per-step norms fell below float64's range at saturated steps and are "
            "NaN, not 0; use bptt.core.gradients.profile for the flag",
            RuntimeWarning,
            stacklevel=3,
        )
    values = {k: logscale.to_linear(m, sc) for k, (m, sc) in out.grads.items()}
    if grads and any(np.isinf(g).any() for g in values.values()):
        warnings.warn(
            "some parameter gradients exceed float64's range and are +-inf; "
            "bptt.core.gradients.profile gives their exact log10 norms (log10_grad_norm)",
            RuntimeWarning,
            stacklevel=3,
        )
    return _unstack(out.log10_grad_h, single), {k: _unstack(v, single, axis=0) for k, v in values.items()}


def profile(
    cell: cells.Cell,
    x: np.ndarray,
    dh_last: np.ndarray,
    log10_scale=None,
    *,
    jacobian_samples: int | None = None,
    jacobian_lags=None,
    every_step: bool = False,
) -> Profile:
    """Everything in the module docstring's Profile list, in one forward and backward pass.

    The Jacobian products cost O(T J n^3) (n = H, or 2H for the LSTM) against O(T B H^2) for the
    gradient, J = jacobian_samples (default: the whole batch B): they dominate from H of a few tens on.
    Their norms cost about as much again at each lag measured: jacobian_lags, the lags T-1-k at which
    log10_jac and gamma_step are measured (integers; NaN at the others), every lag by default
    (`bptt.core.jacobian.measured_lags` gives the pipeline's sparser set). For a sequence cut by an
    overflow, lags count from its last step before the cut.
    """
    stacked, single, xs, dhs, scale = check_inputs(cell, x, dh_last, log10_scale, every_step=every_step)
    batch = xs.shape[2]
    samples = batch if jacobian_samples is None else jacobian_samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 0 <= samples <= batch:
        raise ValueError(
            f"jacobian_samples must be an integer from 0 to the batch size {batch}, got {jacobian_samples!r}"
        )
    lags = None if jacobian_lags is None else np.asarray(jacobian_lags)
    if lags is not None and (lags.ndim != 1 or (lags.size and not np.issubdtype(lags.dtype, np.integer))):
        raise ValueError(f"jacobian_lags must be a 1-d sequence of integers (lags T-1-k), got {jacobian_lags!r}")
    dh_last, scale, sources = _split(dhs, scale, every_step)
    out = _sweep(stacked, xs, dh_last, scale, jacobian=int(samples), sources=sources, lags=lags)
    u = cells.candidate_block(stacked)  # (M, H, H)
    grads = {k: logscale.to_linear(m, sc) for k, (m, sc) in out.grads.items()}
    for g in grads.values():
        g[out.grads_lost] = np.nan
    with np.errstate(divide="ignore"):
        norms = {
            k: np.where(out.grads_lost, np.nan, np.log10(np.linalg.norm(m.reshape(len(m), -1), axis=1)) + sc)
            for k, (m, sc) in out.grads.items()
        }

    def per_model(a: np.ndarray) -> np.ndarray:  # (M,) for a stack, shape () for a single cell
        return a[0, ...] if single else a

    return Profile(
        log10_grad_h=_unstack(out.log10_grad_h, single),
        log10_grad_c=None if out.log10_grad_c is None else _unstack(out.log10_grad_c, single),
        log10_jac=_unstack(out.log10_jac, single),
        log10_dW_hh_contrib=_unstack(out.log10_dW_hh_contrib, single),
        gamma_step=_unstack(out.gamma_step, single),
        unmeasurable=_unstack(out.unmeasurable, single),
        param_grads={k: _unstack(v, single, axis=0) for k, v in grads.items()},
        param_grads_overflow=per_model(
            np.array([any(np.isinf(g[i]).any() for g in grads.values()) for i in range(len(u))])
        ),
        log10_grad_norm={k: per_model(v) for k, v in norms.items()},
        gamma_bound=activations.get(cell.activation).gamma_bound,
        spectral_radius=per_model(np.array([initialisation.spectral_radius(b) for b in u])),
        spectral_norm=per_model(np.linalg.norm(u, 2, axis=(1, 2))),
        overflow=per_model(out.overflow_step >= 0),
        overflow_step=per_model(out.overflow_step),
    )


def _split(dh: np.ndarray, scale: np.ndarray, every_step: bool) -> tuple:
    """(dh_last (M, B, H), its log10 scale (M, B), sources or None) from check_inputs' dh and scale: for a
    loss at every step, dh_last is dh_all[T-1] and the sources are dh_all[:T-1] with their scales."""
    return (dh[-1], scale[-1], (dh[:-1], scale[:-1])) if every_step else (dh, scale, None)


def _unstack(a: np.ndarray, single: bool, axis: int = 1) -> np.ndarray:
    return np.take(a, 0, axis=axis) if single else a


def check_inputs(
    cell, x, dh_last, log10_scale=None, *, every_step: bool = False
) -> tuple[cells.Cell, bool, np.ndarray, np.ndarray, np.ndarray]:
    """(stack, single, x (T, M, B, I), dh_last (M, B, H), log10_scale (M, B)) as float64; ValueError
    naming what is wrong. A single cell takes x (T, B, I), dh_last (B, H) and log10_scale (B,) or
    None (zeros); a stack of M takes (T, M, B, I), (M, B, H) and (M, B).

    every_step: the loss has a term at every step (`bptt.core.sources`), and dh_last is dh_all,
    dh_all[t] = dL_t/dh_t, with a leading T axis on it and on log10_scale: (T, B, H) and (T, B),
    or (T, M, B, H) and (T, M, B); returned as (T, M, B, H) and (T, M, B).
    """
    if not isinstance(cell, cells.Cell):
        raise ValueError(
            f"cell must be a bptt.core.cells.Cell (from cells.make or cells.from_params), got {type(cell).__name__}"
        )
    dh_name = "dh_all" if every_step else "dh_last"
    try:
        x = np.asarray(x, dtype=np.float64)
        dh_last = np.asarray(dh_last, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x and {dh_name} must be numeric arrays: {err}") from None
    isz, hsz, m = cell.input_size, cell.hidden_size, cell.n_models
    lead = "T, B" if m is None else f"T, M={m}, B"
    if x.ndim != (3 if m is None else 4) or x.shape[-1] != isz or (m is not None and x.shape[1] != m):
        raise ValueError(f"x must have shape ({lead}, input_size={isz}), got {x.shape}")
    if x.shape[0] < 1 or x.shape[-2] < 1:
        raise ValueError(f"x must have T >= 1 steps and B >= 1 samples, got shape {x.shape}")
    want = (x.shape[-2], hsz) if m is None else (m, x.shape[-2], hsz)
    names = f"B={want[-2]}, hidden_size={hsz}" if m is None else f"M={m}, B={want[-2]}, hidden_size={hsz}"
    if every_step:
        want, names = (x.shape[0], *want), f"T={x.shape[0]}, {names}"
    if dh_last.shape != want:
        raise ValueError(f"{dh_name} must have shape ({names}), got {dh_last.shape}")
    scale = np.zeros(dh_last.shape[:-1]) if log10_scale is None else np.asarray(log10_scale, dtype=np.float64)
    if scale.shape != dh_last.shape[:-1]:
        raise ValueError(f"log10_scale must have shape {dh_last.shape[:-1]}, got {scale.shape}")
    for name, a in (("x", x), (dh_name, dh_last), ("log10_scale", scale)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite (it holds NaN or inf)")
    if m is None:  # the model axis M = 1, in front of B
        x, dh_last, scale = x[:, None], dh_last[..., None, :, :], scale[..., None, :]
    return cells.as_stack(cell), m is None, x, dh_last, scale


def chunk_length(cell: cells.Cell, samples: int, n_steps: int | None = None) -> int:
    """Steps per chunk so that one chunk's trace (`samples` = M * B sequences) stays within
    TRACE_BYTES; given n_steps, the chunks are made equal (2000 in chunks of 1820 -> 1000 + 1000)."""
    per_step = 8 * samples * cell.hidden_size * cell.spec.arrays_per_step
    size = max(1, TRACE_BYTES // per_step)
    if n_steps is None:
        return size
    n_chunks = -(-n_steps // size)
    return -(-n_steps // n_chunks)


class _Overflow(Exception):
    """Raised by `_sweep` when dh_last is to be computed from h_{T-1} but some model's forward pass
    left float64 (there is no h_{T-1} to compute it from)."""

    def __init__(self, overflow_step: np.ndarray):
        super().__init__("forward pass overflowed")
        self.overflow_step = overflow_step


class _Adjoint(NamedTuple):
    """dL/ds_t = parts * 10**log_scale: parts (h,) or (h, c), (M, B, H) each; log_scale (M, B)."""

    parts: tuple[np.ndarray, ...]
    log_scale: np.ndarray


class _Steps(NamedTuple):
    """What the backward loop records per step k (K, M, B): norms in the scale 10**log_in[k] of dL/ds_k,
    and the scale 10**log_out[k] that dL/da_k (written into the caller's buffer) is in."""

    sq: np.ndarray  # (parts, K, M, B): ||dL/dh_k||^2 and, for the LSTM, ||dL/dc_k||^2
    log_in: np.ndarray
    log_out: np.ndarray


def _backward(spec, factors: dict, guard: np.ndarray, through_u, adjoint: _Adjoint, sources, da) -> tuple:
    """The backward recurrence dL/ds_{k-1} = (d s_k / d s_{k-1})^T dL/ds_k over K steps, k = K-1..0, with the
    adjoint divided by its norm (times 2**guard[k]) at every step and the norm moved to its log10 scale.

    factors (K, M, B, ...) each, guard (K, M, B) from `precision.guard_exponents`; sources: for a loss at
    every step, (dL_k/dh_k (K, M, B, H), log10 scales (K, M, B)), else None. Writes dL/da_k into da
    (K, M, B, G, H). Returns (the adjoint of the state before step 0, _Steps)."""
    steps = _Steps(np.empty((spec.state_parts, *guard.shape)), np.empty(guard.shape), np.empty(guard.shape))
    adj, scale = adjoint
    for k in reversed(range(len(guard))):
        if sources is not None:  # L_k's own term: dL/dh_k = dL_k/dh_k + (the adjoint through s_{k+1})
            adj, scale = logscale.add_state(adj, scale, sources[0][k], sources[1][k])
        steps.log_in[k] = scale
        for part, a in zip(steps.sq, adj, strict=True):
            part[k] = np.einsum("mbh,mbh->mb", a, a)  # ||dL/dh_k||^2, ||dL/dc_k||^2 in that scale
        shrink = logscale.safe_scale(np.sqrt(steps.sq[:, k].sum(axis=0))) * np.ldexp(1.0, guard[k])
        adj = tuple(a / shrink[..., None] for a in adj)  # a unit adjoint (2**-guard[k] where U could overflow it)
        adj = spec.backward_step({key: v[k] for key, v in factors.items()}, adj, da[k], through_u)
        scale = scale + np.log10(shrink)
        steps.log_out[k] = scale
    return _Adjoint(adj, scale), steps


def _sweep(
    cell: cells.Cell, x: np.ndarray, dh_last, log10_scale: np.ndarray, *, jacobian: int | None, sources=None, lags=None
) -> _Sweep:
    """One forward pass to find overflows, then the backward sweep, for x (T, M, B, I), dh_last (M, B, H)
    times 10**log10_scale (M, B). jacobian: None for the gradient alone (lag_profile, param_grads),
    else the number of sequences whose Jacobian diagnostics `profile` records, at the lags `lags`
    (None: every lag).

    dh_last may instead be a function of h_{T-1} (M, B, H), called once after the forward pass
    (see `param_grads_from_last_state`); if a model overflowed, `_Overflow` is raised instead.
    sources: for a loss at every step, dL_t/dh_t of the steps before the last, as mantissas
    (T-1, M, B, H) and log10 scales (T-1, M, B).
    """
    n_steps, n_models, batch, _ = x.shape
    spec, act, u = cell.spec, activations.get(cell.activation), cell.params["weight_hh"]
    size = chunk_length(cell, n_models * batch, n_steps)

    # Pass 1: forward through all chunks, keeping each chunk's initial state (and the last
    # chunk's trace). At most one trace is alive at a time: `del` frees it.
    starts, kept = [], {}
    state = cells.zero_state(cell, (n_models, batch))
    for s in range(0, n_steps, size):
        starts.append(state)
        kept.clear()
        tr = cells.trace(cell, x[s : s + size], state)
        bad = precision.first_nonfinite([tr["h"][1:]] + ([tr["c"][1:]] if spec.state_parts == 2 else []))
        if (bad >= 0).any():
            overflow_step = np.where(bad >= 0, s + bad, -1)
            del tr
            if callable(dh_last):
                raise _Overflow(overflow_step)
            return _cut(cell, x, dh_last, log10_scale, overflow_step, jacobian=jacobian, sources=sources, lags=lags)
        state, kept[s] = cells.final_state(cell, tr), tr
        del tr
    if callable(dh_last):
        dh_last = dh_last(state[0])  # from h_{T-1} of this very pass

    # Pass 2: backward, chunk by chunk from the last; only the adjoint (and P_k) carry over.
    # A dh_last (or a loss term) whose squared norm would exceed float64 (entries beyond ~1e154, as in
    # a diverging training run) starts divided by a power of two, exactly, moved to the log scale.
    start, exponent = precision.tame(dh_last)
    adjoint = _Adjoint((start,) + (np.zeros_like(start),) * (spec.state_parts - 1), log10_scale + exponent * LOG10_2)
    if sources is not None:  # every step's loss term likewise; the last step's is dh_last (a zero term here)
        mantissas, exponents = precision.tame(sources[0])
        sources = (
            np.concatenate([mantissas, np.zeros_like(start)[None]]),
            np.concatenate([sources[1] + exponents * LOG10_2, np.full((1, n_models, batch), -np.inf)]),
        )
    j = jacobian or 0
    product = JacobianProduct((n_models, j), cell.hidden_size, spec.state_parts, spec.grad_blocks) if j else None
    measure = np.ones(n_steps, dtype=bool) if lags is None else np.isin(n_steps - 1 - np.arange(n_steps), lags)
    through_u = cellspec.through_u(spec, u)
    shape = (n_steps, n_models, batch)
    # Per-step results of the backward loop (`_Steps`), and of the passes after it, for the whole sequence.
    sq, log_in, log_out = np.empty((spec.state_parts, *shape)), np.empty(shape), np.empty(shape)
    sq_da, log_h, saturated = np.empty(shape), np.empty(shape), np.empty(shape, dtype=bool)
    jac = np.empty((3, n_steps, n_models, j))  # log10 ||P_k||, gamma_k, log2 of P_k's largest entry
    grads = {k: (np.zeros_like(v), np.full(n_models, -np.inf)) for k, v in cell.params.items()}
    for s in reversed(range(0, n_steps, size)):
        tr = kept.pop(s) if s in kept else cells.trace(cell, x[s : s + size], starts[s // size])
        # A few steps at a time, so that the step factors and dL/da stay in the processor's cache.
        for first, last in reversed(cellspec.blocks(spec, tr)):
            rows = slice(s + first, s + last)
            part = cellspec.trace_steps(tr, first, last)
            factors, saturated[rows] = spec.coefficients(part, act), spec.saturated(part, act)
            guard = precision.guard_exponents(factors, u, GUARD_EXPONENT)
            da = np.empty((len(guard), n_models, batch, spec.grad_blocks, cell.hidden_size))  # dL/da_k
            block_sources = None if sources is None else (sources[0][rows], sources[1][rows])
            adjoint, steps = _backward(spec, factors, guard, through_u, adjoint, block_sources, da)
            sq[:, rows], log_in[rows], log_out[rows] = steps
            if j:
                jac_factors = {key: v[:, :, :j] for key, v in factors.items()}
                jac[:, rows] = product.sweep(spec, jac_factors, guard[:, :, :j], through_u, measure[rows])
            da_hh = da[..., spec.hh, :]
            sq_da[rows] = np.einsum("kmbgh,kmbgh->kmb", da_hh, da_hh)  # ||dL/d(U h_{k-1})||^2 in the scale log_out
            with np.errstate(divide="ignore"):
                log_h[rows] = np.log10(logscale.row_norms(part["h"][:-1]))
            block = _weight_grads(spec, da, x[rows], part["h"][:-1], steps.log_out)
            grads = {k: logscale.add(*grads[k], *block[k]) for k in grads}
        del tr, part  # the views of `part` would keep the trace alive beside the next chunk's
    out = _Sweep(
        log10_grad_h=logscale.log10_norm(sq[0], log_in),
        log10_grad_c=logscale.log10_norm(sq[1], log_in) if spec.state_parts == 2 else None,
        log10_jac=jac[0] if jacobian is not None else None,
        # ||outer(dL/d(U h_{k-1}), h_{k-1})||_F = ||dL/d(U h_{k-1})|| ||h_{k-1}|| per sample: step k's term of dL/dU
        log10_dW_hh_contrib=logscale.log10_norm(sq_da, log_out + log_h) if jacobian is not None else None,
        gamma_step=jac[1] if jacobian is not None else None,
        unmeasurable=np.zeros(shape, dtype=bool),
        grads=grads,
        grads_lost=np.zeros(n_models, dtype=bool),
        overflow_step=np.full(n_models, -1),
    )
    return _precision_flags(out, sq, sq_da, saturated, jac[2], measure)


def _weight_grads(spec, da: np.ndarray, x: np.ndarray, h_prev: np.ndarray, log_out: np.ndarray) -> dict:
    """One block's dL/dtheta = sum over steps k and samples of dL/da_k's terms, per model in log space:
    dL/da_k (K, M, B, G, H) in the scale 10**log_out (K, M, B), x (K, M, B, I), h_prev = h_{k-1} (K, M, B, H).
    Returns name -> (mantissa (M, ...), log10 scale (M,)), like cell.params."""
    n, m, b = log_out.shape

    def per_model(a):  # (K, M, B, ...) -> (M, K*B, prod(...))
        return a.swapaxes(0, 1).reshape(m, n * b, -1)

    d_hh, log_w = per_model(da[..., spec.hh, :]), per_model(log_out)[..., 0]
    # The LSTM's blocks are the same for W and U: one copy and one bias sum serve both.
    same = spec.ih_blocks == spec.hh_blocks
    d_ih = d_hh if same else per_model(da[..., list(spec.ih_blocks), :])
    bias_hh = logscale.weighted_sum(d_hh, log_w)  # sum_k dL/da_k
    return {
        "weight_ih": logscale.weighted_outer_sum(d_ih, per_model(x), log_w),  # sum_k dL/da_k^T x_k
        "weight_hh": logscale.weighted_outer_sum(d_hh, per_model(h_prev), log_w),  # sum_k dL/da_k^T h_{k-1}
        "bias_ih": bias_hh if same else logscale.weighted_sum(d_ih, log_w),
        "bias_hh": bias_hh,
    }


def _precision_flags(out: _Sweep, sq, sq_da, saturated, log2_p, measure) -> _Sweep:
    """The sweep's results with NaN and `unmeasurable` where float64 lost the digits (`bptt.core.precision`).

    Step k's adjoint came out of step k+1 as a unit adjoint in, norm out: below UNDERFLOW after a saturated
    step k+1, it and every earlier row are lost; one part of (h, c) below UNDERFLOW of the whole is lost at
    that row; a dL/da_k below UNDERFLOW of its unit adjoint at a saturated step k loses that row's dW_hh term.
    The Jacobian likewise: P_k shrunk below UNDERFLOW by a saturated step loses row k and every earlier row,
    and a saturated J_k whose norm gamma_k is below UNDERFLOW loses gamma_k. sq (parts, T, M, B),
    sq_da (T, M, B) as in `_sweep`, saturated (T, M, B), log2_p (T, M, J); measure (T,): rows with
    Jacobian norms (NaN elsewhere, not unmeasurable)."""
    after = np.concatenate([saturated[1:], np.zeros_like(saturated[:1])])  # was step k+1 saturated?
    norm = np.sqrt(sq.sum(axis=0))  # the norm out of step k+1, which step k's adjoint was divided by
    lost_from = precision.lost_up_to(precision.digits_lost(after, norm))  # (M, B)
    da_lost = precision.digits_lost(saturated, np.sqrt(sq_da))
    part_lost = [precision.digits_lost(after, np.sqrt(part), norm) for part in sq] if len(sq) == 2 else [False] * 2
    j = 0 if out.log10_jac is None else out.log10_jac.shape[2]
    gamma_lost = False
    if j:
        with np.errstate(invalid="ignore"):
            shrunk = np.concatenate([log2_p[1:] - log2_p[:-1], np.zeros_like(log2_p[:1])]) * LOG10_2
        product_lost = after[..., :j] & (shrunk < precision.LOG10_UNDERFLOW)
        lost_from[:, :j] = np.maximum(lost_from[:, :j], precision.lost_up_to(product_lost))
        gamma_lost = np.zeros_like(saturated)
        gamma_lost[..., :j] = precision.digits_lost(saturated[..., :j], out.gamma_step)
    # Rows at and before a step whose precision was lost, per sample: no digit there can be trusted.
    lost = np.arange(len(saturated))[:, None, None] <= lost_from[None]
    unmeasurable = out.unmeasurable | lost | da_lost | part_lost[0] | part_lost[1] | gamma_lost
    unmeasured = ~measure[:, None, None]
    nan_at = {
        "log10_grad_h": lost | part_lost[0],
        "log10_grad_c": lost | part_lost[1],
        "log10_dW_hh_contrib": lost | da_lost,
        "log10_jac": lost,
        "gamma_step": gamma_lost,
    }
    fields = {}
    for key, where in nan_at.items():
        values = getattr(out, key)
        if values is not None:
            n = values.shape[2]
            allowed = unmeasurable[..., :n] | (unmeasured if key in ("log10_jac", "gamma_step") else False)
            fields[key] = precision.flagged(values, np.broadcast_to(where, unmeasurable.shape)[..., :n], allowed)
    return out._replace(**fields, unmeasurable=unmeasurable, grads_lost=(lost_from >= 0).any(axis=1))


def _cut(cell, x, dh_last, log10_scale, overflow_step, *, jacobian, sources=None, lags=None) -> _Sweep:
    """The sweep of a stack whose models overflow: each group of models with the same first
    non-finite step s is swept over x[:s] alone (all NaN if s = 0), and rows s.. stay NaN. With a
    loss at every step, the cut sequence's loss is that of its steps 0..s-1."""
    n_steps, n_models, batch, _ = x.shape
    ends = np.where(overflow_step >= 0, overflow_step, n_steps)
    per_step, per_jac = np.full((n_steps, n_models, batch), np.nan), np.full((n_steps, n_models, jacobian or 0), np.nan)
    out = _Sweep(
        log10_grad_h=per_step,
        log10_grad_c=per_step.copy() if cell.spec.state_parts == 2 else None,
        log10_jac=None if jacobian is None else per_jac,
        log10_dW_hh_contrib=None if jacobian is None else per_step.copy(),
        gamma_step=None if jacobian is None else per_jac.copy(),
        unmeasurable=np.zeros(per_step.shape, dtype=bool),
        grads={k: (np.full_like(v, np.nan), np.zeros(n_models)) for k, v in cell.params.items()},
        grads_lost=np.zeros(n_models, dtype=bool),
        overflow_step=overflow_step,
    )
    for end in np.unique(ends[ends > 0]):
        idx = np.flatnonzero(ends == end)
        sub = cells.Cell(cell.kind, cell.activation, {k: v[idx] for k, v in cell.params.items()})
        if sources is None or end == n_steps:
            last, last_scale = dh_last[idx], log10_scale[idx]
            kept_sources = None if sources is None else tuple(a[:, idx] for a in sources)
        else:  # the loss term of step end-1 becomes the last one
            last, last_scale = sources[0][end - 1, idx], sources[1][end - 1, idx]
            kept_sources = tuple(a[: end - 1, idx] for a in sources)
        part = _sweep(sub, x[:end, idx], last, last_scale, jacobian=jacobian, sources=kept_sources, lags=lags)
        for field in _PER_STEP:
            if getattr(out, field) is not None:
                getattr(out, field)[:end, idx] = getattr(part, field)
        out.grads_lost[idx] = part.grads_lost
        for k, (mantissa, scale) in part.grads.items():
            out.grads[k][0][idx], out.grads[k][1][idx] = mantissa, scale
    return out
