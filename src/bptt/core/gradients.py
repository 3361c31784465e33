"""Exact backpropagation through time, with every norm carried in log10: the fast sweep.

`bptt.core.reference` holds the same computation written plainly (one forward pass, the
backward recurrence, nothing else); this module adds what makes it fast and safe at any
length and scale, each in one place:
  - log space: the backward sweep divides the adjoint by its norm at every step and adds
    log10 of that norm to a running scale, so no lag underflows or overflows
    (`_backward_chunk`);
  - chunks: long sequences are cut into chunks of at most TRACE_BYTES of trace; only each
    chunk's initial state is kept from the first forward pass, and a chunk's trace is
    recomputed when the backward sweep reaches it, so memory is bounded and cost linear (`_sweep`);
  - stacks: M networks of one kind (`bptt.core.cells.stack`) run as one batch;
  - overflow: a model whose forward pass leaves float64 is cut before its first non-finite
    step s; its gradients are those of L = sum(dh_last * h_{s-1}) over steps 0..s-1 and rows
    s..T-1 are NaN (`_sweep`, `_cut`);
  - a dh_last whose squared norm would exceed float64 although each entry is finite starts
    divided by a power of two (`_sweep`);
  - a guard for one backward step whose product with U would exceed float64 although each
    factor is finite (an LSTM or GRU whose state is near float64's largest numbers): the
    step's outputs are divided by a power of two, moved to the log scale (`_ThroughU`);
  - precision: where a gate, a gate's slope or f' has left float64's range (a saturated
    step) and a recorded norm drops below UNDERFLOW (2^-900) of the quantity it came from, the
    float64 value may be a rounded-away remainder, not the true one; such entries are NaN and
    flagged in `unmeasurable`, never reported as 0 (an exact zero, from ReLU's f' = 0 at an
    unsaturated step, stays -inf);
  - Jacobian diagnostics (`bptt.core.jacobian`), for `profile` only, on the first
    `jacobian_samples` sequences of each model's batch (all by default): they cost O(n^3) per
    sequence and step against the gradient's O(H^2), so a caller may measure them on fewer.

Loss: L = sum(dh_last * h_{T-1}), so dL/dh_{T-1} = dh_last, optionally times 10**log10_scale per
sample (a gradient beyond float64's range, from `bptt.core.loss`). Step k is 0-based; lag = T-1-k.
Per-step arrays are (T, B): row k = step k, a column per sample; for a stack (T, M, B).

Profile fields:
  log10_grad_h          log10 ||dL/dh_k||, the full adjoint of h_k (for the LSTM through c as well)
  log10_grad_c          log10 ||dL/dc_k|| for the LSTM (adjoint of c_k as part of s_k = (h_k, c_k),
                        through c_{k+1}; -inf at k = T-1), None otherwise
  log10_jac             log10 ||d s_{T-1} / d s_k||_2, s = h or (h, c) for the LSTM; (T, J) for the
                        first J = jacobian_samples sequences (J = B by default), as gamma_step
  log10_dW_hh_contrib   log10 ||step k's term of dL/dW_hh||_F = log10 ||dL/d(U h_{k-1})|| ||h_{k-1}||
                        (-inf at k = 0: h_{-1} = 0)
  gamma_step            gamma_k = ||d s_k / d s_{k-1}||_2 (= ||diag f'(z_k) U||_2 for the RNN), linear scale
  unmeasurable          True where some norm of row k was lost to float64's range (it is NaN)
  param_grads           dict like cell.params: dL/dtheta summed over the batch (per model for a stack)
  param_grads_overflow  True if some entry of param_grads exceeds float64 (it is then +-inf)
  log10_grad_norm       dict name -> log10 of the Frobenius norm of param_grads[name], computed in
                        log space (finite even where param_grads overflow; NaN if precision was lost)
  gamma_bound           sup |f'| of the activation
  spectral_radius       max |eigenvalue| of the candidate-path block of U (all of U for the RNN)
  spectral_norm         sigma_max of that block; Pascanu's per-step factor is gamma_bound * spectral_norm
  overflow, overflow_step   see "overflow" above; overflow_step = -1 when there is none
"""

import warnings
from typing import NamedTuple

import numpy as np

from bptt.core import activations, cells, initialisation, logscale
from bptt.core.cellspec import vec_matmul
from bptt.core.jacobian import JacobianProduct

# Largest trace (forward values and gradient buffers) held at once, in bytes.
TRACE_BYTES = 256 * 2**20
UNDERFLOW = 2.0**-900  # below this ratio a saturated step's result may have lost its digits
LOG10_UNDERFLOW = -900 * np.log10(2.0)
# A backward step whose product with U could exceed 2^GUARD_EXPONENT is scaled down first, so that
# the adjoint and its squared norm (entries up to 2^511 square to float64's largest) stay finite.
GUARD_EXPONENT = 480
_LOG10_2 = np.log10(2.0)


class Profile(NamedTuple):
    log10_grad_h: np.ndarray
    log10_grad_c: np.ndarray | None
    log10_jac: np.ndarray
    log10_dW_hh_contrib: np.ndarray
    gamma_step: np.ndarray
    unmeasurable: np.ndarray
    param_grads: dict[str, np.ndarray]
    param_grads_overflow: bool | np.ndarray
    log10_grad_norm: dict[str, float | np.ndarray]
    gamma_bound: float
    spectral_radius: float | np.ndarray
    spectral_norm: float | np.ndarray
    overflow: bool | np.ndarray
    overflow_step: int | np.ndarray


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
    every_step: bool = False,
) -> Profile:
    """Everything in the module docstring's Profile list, in one forward and backward pass.

    The Jacobian products cost O(T J n^3) (n = H, or 2H for the LSTM) against O(T B H^2) for the
    gradient, J = jacobian_samples (default: the whole batch B): they dominate from H of a few tens on.
    """
    stacked, single, xs, dhs, scale = check_inputs(cell, x, dh_last, log10_scale, every_step=every_step)
    batch = xs.shape[2]
    samples = batch if jacobian_samples is None else jacobian_samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 0 <= samples <= batch:
        raise ValueError(
            f"jacobian_samples must be an integer from 0 to the batch size {batch}, got {jacobian_samples!r}"
        )
    dh_last, scale, sources = _split(dhs, scale, every_step)
    out = _sweep(stacked, xs, dh_last, scale, jacobian=int(samples), sources=sources)
    u = cells.candidate_block(stacked)  # (M, H, H)
    grads = {k: logscale.to_linear(m, sc) for k, (m, sc) in out.grads.items()}
    for g in grads.values():
        g[out.grads_lost] = np.nan
    with np.errstate(divide="ignore"):
        norms = {
            k: np.where(out.grads_lost, np.nan, np.log10(np.linalg.norm(m.reshape(len(m), -1), axis=1)) + sc)
            for k, (m, sc) in out.grads.items()
        }
    per_model = {
        "param_grads_overflow": np.array([any(np.isinf(g[i]).any() for g in grads.values()) for i in range(len(u))]),
        "spectral_radius": np.array([initialisation.spectral_radius(b) for b in u]),
        "spectral_norm": np.linalg.norm(u, 2, axis=(1, 2)),
        "overflow": out.overflow_step >= 0,
        "overflow_step": out.overflow_step,
    }
    if single:
        per_model = {k: v[0].item() for k, v in per_model.items()}
    return Profile(
        log10_grad_h=_unstack(out.log10_grad_h, single),
        log10_grad_c=None if out.log10_grad_c is None else _unstack(out.log10_grad_c, single),
        log10_jac=_unstack(out.log10_jac, single),
        log10_dW_hh_contrib=_unstack(out.log10_dW_hh_contrib, single),
        gamma_step=_unstack(out.gamma_step, single),
        unmeasurable=_unstack(out.unmeasurable, single),
        param_grads={k: _unstack(v, single, axis=0) for k, v in grads.items()},
        log10_grad_norm={k: (float(v[0]) if single else v) for k, v in norms.items()},
        gamma_bound=activations.get(cell.activation).gamma_bound,
        **per_model,
    )


def _tame(dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dh (..., H) divided by 2**exponent (...) where its squared norm would leave float64: (dh', exponent)."""
    exponent = np.maximum(0, np.frexp(np.abs(dh).max(axis=-1))[1] - GUARD_EXPONENT)
    return np.ldexp(dh, -exponent[..., None]), exponent


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


def _first_nonfinite(cell: cells.Cell, tr: dict) -> np.ndarray:
    """First step of the trace whose state holds a non-finite value, per model (M,); -1 if none."""
    states = [tr["h"][1:]] + ([tr["c"][1:]] if cell.spec.state_parts == 2 else [])
    with np.errstate(over="ignore", invalid="ignore"):
        if all(np.isfinite(a.sum()) for a in states):  # one cheap pass; a huge finite sum only costs the exact check
            return np.full(tr["h"].shape[1], -1)
    ok = np.logical_and.reduce([np.isfinite(a).all(axis=(2, 3)) for a in states])  # (K, M)
    return np.where(ok.all(axis=0), -1, np.argmin(ok, axis=0))


class _Overflow(Exception):
    """Raised by `_sweep` when dh_last is to be computed from h_{T-1} but some model's forward pass
    left float64 (there is no h_{T-1} to compute it from)."""

    def __init__(self, overflow_step: np.ndarray):
        super().__init__("forward pass overflowed")
        self.overflow_step = overflow_step


def _sweep(
    cell: cells.Cell, x: np.ndarray, dh_last, log10_scale: np.ndarray, *, jacobian: int | None, sources=None
) -> _Sweep:
    """One forward pass to find overflows, then the backward sweep, for x (T, M, B, I), dh_last (M, B, H)
    times 10**log10_scale (M, B). jacobian: None for the gradient alone (lag_profile, param_grads),
    else the number of sequences whose Jacobian diagnostics `profile` records.

    dh_last may instead be a function of h_{T-1} (M, B, H), called once after the forward pass
    (see `param_grads_from_last_state`); if a model overflowed, `_Overflow` is raised instead.
    sources: for a loss at every step, dL_t/dh_t of the steps before the last (see `_Carry`).
    """
    n_steps, n_models, batch, _ = x.shape
    size = chunk_length(cell, n_models * batch, n_steps)

    # Pass 1: forward through all chunks, keeping each chunk's initial state (and the last
    # chunk's trace). At most one trace is alive at a time: `del` frees it.
    starts, kept, overflow_step = [], {}, np.full(n_models, -1)
    state = cells.zero_state(cell, (n_models, batch))
    for s in range(0, n_steps, size):
        starts.append(state)
        kept.clear()
        tr = cells.trace(cell, x[s : s + size], state)
        bad = _first_nonfinite(cell, tr)
        if (bad >= 0).any():
            overflow_step = np.where(bad >= 0, s + bad, -1)
            del tr
            if callable(dh_last):
                raise _Overflow(overflow_step)
            return _cut(cell, x, dh_last, log10_scale, overflow_step, jacobian=jacobian, sources=sources)
        state, kept[s] = cells.final_state(cell, tr), tr
        del tr
    if callable(dh_last):
        dh_last = dh_last(state[0])  # from h_{T-1} of this very pass

    out = _empty_fields(cell, (n_steps, n_models, batch), jacobian)
    grads = {k: (np.zeros_like(v), np.full(n_models, -np.inf)) for k, v in cell.params.items()}
    # Pass 2: backward, chunk by chunk from the last; the adjoint, its log10 scale and the
    # state of the precision checks carry over.
    # A dh_last whose squared norm would exceed float64 (entries beyond ~1e154, as in a diverging
    # training run) starts divided by a power of two, exactly, and the power joins the log scale.
    # Any other dh_last is left bit for bit as it is (exponent 0).
    start, exponent = _tame(dh_last)
    if sources is not None:  # every step's loss term likewise
        mantissas, exponents = _tame(sources[0])
        sources = (mantissas, sources[1] + exponents * _LOG10_2)
    carry = _Carry(
        adj=(start, np.zeros_like(dh_last)) if cell.spec.state_parts == 2 else (start,),
        log_scale=log10_scale + exponent * _LOG10_2,
        saturated_next=np.zeros((n_models, batch), dtype=bool),
        lost_from=np.full((n_models, batch), -1),
        jac=JacobianProduct((n_models, jacobian), cell.hidden_size, cell.spec.state_parts, cell.spec.grad_blocks)
        if jacobian
        else None,
        sources=sources,
    )
    for s in reversed(range(0, n_steps, size)):
        e = min(s + size, n_steps)
        tr = kept.pop(s) if s in kept else cells.trace(cell, x[s:e], starts[s // size])
        chunk_grads = _backward_chunk(cell, tr, x[s:e], carry, out, s)
        del tr
        grads = {k: logscale.add(*grads[k], *chunk_grads[k]) for k in grads}
    # Rows at and before a step whose precision was lost, per sample: no digit there can be trusted.
    lost = np.arange(n_steps)[:, None, None] <= carry.lost_from[None]
    for key in ("log10_grad_h", "log10_grad_c", "log10_dW_hh_contrib", "log10_jac"):
        if out[key] is not None:
            out[key][lost[..., : out[key].shape[2]]] = np.nan
    out["unmeasurable"] |= lost
    _check_no_silent_nan(out)
    return _Sweep(**out, grads=grads, grads_lost=(carry.lost_from >= 0).any(axis=1), overflow_step=overflow_step)


def _empty_fields(cell: cells.Cell, shape: tuple[int, int, int], jacobian: int | None) -> dict:
    """The per-step fields of a sweep, NaN (and nothing unmeasurable) until filled; None where not computed."""
    nan = np.full(shape, np.nan)
    jac_shape = shape[:2] + (jacobian or 0,)
    return {
        "log10_grad_h": nan.copy(),
        "log10_grad_c": nan.copy() if cell.spec.state_parts == 2 else None,
        "log10_jac": None if jacobian is None else np.full(jac_shape, np.nan),
        "log10_dW_hh_contrib": None if jacobian is None else nan.copy(),
        "gamma_step": None if jacobian is None else np.full(jac_shape, np.nan),
        "unmeasurable": np.zeros(shape, dtype=bool),
    }


def _cut(cell, x, dh_last, log10_scale, overflow_step, *, jacobian, sources=None) -> _Sweep:
    """The sweep of a stack whose models overflow: each group of models with the same first
    non-finite step s is swept over x[:s] alone (all NaN if s = 0), and rows s.. stay NaN. With a
    loss at every step, the cut sequence's loss is that of its steps 0..s-1."""
    n_steps, n_models, batch, _ = x.shape
    ends = np.where(overflow_step >= 0, overflow_step, n_steps)
    fields = _empty_fields(cell, (n_steps, n_models, batch), jacobian)
    per_step = [k for k, v in fields.items() if v is not None and k != "unmeasurable"]
    grads = {k: (np.full_like(v, np.nan), np.zeros(n_models)) for k, v in cell.params.items()}
    grads_lost = np.zeros(n_models, dtype=bool)
    for end in np.unique(ends[ends > 0]):
        idx = np.flatnonzero(ends == end)
        sub = cells.Cell(cell.kind, cell.activation, {k: v[idx] for k, v in cell.params.items()})
        if sources is None or end == n_steps:
            last, last_scale = dh_last[idx], log10_scale[idx]
            kept_sources = None if sources is None else tuple(a[:, idx] for a in sources)
        else:  # the loss term of step end-1 becomes the last one
            last, last_scale = sources[0][end - 1, idx], sources[1][end - 1, idx]
            kept_sources = tuple(a[: end - 1, idx] for a in sources)
        part = _sweep(sub, x[:end, idx], last, last_scale, jacobian=jacobian, sources=kept_sources)
        for k in [*per_step, "unmeasurable"]:
            fields[k][:end, idx] = getattr(part, k)
        grads_lost[idx] = part.grads_lost
        for k, (mantissa, scale) in part.grads.items():
            grads[k][0][idx], grads[k][1][idx] = mantissa, scale
    return _Sweep(**fields, grads=grads, grads_lost=grads_lost, overflow_step=overflow_step)


class _Carry:
    """What the backward sweep carries from one chunk to the one before it."""

    def __init__(self, adj, log_scale, saturated_next, lost_from, jac, sources=None):
        self.adj = adj  # the adjoint of the chunk's last state, divided by 10**log_scale (M, B)
        # dL_t/dh_t of the steps t before the last, for a loss at every step: mantissas (T-1, M, B, H)
        # and log10 scales (T-1, M, B); None for a loss at the last step alone.
        self.sources = sources
        self.log_scale = log_scale
        self.saturated_next = saturated_next  # (M, B): was the step after the chunk saturated?
        self.lost_from = lost_from  # (M, B): last row whose precision was lost, -1 if none
        self.jac = jac  # JacobianProduct or None
        self.log_p_next = None  # log10 ||P_{k+1}|| of the row after the chunk


class _ThroughU:
    """dL/da_t U for a backward step, guarded: with `check` set, dL/da_t and the step's direct terms
    are divided by 2**exponent per sample (M, B) first, so that the product stays below
    2**GUARD_EXPONENT; exponent is 0 where unguarded."""

    def __init__(self, u: np.ndarray, hh: slice, shape: tuple[int, int]):
        self.u, self.hh = u, hh
        self.colsum = np.abs(u).sum(axis=1).max(axis=1)  # (M,): |d U|_inf <= max|d| * colsum
        self.check = False
        self.exponent = np.zeros(shape)

    def __call__(self, out: np.ndarray, *direct: np.ndarray) -> np.ndarray:
        if self.check:
            big = np.abs(out).reshape(*self.exponent.shape, -1).max(axis=-1) * self.colsum[:, None]
            self.exponent = np.maximum(0, np.frexp(big)[1] - GUARD_EXPONENT).astype(np.float64)
            scale = np.ldexp(1.0, -self.exponent.astype(int))
            out *= scale.reshape(scale.shape + (1,) * (out.ndim - 2))
            for d in direct:
                d *= scale.reshape(scale.shape + (1,) * (d.ndim - 2))
        else:
            self.exponent[...] = 0.0
        return vec_matmul(out[..., self.hh, :], self.u)


def _guarded_steps(factors: dict, u: np.ndarray) -> np.ndarray:
    """(K,): steps whose product with U could leave the guarded range, for step factors (K, ...) each
    and an adjoint whose entries are <= 2 (a unit vector, or its h and c parts added in a step)."""
    n = len(next(iter(factors.values())))
    with np.errstate(invalid="ignore"):
        biggest = np.stack([np.abs(v).reshape(n, -1).max(axis=1) for v in factors.values()]).max(axis=0)
    return 2 * biggest * np.abs(u).sum(axis=1).max() > 2.0**GUARD_EXPONENT


def _inject(adj: tuple, current: np.ndarray, source: np.ndarray, scale: np.ndarray) -> tuple[tuple, np.ndarray]:
    """dL/dh_t gains the step's own loss term source * 10**scale ((M, B, H), (M, B)), added in log space to
    the adjoint adj * 10**current under the larger of the two scales (a zero side has scale -inf)."""
    with np.errstate(invalid="ignore"):  # -inf - -inf: both sides zero, weight 0
        top = np.maximum(current, scale)
        keep = np.where(np.isneginf(current), 0.0, 10.0 ** (current - top))[..., None]
        add = np.where(np.isneginf(scale), 0.0, 10.0 ** (scale - top))[..., None]
    top = np.where(np.isneginf(top), 0.0, top)  # both zero: any scale will do
    return (adj[0] * keep + source * add, *(a * keep for a in adj[1:])), top


def _hh_slice(spec) -> slice:
    return slice(spec.hh_blocks[0], spec.hh_blocks[-1] + 1)


def _backward_chunk(cell, tr, x, carry: _Carry, out: dict, s: int) -> dict:
    """Backward sweep over one chunk (K steps); fills rows s..s+K-1 of `out`, updates `carry`,
    and returns the chunk's param grads as (mantissas (M, ...), log10 scales (M,))."""
    spec, act = cell.spec, activations.get(cell.activation)
    u = cell.params["weight_hh"]
    factors = spec.coefficients(tr, act)  # (K, M, B, ...) each
    saturated = spec.saturated(tr, act)  # (K, M, B)
    h_prev = tr["h"][:-1]  # (K, M, B, H)
    n, m, b = h_prev.shape[:3]
    guard = _guarded_steps(factors, u)
    del tr
    da = np.empty((n, m, b, spec.grad_blocks, cell.hidden_size))  # dL/da_t in the scale of step t
    sq_h, norms, extra = np.empty((n, m, b)), np.empty((n, m, b)), np.zeros((n, m, b))
    sq_c = np.empty_like(sq_h) if spec.state_parts == 2 else None
    through = _ThroughU(u, _hh_slice(spec), (m, b))
    j = carry.jac.scale.shape[1] if carry.jac is not None else 0  # sequences with Jacobian diagnostics
    jac_through = _ThroughU(u, _hh_slice(spec), (m, j)) if j else None
    log_p, gamma = np.empty((n, m, j)), np.empty((n, m, j))
    adj, current = carry.adj, carry.log_scale  # the adjoint of s_t is adj * 10**current
    after, scales = np.empty((n, m, b)), np.empty((n, m, b))  # log10 scales of dL/ds_t and of dL/da_t
    for t in reversed(range(n)):
        values = {k: v[t] for k, v in factors.items()}
        if j:
            jac_through.check = guard[t]
            log_p[t], gamma[t] = carry.jac.step(
                spec.backward_step, {k: v[:, :j] for k, v in values.items()}, jac_through
            )
        if carry.sources is not None and s + t < len(carry.sources[0]):  # L_t's own term, for a loss at every step
            adj, current = _inject(adj, current, carry.sources[0][s + t], carry.sources[1][s + t])
        after[t] = current
        sq_h[t] = np.einsum("mbh,mbh->mb", adj[0], adj[0])  # ||dL/dh_t||^2, in the current scale
        sq = sq_h[t]
        if sq_c is not None:
            sq_c[t] = np.einsum("mbh,mbh->mb", adj[1], adj[1])  # ||dL/dc_t||^2
            sq = sq + sq_c[t]
        norms[t] = np.sqrt(sq)
        adj = tuple(a / logscale.safe_scale(norms[t])[..., None] for a in adj)  # the scale moves to log space
        through.check = guard[t]
        adj = spec.backward_step(values, adj, da[t], through)  # dL/da_t into da[t]; the adjoint of s_{t-1}
        if guard[t]:
            extra[t] = through.exponent * _LOG10_2
        with np.errstate(divide="ignore"):
            current = current + np.log10(logscale.safe_scale(norms[t])) + extra[t]
        scales[t] = current
    carry.adj, carry.log_scale = adj, current
    rows = slice(s, s + n)
    out["log10_grad_h"][rows] = logscale.log10_norm(sq_h, after)
    if sq_c is not None:
        out["log10_grad_c"][rows] = logscale.log10_norm(sq_c, after)

    # Precision: the adjoint entering step t came out of step t+1 (norm 1 in, norms[t] out).
    saturated_after = np.concatenate([saturated[1:], carry.saturated_next[None]])
    state_lost = saturated_after & (norms < UNDERFLOW)
    hh = da[..., _hh_slice(spec), :]
    hh_sq = np.einsum("kmbgh,kmbgh->kmb", hh, hh)
    da_lost = saturated & (np.sqrt(hh_sq) < UNDERFLOW)  # dL/da_t from a unit adjoint
    unmeasurable = out["unmeasurable"][rows]
    unmeasurable |= da_lost
    for key, part_sq in (("log10_grad_h", sq_h), ("log10_grad_c", sq_c)):
        if part_sq is not None and sq_c is not None:  # one part of (h, c) lost beside the other
            part_lost = saturated_after & (np.sqrt(part_sq) < UNDERFLOW * norms)
            out[key][rows][part_lost] = np.nan
            unmeasurable |= part_lost
    if state_lost.any():
        last = np.where(state_lost.any(axis=0), n - 1 - np.argmax(state_lost[::-1], axis=0), -1)
        carry.lost_from = np.maximum(carry.lost_from, np.where(last >= 0, s + last, -1))

    with np.errstate(divide="ignore"):
        log_h = np.log10(logscale.row_norms(h_prev))
    if out["log10_dW_hh_contrib"] is not None:
        # ||outer(dL/da_t, h_{t-1})||_F = ||dL/da_t|| ||h_{t-1}|| per sample.
        contrib = logscale.log10_norm(hh_sq, scales + log_h)
        contrib[da_lost] = np.nan
        out["log10_dW_hh_contrib"][rows] = contrib
    if carry.jac is not None:
        _record_jacobian(out, rows, log_p, gamma, saturated[..., :j], saturated_after[..., :j], carry, s)
    carry.saturated_next = saturated[0]

    # Sum over steps and samples: one matrix product per parameter and model, in log space.
    def per_model(a):  # (K, M, B, ...) -> (M, K*B, prod(...))
        return a.swapaxes(0, 1).reshape(m, n * b, -1)

    ih = da[..., list(spec.ih_blocks), :] if spec.ih_blocks != spec.hh_blocks else hh
    d_hh, d_ih, log_w = per_model(hh), per_model(ih), per_model(scales)[..., 0]
    return {
        "weight_ih": logscale.weighted_outer_sum(d_ih, per_model(x), log_w),  # sum_t dL/da_t^T x_t
        "weight_hh": logscale.weighted_outer_sum(d_hh, per_model(h_prev), log_w),  # sum_t dL/da_t^T h_{t-1}
        "bias_ih": logscale.weighted_sum(d_ih, log_w),  # sum_t dL/da_t
        "bias_hh": logscale.weighted_sum(d_hh, log_w),
    }


def _record_jacobian(out, rows, log_p, gamma, saturated, saturated_after, carry: _Carry, s: int) -> None:
    """Fill the Jacobian rows of one chunk. P_k = P_{k+1} J_{k+1}: a saturated step that shrank the
    product below UNDERFLOW makes row k and every row before it unmeasurable; a saturated J_k
    with a norm below UNDERFLOW makes gamma_k unmeasurable."""
    n = len(log_p)
    following = np.concatenate([log_p[1:], log_p[-1:] if carry.log_p_next is None else carry.log_p_next])
    with np.errstate(invalid="ignore"):
        product_lost = saturated_after & (log_p - following < LOG10_UNDERFLOW)
    gamma_lost = saturated & (gamma < UNDERFLOW)
    j = log_p.shape[2]
    out["log10_jac"][rows] = log_p
    out["gamma_step"][rows] = np.where(gamma_lost, np.nan, gamma)
    out["unmeasurable"][rows, :, :j] |= gamma_lost
    if product_lost.any():
        last = np.where(product_lost.any(axis=0), n - 1 - np.argmax(product_lost[::-1], axis=0), -1)
        carry.lost_from[:, :j] = np.maximum(carry.lost_from[:, :j], np.where(last >= 0, s + last, -1))
    carry.log_p_next = log_p[:1]


def _check_no_silent_nan(out: dict) -> None:
    """A NaN outside the flagged entries and overflow rows is a bug: fail loudly, never write it."""
    for key in ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step"):
        if out[key] is not None and (np.isnan(out[key]) & ~out["unmeasurable"][..., : out[key].shape[2]]).any():
            raise FloatingPointError(
                f"internal error: {key} holds NaN at entries not flagged as unmeasurable; "
                "please report this with the command that produced it"
            )
