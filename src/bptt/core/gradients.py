"""Exact backpropagation through time, with every norm carried in log10.

Loss: L = sum(dh_last * h_{T-1}), so dL/dh_{T-1} = dh_last (B, H). Step k is
0-based; lag = T - 1 - k. One forward pass and one backward sweep give:

  lag_profile(cell, x, dh_last) -> (T, B)  log10 ||dL/dh_k|| per sample, where
      dL/dh_k is the full adjoint of h_k (for the LSTM, through c as well)
  param_grads(cell, x, dh_last) -> dict    dL/dtheta, same keys/shapes as cell.params,
      summed over the batch
  lag_profile_and_grads(cell, x, dh_last)  both of the above from one pass
  profile(cell, x, dh_last) -> Profile     everything the experiment records (below)

Log space: the backward sweep divides the adjoint by its norm at every step and
adds log10 of that norm to a per-sample running scale, so no lag underflows or
overflows. Param grads are summed from the rescaled per-step gradients with one
matrix product per chunk of steps, also in log space, and are exact float64
values; where a gradient itself exceeds float64's range (exploding gradients
over a long sequence) its entries are +-inf, Profile.param_grads_overflow says
so, Profile.log10_grad_norm still holds its exact log10 norm, and
param_grads() warns.

Memory: long sequences are cut into equal chunks of at most TRACE_BYTES of
stored trace; only each chunk's initial state is kept from the first forward
pass, and a chunk's trace is recomputed when the backward sweep reaches it (the
last chunk's is kept). Cost is linear in T.

Overflow: if the forward pass produces a non-finite state (a linear or ReLU
network with rho > 1 over a long sequence), let s be the first such step. The
result is flagged (Profile.overflow, Profile.overflow_step = s), the sequence is
cut before s (gradients are those of L = sum(dh_last * h_{s-1}) over steps
0..s-1), rows s..T-1 of the per-step arrays are NaN (no finite state exists
there), and lag_profile / param_grads, which carry no flag, warn (RuntimeWarning).
If s = 0 nothing is finite: every row and every param grad is NaN.

Profile fields (per-step arrays are (T, B): row k = step k, one column per sample):
  log10_grad_h          log10 ||dL/dh_k||
  log10_grad_c          log10 ||dL/dc_k|| for the LSTM (adjoint of c_k as part of the state s_k =
                        (h_k, c_k), i.e. through c_{k+1}; -inf at k = T-1), None otherwise
  log10_jac             log10 ||d s_{T-1} / d s_k||_2, s = h or (h, c) for the LSTM
  log10_dW_hh_contrib   log10 ||step k's term of dL/dW_hh||_F = log10 ||dL/d(U h_{k-1})|| ||h_{k-1}||
                        (-inf at k = 0: h_{-1} = 0)
  gamma_step            gamma_k = ||d s_k / d s_{k-1}||_2 (= ||diag f'(z_k) U||_2 for the RNN), linear scale
  param_grads           dict like cell.params: dL/dtheta summed over the batch
  param_grads_overflow  True if some entry of param_grads exceeds float64 (it is then +-inf)
  log10_grad_norm       dict name -> log10 of the Frobenius norm of param_grads[name]
                        (computed in log space: finite even where param_grads overflow)
  gamma_bound           sup |f'| of the activation
  spectral_radius       max |eigenvalue| of the candidate-path block of U (all of U for the RNN)
  spectral_norm         sigma_max of that block; Pascanu's per-step factor is gamma_bound * spectral_norm
  overflow, overflow_step   see above; overflow_step = -1 when there is none
"""

import warnings
from typing import NamedTuple

import numpy as np

from bptt.core import activations, backward, cells, initialisation, logscale

# Largest trace (forward values and gradient buffers) held at once, in bytes.
TRACE_BYTES = 512 * 2**20
# (B, H) arrays held per step while a chunk is processed: the trace, the dL/da_t
# buffer and the two weighted copies (of h and x) of the final matrix products.
_ARRAYS_PER_STEP = {"rnn": 4, "lstm": 9, "gru": 11}


class Profile(NamedTuple):
    log10_grad_h: np.ndarray
    log10_grad_c: np.ndarray | None
    log10_jac: np.ndarray
    log10_dW_hh_contrib: np.ndarray
    gamma_step: np.ndarray
    param_grads: dict[str, np.ndarray]
    param_grads_overflow: bool
    log10_grad_norm: dict[str, float]
    gamma_bound: float
    spectral_radius: float
    spectral_norm: float
    overflow: bool
    overflow_step: int


def lag_profile(cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray) -> np.ndarray:
    """log10 ||dL/dh_k|| for x (T, B, I), dh_last (B, H): (T, B)."""
    return _warned(_sweep(cell, x, dh_last, jacobian=False), grads=False)["log10_grad_h"]


def param_grads(cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray) -> dict[str, np.ndarray]:
    """dL/dtheta summed over the batch, for x (T, B, I), dh_last (B, H): dict like cell.params."""
    return _warned(_sweep(cell, x, dh_last, jacobian=False), grads=True)["param_grads"]


def lag_profile_and_grads(
    cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(lag_profile, param_grads) from one forward and one backward pass."""
    out = _warned(_sweep(cell, x, dh_last, jacobian=False), grads=True)
    return out["log10_grad_h"], out["param_grads"]


def _warned(out: dict, *, grads: bool) -> dict:
    """Warn about what a result without flags hides: forward overflow, and (if grads) inf grads."""
    if out["overflow_step"] >= 0:
        warnings.warn(
            f"forward pass overflowed at step {out['overflow_step']}: results cover the steps before it "
            "(later rows are NaN); use bptt.core.gradients.profile for the flag",
            RuntimeWarning,
            stacklevel=3,
        )
    if grads and out["param_grads_overflow"]:
        warnings.warn(
            "some parameter gradients exceed float64's range and are +-inf; "
            "bptt.core.gradients.profile gives their exact log10 norms (log10_grad_norm)",
            RuntimeWarning,
            stacklevel=3,
        )
    return out


def profile(cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray) -> Profile:
    """Everything in the module docstring's Profile list, in one forward and backward pass.

    The Jacobian products cost O(T B (kH)^3) (k = 2 for the LSTM): meant for H up to ~100.
    """
    out = _sweep(cell, x, dh_last, jacobian=True)
    u = cells.candidate_block(cell)
    return Profile(
        log10_grad_h=out["log10_grad_h"],
        log10_grad_c=out["log10_grad_c"],
        log10_jac=out["log10_jac"],
        log10_dW_hh_contrib=out["log10_dW_hh_contrib"],
        gamma_step=out["gamma_step"],
        param_grads=out["param_grads"],
        param_grads_overflow=out["param_grads_overflow"],
        log10_grad_norm=out["log10_grad_norm"],
        gamma_bound=activations.get(cell.activation).gamma_bound,
        spectral_radius=initialisation.spectral_radius(u),
        spectral_norm=float(np.linalg.norm(u, 2)),
        overflow=out["overflow_step"] >= 0,
        overflow_step=out["overflow_step"],
    )


def check_inputs(cell, x, dh_last) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, I) and dh_last (B, H) as float64; ValueError naming what is wrong."""
    if not isinstance(cell, cells.Cell):
        raise ValueError(
            f"cell must be a bptt.core.cells.Cell (from cells.make or cells.from_params), got {type(cell).__name__}"
        )
    try:
        x = np.asarray(x, dtype=np.float64)
        dh_last = np.asarray(dh_last, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x and dh_last must be numeric arrays: {err}") from None
    isz, hsz = cell.input_size, cell.hidden_size
    if x.ndim != 3 or x.shape[2] != isz:
        raise ValueError(f"x must have shape (T, B, input_size={isz}), got {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must have T >= 1 steps and B >= 1 samples, got shape {x.shape}")
    if dh_last.shape != (x.shape[1], hsz):
        raise ValueError(f"dh_last must have shape (B={x.shape[1]}, hidden_size={hsz}), got {dh_last.shape}")
    for name, a in (("x", x), ("dh_last", dh_last)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite (it holds NaN or inf)")
    return x, dh_last


def chunk_length(cell: cells.Cell, batch: int, n_steps: int | None = None) -> int:
    """Steps per chunk so that one chunk's trace stays within TRACE_BYTES; given n_steps,
    the chunks are made equal (T = 2000 in chunks of 1820 would become 1000 + 1000)."""
    per_step = 8 * batch * cell.hidden_size * _ARRAYS_PER_STEP[cell.kind]
    size = max(1, TRACE_BYTES // per_step)
    if n_steps is None:
        return size
    n_chunks = -(-n_steps // size)
    return -(-n_steps // n_chunks)


def _first_nonfinite(cell: cells.Cell, tr: dict) -> int:
    """First step (within the trace) whose state holds a non-finite value; -1 if none."""
    states = [tr["h"][1:]] + ([tr["c"][1:]] if cell.kind == "lstm" else [])
    with np.errstate(over="ignore", invalid="ignore"):
        if all(np.isfinite(a.sum()) for a in states):  # one cheap pass; a huge finite sum only costs the exact check
            return -1
    ok = np.logical_and.reduce([np.isfinite(a).all(axis=(1, 2)) for a in states])
    return -1 if ok.all() else int(np.argmin(ok))


def _sweep(cell, x, dh_last, *, jacobian: bool) -> dict:
    x, dh_last = check_inputs(cell, x, dh_last)
    n_steps, batch, _ = x.shape
    kind = cell.kind
    size = chunk_length(cell, batch, n_steps)

    # Pass 1: forward through all chunks, keeping each chunk's initial state (and the
    # last chunk's trace). At most one trace is alive at a time: `del` frees it.
    starts, overflow_step, kept = [], -1, {}
    state = cells.zero_state(cell, batch)
    for s in range(0, n_steps, size):
        starts.append(state)
        kept.clear()
        tr = cells.trace(cell, x[s : s + size], state)
        bad = _first_nonfinite(cell, tr)
        if bad >= 0:
            overflow_step = s + bad
            del tr
            break
        state, kept[s] = cells.final_state(cell, tr), tr
        del tr
    n_ok = n_steps if overflow_step < 0 else overflow_step

    nan = np.full((n_steps, batch), np.nan)
    out = {
        "log10_grad_h": nan.copy(),
        "log10_grad_c": nan.copy() if kind == "lstm" else None,
        "overflow_step": overflow_step,
    }
    if jacobian:
        out.update(log10_dW_hh_contrib=nan.copy(), log10_jac=nan.copy(), gamma_step=nan.copy())
    # dL/dtheta as (mantissa, log10 scale) per parameter; NaN when no step is finite.
    grads = {k: (np.zeros_like(v) if n_ok else np.full_like(v, np.nan), -np.inf) for k, v in cell.params.items()}
    # Pass 2: backward, chunk by chunk from the last; the adjoint and its log10 scale carry over.
    act = activations.get(cell.activation)
    adj = (dh_last.copy(), np.zeros_like(dh_last)) if kind == "lstm" else (dh_last.copy(),)
    log_scale = np.zeros(batch)
    jac = _jacobian_start(cell, batch) if jacobian else None
    for s in reversed(range(0, n_ok, size)):
        e = min(s + size, n_ok)
        tr = kept.pop(s) if s in kept and e == n_steps else cells.trace(cell, x[s:e], starts[s // size])
        adj, log_scale, chunk_grads = _backward_chunk(cell, act, tr, x[s:e], adj, log_scale, jac, out, s)
        del tr
        grads = {k: logscale.add(*grads[k], *chunk_grads[k]) for k in grads}
    out["param_grads"] = {k: logscale.to_linear(m, sc) for k, (m, sc) in grads.items()}
    out["param_grads_overflow"] = any(np.isinf(g).any() for g in out["param_grads"].values())
    with np.errstate(divide="ignore"):
        out["log10_grad_norm"] = {k: float(np.log10(np.linalg.norm(m)) + sc) for k, (m, sc) in grads.items()}
    return out


class _Jacobian(NamedTuple):
    """d s_{T-1}/d s_t = p * 10**scale: p (B, n, n), scale (B,); plus the identity's rows split
    like the state ((B, n, H) per part) and a (B, n, N_OUT, H) buffer, for one backward step."""

    p: np.ndarray
    scale: np.ndarray
    rows: tuple[np.ndarray, ...]
    buf: np.ndarray


def _jacobian_start(cell: cells.Cell, batch: int) -> _Jacobian:
    """d s_{T-1}/d s_{T-1} = I, n = H or 2H."""
    hsz = cell.hidden_size
    n = (2 if cell.kind == "lstm" else 1) * hsz
    eye = np.eye(n)
    rows = tuple(np.broadcast_to(eye[:, j : j + hsz], (batch, n, hsz)) for j in range(0, n, hsz))
    buf = np.empty((batch, n, backward.N_OUT[cell.kind], hsz))
    return _Jacobian(np.repeat(eye[None], batch, axis=0), np.zeros(batch), rows, buf)


def _backward_chunk(cell, act, tr, x, adj, log_scale, jac, out, s):
    """Backward sweep over one chunk (K steps); fills rows s..s+K-1 of `out`.

    adj: the adjoint of the chunk's last state divided by 10**log_scale (B,);
    jac: the Jacobian product (profile only, else None), updated in
    place. Returns the adjoint of the state before the chunk and its scale, and
    the chunk's param grads as (mantissas, log10 scale).
    """
    kind, u = cell.kind, cell.params["weight_hh"]
    step = backward.STEP[kind]
    da = backward.grad_buffer(kind, tr)  # (K, B, G', H): dL/da_t, in the scale of step t
    n, batch = da.shape[:2]
    sq_h, norms = np.empty((n, batch)), np.empty((n, batch))
    sq_c = np.empty_like(sq_h) if kind == "lstm" else None
    for t in reversed(range(n)):
        at_t = backward.at(kind, tr, t)
        if jac is not None:
            _jacobian_step(cell, act, at_t, jac, out, s + t)
        sq_h[t] = np.einsum("bh,bh->b", adj[0], adj[0])  # ||dL/dh_t||^2, in the current scale
        sq = sq_h[t]
        if sq_c is not None:
            sq_c[t] = np.einsum("bh,bh->b", adj[1], adj[1])  # ||dL/dc_t||^2
            sq = sq + sq_c[t]
        norms[t] = logscale.safe_scale(np.sqrt(sq))
        adj = tuple(a / norms[t][:, None] for a in adj)  # renormalise: the scale moves to log space
        adj = step(u, act, at_t, adj, da[t])  # dL/da_t into da[t]; returns the adjoint of s_{t-1}
    with np.errstate(divide="ignore"):
        scales = logscale.suffix_log_scales(np.log10(norms), log_scale)  # log10 scale of da[t]
    after = np.concatenate([scales[1:], log_scale[None]])  # log10 scale of the adjoint entering step t
    rows = slice(s, s + n)
    out["log10_grad_h"][rows] = logscale.log10_norm(sq_h, after)
    if sq_c is not None:
        out["log10_grad_c"][rows] = logscale.log10_norm(sq_c, after)
    hh, ih = (_blocks(da, b) for b in (backward.HH_BLOCKS[kind], backward.IH_BLOCKS[kind]))
    h_prev = tr["h"][:-1]
    if "log10_dW_hh_contrib" in out:
        # ||outer(dL/da_t, h_{t-1})||_F = ||dL/da_t|| ||h_{t-1}|| per sample.
        with np.errstate(divide="ignore"):
            log_h = np.log10(logscale.row_norms(h_prev.reshape(n * batch, -1))).reshape(n, batch)
        out["log10_dW_hh_contrib"][rows] = logscale.log10_norm(np.einsum("kbgh,kbgh->kb", hh, hh), scales + log_h)
    # Sum over steps and samples: one matrix product per parameter, in log space.
    flat = n * batch
    d_hh, d_ih, log_w = hh.reshape(flat, -1), ih.reshape(flat, -1), scales.reshape(flat)
    grads = {
        "weight_ih": logscale.weighted_outer_sum(d_ih, x.reshape(flat, -1), log_w),  # sum_t dL/da_t^T x_t
        "weight_hh": logscale.weighted_outer_sum(d_hh, h_prev.reshape(flat, -1), log_w),  # sum_t dL/da_t^T h_{t-1}
        "bias_ih": logscale.weighted_sum(d_ih, log_w),  # sum_t dL/da_t
        "bias_hh": logscale.weighted_sum(d_hh, log_w),
    }
    return adj, scales[0], grads


def _blocks(da: np.ndarray, blocks: list[int]) -> np.ndarray:
    """da[:, :, blocks] (K, B, len(blocks), H), without a copy when that is all of them."""
    return da if blocks == list(range(da.shape[2])) else da[:, :, blocks]


def _spectral_norm(m: np.ndarray) -> np.ndarray:
    """sigma_max of each matrix in a stack (N, n, n) -> (N,)."""
    return np.linalg.svd(m, compute_uv=False)[:, 0]


def _jacobian_step(cell, act, at_t, jac, out, k):
    """Record log10 ||d s_{T-1}/d s_k||_2 and gamma_k = ||d s_k/d s_{k-1}||_2; advance jac to k-1.

    Rows of a Jacobian are adjoints, so one backward step applied to the
    identity's rows gives J_k = d s_k/d s_{k-1}.
    """
    batch = jac.p.shape[0]
    at_b = {key: v[:, None] for key, v in at_t.items()}
    j_k = np.concatenate(backward.STEP[cell.kind](cell.params["weight_hh"], act, at_b, jac.rows, jac.buf), axis=-1)
    sigma = _spectral_norm(np.concatenate([jac.p, j_k]))  # both norms in one batched call
    out["gamma_step"][k] = sigma[batch:]  # gamma_k = ||J_k||_2
    with np.errstate(divide="ignore"):
        out["log10_jac"][k] = np.log10(sigma[:batch]) + jac.scale  # log10 ||d s_{T-1}/d s_k||_2
    norm = logscale.safe_scale(sigma[:batch])
    jac.scale[:] += np.log10(norm)
    jac.p[...] = (jac.p / norm[:, None, None]) @ j_k  # d s_{T-1}/d s_{k-1} = (d s_{T-1}/d s_k) J_k
