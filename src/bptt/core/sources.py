"""A loss at every step, L = sum_t L_t as in the blog post: the gradient of each source L_t at every earlier
step, the total, and the lag decomposition of dL/dU, all in log10.

dh_all[t] = dL_t/dh_t is the gradient of the step-t loss with respect to h_t alone. The seed's

    dL_t/dh_k = dL_t/dh_t  prod_{tau=k}^{t-1} dh_{tau+1}/dh_tau        (t >= k; 0 for t < k)

is carried back from every source t at once: the sweep holds one adjoint row per source, the
rows of the sources t >= k (source k injected at step k) go through ONE backward step call per
step, stacked like the Jacobian rows of `bptt.core.jacobian` (after the samples B), and one
more row carries the total dL/dh_k = sum_t dL_t/dh_k, the ordinary adjoint of L with
dL_k/dh_k added as step k is reached. Every row is renormalised at every step with a log10
scale of its own, as the adjoint of `bptt.core.gradients` is, so no lag is too long.

The lag decomposition (G_tau = `lag_grad`, docs/api.md): step k of source t adds
outer(dL_t/d(U h_{k-1} + b_hh), h_{k-1}) to dL_t/dU, and sorting these terms by tau = t - k,

    G_tau = sum_k sum_b outer(dL_{k+tau}/d(U h_{k-1} + b_hh), h_{k-1}),     sum_tau G_tau = dL/dU,

summed over the batch. Its terms come from sources of very different scales, so G_tau is
kept as (mantissa, log10 scale), the terms weighted as in `bptt.core.logscale`, and summed a
window of steps at a time (`_add_lag_terms`). G_{T-1} is 0: its one term multiplies h_{-1} = 0.

Precision, with the rules of `bptt.core.gradients` applied to every row: a row whose norm
falls below UNDERFLOW of its input at a saturated step has lost its digits, and its entries
there and at every earlier step are NaN; so is the h part of an LSTM row below UNDERFLOW of
the row at a saturated step. A row that is exactly 0 (a zero dh_all[t], or 0 out of a step
that is not saturated) is carried as an exact zero, scale -inf, and never flagged. Flags are
conservative where a finer rule would need a bound float64 cannot give:
  - the total is a row like the others, and the source added at step k does not restore a
    total that lost its digits, even where that source outweighs the lost part;
  - G_tau is NaN as soon as one of its terms comes from a row without digits, or from a
    dL/da below UNDERFLOW of its unit row at a saturated step.
NaN means exactly this here, never 0; an exact zero (t < k, a zero dh_all[t], ReLU's f' = 0) is -inf.

Overflow: a forward pass whose state leaves float64 is refused with a ValueError; this module
does not cut sequences as `bptt.core.gradients` does.

Cost: O(T^2 B G H^2) per model (G = blocks of U: 1 RNN, 4 LSTM, 3 GRU), T^2/2 rows through the
backward step and as many terms of G_tau: the work of T/2 sweeps of `gradients`, in the time of
30 to 80 (measured at T = 1000, H = 32 and 64, one BLAS thread: 1.4 s for an RNN with B = 4,
H = 32; 5 s for an LSTM). Memory, with
no chunks: the whole trace (T B H `arrays_per_step` floats, one chunk of `gradients`), the
T x T x B pair norms (T = 2000, B = 8: 256 MB), G_tau's T G H^2, the rows of one step
(T B H (2 + G) floats) and the window of G_tau's terms (at most _WINDOW_BYTES, or one step's
T B G H): T up to a few thousand; beyond, the pair norms outgrow memory.
"""

from typing import NamedTuple

import numpy as np

from bptt.core import activations, cells, cellspec, gradients, logscale, precision

_WINDOW_ROWS = 64
_WINDOW_BYTES = 64 * 2**20


class SourceProfile(NamedTuple):
    """For a single cell, T steps, B sequences (a stack has M after the T axes, as in `gradients`):

    log10_source_grad_h  (T, T, B) [t, k, b]: log10 ||dL_t/dh_k||; -inf for t < k (no dependency)
    log10_grad_h         (T, B): log10 ||dL/dh_k||, L = sum_t L_t (for the LSTM through c as well,
                         as `gradients.Profile.log10_grad_h`)
    log10_lag_grad       (T,): log10 ||G_tau||_F for tau = 0..T-1
    lag_grad             (T, G*H, H): G_tau / ||G_tau||_F (0 where G_tau = 0), in U's layout: the
                         mantissa of G_tau = lag_grad[tau] * 10**log10_lag_grad[tau], exact at any
                         scale; `logscale.to_linear(lag_grad, log10_lag_grad)` gives G_tau in float64
                         for a single cell (0 where it is below float64's range)
    NaN in any of them: precision lost at a saturated step (module docstring).
    """

    log10_source_grad_h: np.ndarray
    log10_grad_h: np.ndarray
    log10_lag_grad: np.ndarray
    lag_grad: np.ndarray


def source_profile(cell: cells.Cell, x: np.ndarray, dh_all: np.ndarray, log10_scale=None) -> SourceProfile:
    """The SourceProfile of x (T, B, I) for the losses L_t with dL_t/dh_t = dh_all[t] (T, B, H),
    optionally times 10**log10_scale[t] (T, B) (a loss gradient beyond float64, from `bptt.core.loss`).

    A stack of M takes x (T, M, B, I), dh_all (T, M, B, H) and log10_scale (T, M, B). ValueError
    naming the argument for bad inputs, and for a forward pass whose state leaves float64.
    """
    stacked, single, xs, dhs, scale = gradients.check_inputs(cell, x, dh_all, log10_scale, every_step=True)
    tr = cells.trace(stacked, xs, cells.zero_state(stacked, xs.shape[1:3]))
    overflow = precision.first_nonfinite([tr["h"][1:]] + ([tr["c"][1:]] if stacked.spec.state_parts == 2 else []))
    if (overflow >= 0).any():
        raise ValueError(
            f"x drives the forward pass beyond float64 at step {int(overflow[overflow >= 0].min())} (non-finite "
            "state); source_profile does not cut sequences: use bptt.core.gradients for overflowing ones"
        )
    pairs, total, lag_mantissa, lag_scale, lag_lost = _sweep(stacked, tr, *_unit_sources(dhs, scale))
    log10_lag, direction = _norm_out(lag_mantissa, lag_scale, lag_lost)
    if single:
        pairs, total, log10_lag, direction = pairs[:, :, 0], total[:, 0], log10_lag[:, 0], direction[:, 0]
    return SourceProfile(pairs, total, log10_lag, direction)


def _unit_sources(dh: np.ndarray, log10_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dh_all (T, M, B, H) times 10**log10_scale (T, M, B) as unit rows (zero rows stay 0) and
    their log10 norms: log10 ||dL_t/dh_t||, -inf for a zero row (an exact zero in `logscale.add`)."""
    norm = logscale.row_norms(dh)
    with np.errstate(divide="ignore"):
        return dh / logscale.safe_scale(norm)[..., None], log10_scale + np.log10(norm)


def _sweep(cell: cells.Cell, tr: dict, dh_unit: np.ndarray, dh_log: np.ndarray) -> tuple:
    """The backward sweep of every source and of the total over a finite trace of T steps.

    Rows of the adjoint, (M, B, 1 + S, H) per state part, S = T - k sources at step k: row 0 is the
    total, row 1 + j source t = k + j, so row 1 + j carries lag tau = j. Steps run in windows of
    `_window_steps`, whose terms of G_tau are summed together. Returns the pair norms
    (T, T, M, B), the total's (T, M, B), and G_tau as mantissa (T, M, G*H, H), log10 scale (T, M)
    and lost flag (T, M).
    """
    spec, act = cell.spec, activations.get(cell.activation)
    u = cell.params["weight_hh"]
    factors = spec.coefficients(tr, act)  # (T, M, B, ...) each
    saturated = spec.saturated(tr, act)  # (T, M, B)
    guard = precision.guard_exponents(factors, u, gradients.GUARD_EXPONENT)  # (T, M, B), one per sample for its rows
    h_prev = tr["h"][:-1]  # h_{k-1}, (T, M, B, H)
    n_steps, m, b, hsz = h_prev.shape
    hh = spec.hh
    through_u = cellspec.through_u(spec, u)

    pairs = np.full((n_steps, n_steps, m, b), -np.inf)
    total = np.empty((n_steps, m, b))
    # G_tau^T as mantissa (M, H, T, G*H) (the layout of the product that sums it), log10 scale and lost flag (M, T).
    lag_t, lag_scale, lag_lost = (
        np.zeros((m, hsz, n_steps, u.shape[1])),
        np.full((m, n_steps), -np.inf),
        np.zeros((m, n_steps), dtype=bool),
    )
    # Before the last step only the total exists, and it is 0 (scale -inf: an exact zero).
    rows = tuple(np.zeros((m, b, 1, hsz)) for _ in range(spec.state_parts))
    row_scale, lost = np.full((m, b, 1), -np.inf), np.zeros((m, b, 1), dtype=bool)
    window = _window_steps(n_steps, m, b, u.shape[1])
    for first in range(n_steps - 1, -1, -window):
        steps = np.arange(first, max(first - window, -1), -1)  # k, from the last
        # The window's terms of G_tau, [m, step, b, tau], zero (weight 10**-inf) where tau >= T - k.
        terms = np.zeros((m, len(steps), b, n_steps - steps[-1], u.shape[1]))
        log_w = np.full(terms.shape[:-1], -np.inf)
        for w, k in enumerate(steps):
            n_src = n_steps - k  # sources t = k..T-1
            saturated_after = saturated[k + 1] if k + 1 < n_steps else np.zeros((m, b), dtype=bool)
            rows, row_scale, lost, log_h, unmeasurable = _normalise(rows, row_scale, lost, saturated_after)
            pairs[k + 1 :, k] = np.moveaxis(log_h[..., 1:], -1, 0)  # sources t > k
            rows, row_scale, lost = _inject(rows, row_scale, lost, dh_unit[k], dh_log[k])
            pairs[k, k] = dh_log[k]  # dL_k/dh_k = dh_all[k]
            sq_total = np.einsum("mbh,mbh->mb", rows[0][:, :, 0], rows[0][:, :, 0])
            total[k] = precision.flagged(logscale.log10_norm(sq_total, row_scale[..., 0]), unmeasurable[..., 0])

            da = np.empty((m, b, 1 + n_src, spec.grad_blocks, hsz))  # dL/da_k per row
            if guard[k].any():  # rows divided by 2**guard first, so that their product with U stays in float64
                rows = tuple(np.ldexp(r, -guard[k][..., None, None]) for r in rows)
                row_scale = row_scale + guard[k][..., None] * precision.LOG10_2
            rows = spec.backward_step({key: v[k][:, :, None] for key, v in factors.items()}, rows, da, through_u)
            terms[:, w, :, :n_src] = da[:, :, 1:, hh].reshape(m, b, n_src, -1)  # dL_t/d(U h_{k-1} + b_hh)
            log_w[:, w, :, :n_src] = row_scale[..., 1:]
            # A term from a row without digits, or below UNDERFLOW from a unit row at a saturated step.
            term_lost = precision.digits_lost(saturated[k][..., None], logscale.row_norms(terms[:, w, :, :n_src]))
            lag_lost[:, :n_src] |= (lost[..., 1:] | (term_lost & (row_scale[..., 1:] > -np.inf))).any(axis=1)
        _add_lag_terms(lag_t, lag_scale, terms, log_w, h_prev[steps].swapaxes(0, 1))
    return pairs, total, lag_t.transpose(2, 0, 3, 1), lag_scale.T, lag_lost.T


def _window_steps(n_steps: int, m: int, b: int, rows_u: int) -> int:
    """Steps whose terms of G_tau are summed at once: about _WINDOW_ROWS rows (steps x samples), in a
    buffer (M, steps, B, T, G*H) of at most _WINDOW_BYTES (or one step's). One sum touches all of G's
    T G H^2 entries, as much memory traffic as a product of tens of rows: summed at every step, the
    lag gradients took 4x the time of the backward steps (RNN, H = 64, B = 16)."""
    return max(1, min(-(-_WINDOW_ROWS // b), _WINDOW_BYTES // (8 * n_steps * m * b * rows_u)))


def _normalise(rows: tuple, row_scale: np.ndarray, lost: np.ndarray, saturated_after: np.ndarray) -> tuple:
    """Measure the rows entering h_k, (M, B, R, H) per part with log10 scales (M, B, R), each the output
    of step k+1 from a unit row or an exact zero (scale -inf), and make them unit rows.

    The precision checks of `gradients`, saturated_after (M, B) = was step k+1 saturated: a row
    below UNDERFLOW has lost its digits, here and at every earlier step (`lost`, sticky); an h part
    below UNDERFLOW of its row has lost them here. Returns the unit rows, their scales, lost,
    log10 ||h part|| (M, B, R) (NaN where unmeasurable) and unmeasurable.
    """
    sq_h = np.einsum("mbsh,mbsh->mbs", rows[0], rows[0])  # ||dL_t/dh_k||^2, in the row's scale
    norm = np.sqrt(sq_h + (np.einsum("mbsh,mbsh->mbs", rows[1], rows[1]) if len(rows) == 2 else 0.0))
    after = saturated_after[..., None]
    lost = lost | (precision.digits_lost(after, norm) & (row_scale > -np.inf))  # an exact zero stays exact
    unmeasurable = lost | precision.digits_lost(after, np.sqrt(sq_h), norm)
    log_h = precision.flagged(logscale.log10_norm(sq_h, row_scale), unmeasurable)
    with np.errstate(divide="ignore"):
        row_scale = row_scale + np.log10(norm)  # -inf for a zero row: from here on an exact zero
    return tuple(r / logscale.safe_scale(norm)[..., None] for r in rows), row_scale, lost, log_h, unmeasurable


def _inject(rows: tuple, row_scale: np.ndarray, lost: np.ndarray, dh: np.ndarray, dh_log: np.ndarray) -> tuple:
    """Source k joins the unit rows (M, B, 1 + S, H) of step k: added to the total (row 0) in log
    space, and as row 1 of its own (dL_k/dc_k = 0 for the LSTM). dh (M, B, H) a unit row of
    log10 norm dh_log (M, B). Returns the rows (M, B, 2 + S, H), their scales and lost flags.

    The total's norm is at most 2 then, and its LSTM adjoint of c inside the step at most 4: the
    guard of `gradients` bounds the product with U by 2 * (2^480), far below float64's range.
    """
    m, b = dh.shape[:2]
    source = (dh,) + (np.zeros_like(dh),) * (len(rows) - 1)
    total, scale = logscale.add_state(tuple(r[:, :, 0] for r in rows), row_scale[..., 0], dh, dh_log)
    rows = tuple(
        np.concatenate([t[:, :, None], d[:, :, None], r[:, :, 1:]], axis=2)
        for t, d, r in zip(total, source, rows, strict=True)
    )
    row_scale = np.concatenate([scale[..., None], dh_log[..., None], row_scale[..., 1:]], axis=2)
    return rows, row_scale, np.concatenate([lost[..., :1], np.zeros((m, b, 1), dtype=bool), lost[..., 1:]], axis=2)


def _add_lag_terms(g: np.ndarray, scale: np.ndarray, terms: np.ndarray, log_w: np.ndarray, h_prev: np.ndarray) -> None:
    """A window's terms of G_tau for tau = 0..n-1, added in place to G_tau^T = g[:, :, tau] * 10**scale[:, tau]
    (g (M, H, T, G*H), scale (M, T)): G_tau += sum_{k, b} 10**log_w[m, k, b, tau] outer(terms[m, k, b, tau], h_{k-1}).

    terms (M, W, B, n, G*H) = dL_{k+tau}/d(U h_{k-1} + b_hh) of unit rows for the W steps k of the
    window (overwritten), log_w (M, W, B, n) their log10 scales, h_prev (M, W, B, H) = h_{k-1}.

    `logscale.weighted_outer_sum` then `logscale.add` per tau compute the same, as one small product
    per tau and several passes over all of G; h_{k-1}, the same for every tau, makes it one product
    per window here, added in place. G_tau's scale only grows; its mantissa is rescaled where it does.
    """
    m, w, b, n, rows_u = terms.shape
    norm_h = logscale.row_norms(h_prev)  # (M, W, B)
    with np.errstate(divide="ignore"):
        log_w = log_w + np.log10(norm_h)[..., None]  # ||h_{k-1}|| joins the weights: no product can overflow
    top = np.maximum(scale[:, :n], log_w.max(axis=(1, 2)))  # G_tau's new scale, (M, n)
    grown = (top > scale[:, :n]) & (scale[:, :n] > -np.inf)
    if grown.any():
        mi, ti = np.nonzero(grown)
        g[mi, :, ti] *= 10.0 ** (scale[mi, ti] - top[mi, ti])[:, None, None]
    scale[:, :n] = top
    weights = logscale.weights(log_w.transpose(0, 3, 1, 2).reshape(m * n, w * b), top.reshape(-1))  # (M*n, W*B)
    terms *= weights.reshape(m, n, w, b).transpose(0, 2, 3, 1)[..., None]
    unit_h = (h_prev / logscale.safe_scale(norm_h)[..., None]).reshape(m, w * b, -1)
    # sum_{k, b} outer(h_{k-1}, weighted term) for every tau: (M, H, W*B) @ (M, W*B, n*G*H), contiguous for BLAS.
    g[:, :, :n] += (np.ascontiguousarray(unit_h.swapaxes(1, 2)) @ terms.reshape(m, w * b, -1)).reshape(m, -1, n, rows_u)


def _norm_out(mantissa: np.ndarray, scale: np.ndarray, lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G_tau as (log10 ||G_tau||_F (T, M), G_tau / ||G_tau||_F (T, M, G*H, H)), NaN where lost."""
    norm = logscale.row_norms(mantissa.reshape(*mantissa.shape[:2], -1))  # entries up to ~2^480 (the guard's)
    direction = mantissa / logscale.safe_scale(norm)[..., None, None]
    direction[lost] = np.nan
    with np.errstate(divide="ignore"):
        return precision.flagged(np.log10(norm) + scale, lost), direction
