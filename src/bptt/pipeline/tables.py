"""Column names, types and meanings of the pipeline's Parquet tables, in one place.

`bptt.pipeline.collect` writes results/gradients.parquet (KEYS + STEP: one row per
grid point, seed and step) and results/summary.parquet (KEYS + FIT + SEED +
REGIME: one row per grid point and seed). Each field carries its meaning as
Parquet field metadata ("description"); the README's tables list the same
columns (tests/test_tables.py checks that).
"""

import pyarrow as pa
import pyarrow.parquet as pq

from bptt.pipeline import atomic


def _fields(*columns: tuple[str, pa.DataType, str]) -> list[pa.Field]:
    return [pa.field(name, kind, metadata={"description": text}) for name, kind, text in columns]


KEYS = _fields(
    ("cell", pa.string(), "recurrent cell: rnn, lstm or gru"),
    ("activation", pa.string(), "candidate-path nonlinearity f: tanh, sigmoid, relu or linear"),
    ("radius", pa.float64(), "spectral radius rho of U (of its candidate-path block for lstm and gru)"),
    ("seq_len", pa.int64(), "sequence length T"),
    ("seed", pa.int64(), "replicate seed"),
)

STEP = _fields(
    ("step", pa.int64(), "time step k, 0-based; T-1 is the last step"),
    ("lag", pa.int64(), "T-1-k, steps between k and the loss"),
    ("log10_grad_h", pa.float64(), "median over the batch of log10 ‖dL/dh_k‖"),
    ("log10_grad_c", pa.float64(), "the same for the LSTM cell state c_k; null for rnn and gru"),
    ("log10_jac", pa.float64(), "median over the batch of log10 ‖d s_{T-1} / d s_k‖₂ (s = h, or (h, c) for the LSTM)"),
    ("log10_dW_hh_contrib", pa.float64(), "median over the batch of log10 of the norm of step k's term of dL/dU"),
    ("gamma_step", pa.float64(), "median over the batch of gamma_k = ‖diag f'(z_k) U‖₂ (for gated cells the norm of the one-step state Jacobian); linear scale"),
    ("log10_pascanu_bound", pa.float64(), "lag * log10(gamma_bound * spectral_norm): the Pascanu et al. bound on log10 of the gradient ratio"),
)

SEED = _fields(
    ("log10_grad_norm_weight_ih", pa.float64(), "log10 Frobenius norm of dL/dW (weight_ih), summed over the batch"),
    ("log10_grad_norm_weight_hh", pa.float64(), "log10 Frobenius norm of dL/dU (weight_hh), summed over the batch"),
    ("log10_grad_norm_bias_ih", pa.float64(), "log10 norm of dL/d bias_ih, summed over the batch"),
    ("log10_grad_norm_bias_hh", pa.float64(), "log10 norm of dL/d bias_hh, summed over the batch"),
    ("spectral_radius", pa.float64(), "measured spectral radius of U (candidate-path block for gated cells)"),
    ("spectral_norm", pa.float64(), "largest singular value sigma_max of the same block"),
    ("gamma_bound", pa.float64(), "sup of abs(f') over the activation's domain"),
    ("pascanu_bound", pa.float64(), "gamma_bound * spectral_norm, the per-step bound factor"),
    ("overflow", pa.bool_(), "true if this seed's forward pass overflowed float64; the norms then cover the steps before it"),
    ("overflow_step", pa.int64(), "first step k with a non-finite state; null if none"),
    ("loss", pa.float64(), "mean over the batch of the per-sequence loss"),
)

FIT = _fields(
    ("decay_rate", pa.float64(), "10**slope of the least-squares line of log10_grad_h against lag (all finite lags): the fitted per-step factor"),
    ("timescale", pa.float64(), "steps per factor e: -1/ln(decay_rate); inf if decay_rate >= 1"),
    ("log10_end_to_end", pa.float64(), "log10_grad_h at step 0 minus log10_grad_h at step T-1"),
)

REGIME = _fields(
    ("regime", pa.string(), "vanishing, stable or exploding (thresholds in the README); null if T = 1"),
)

GRADIENTS = pa.schema(KEYS + STEP)
SUMMARY = pa.schema(KEYS + FIT + SEED + REGIME)


def write(table: pa.Table, path: str) -> None:
    """Write `table` to Parquet at `path`, atomically."""
    with atomic.replacing(path) as tmp:
        pq.write_table(table, tmp)
