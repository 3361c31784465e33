"""Column names, types and meanings of the pipeline's Parquet tables, in one place.

`bptt.pipeline.collect` writes results/gradients.parquet (KEYS + STEP: one row per
grid point, seed and step) and results/summary.parquet (KEYS + FIT + SEED +
REGIME: one row per grid point and seed); `bptt.pipeline.spectrum` writes
results/eigenvalues.parquet (EIGENVALUES). Each field carries its meaning as
Parquet field metadata ("description"); the README's tables list the same
columns (tests/pipeline/test_tables.py checks that).
"""

import pyarrow as pa
import pyarrow.parquet as pq

from bptt.pipeline import atomic


def _fields(*columns: tuple[str, pa.DataType, str]) -> list[pa.Field]:
    return [pa.field(name, kind, metadata={"description": text}) for name, kind, text in columns]


KEYS = _fields(
    ("cell", pa.string(), "recurrent cell: rnn, lstm or gru"),
    ("activation", pa.string(), "candidate-path nonlinearity f: tanh, sigmoid, relu or linear"),
    ("radius", pa.float64(), "spectral radius rho of every H x H block of U (each gate's block for lstm and gru)"),
    ("recurrent_init", pa.string(), "how U's blocks were drawn: orthogonal, gaussian or identity (rnn only)"),
    ("gate_bias", pa.string(), "bias of the LSTM's forget gate or the GRU's update gate: a number, or chrono (LSTM); null for rnn"),
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
    ("log10_pascanu_bound", pa.float64(), "lag * log10(gamma_bound * spectral_norm): Pascanu et al.'s bound on log10 ||d h_{T-1}/d h_k||, for rnn only (null for gated cells, which it does not bound)"),
)

SEED = _fields(
    ("log10_grad_norm_weight_ih", pa.float64(), "log10 Frobenius norm of dL/dW (weight_ih), summed over the batch"),
    ("log10_grad_norm_weight_hh", pa.float64(), "log10 Frobenius norm of dL/dU (weight_hh), summed over the batch"),
    ("log10_grad_norm_bias_ih", pa.float64(), "log10 norm of dL/d bias_ih, summed over the batch"),
    ("log10_grad_norm_bias_hh", pa.float64(), "log10 norm of dL/d bias_hh, summed over the batch"),
    ("spectral_radius", pa.float64(), "measured spectral radius of U (candidate-path block for gated cells)"),
    ("spectral_norm", pa.float64(), "largest singular value sigma_max of the same block"),
    ("gamma_bound", pa.float64(), "sup of abs(f') over the activation's domain"),
    ("pascanu_bound", pa.float64(), "gamma_bound * spectral_norm, Pascanu's per-step bound factor; rnn only (null for gated cells)"),
    ("overflow", pa.bool_(), "true if this seed's forward pass overflowed float64; the norms then cover the steps before it"),
    ("overflow_step", pa.int64(), "first step k with a non-finite state; null if none"),
    ("unmeasurable_steps", pa.int64(), "steps before any overflow whose norms are NaN: below float64's range at saturated gates, never reported as 0"),
    ("loss", pa.float64(), "mean over the batch of the per-sequence loss"),
)

FIT = _fields(
    ("decay_rate", pa.float64(), "10**slope of the least-squares line of log10_grad_h against lag (every measurable lag): the fitted per-step factor"),
    ("timescale", pa.float64(), "steps per factor e: -1/ln(decay_rate); inf if decay_rate >= 1 (as float64 rounds it)"),
    ("log10_end_to_end", pa.float64(), "log10_grad_h at step 0 minus log10_grad_h at step T-1"),
)

REGIME = _fields(
    ("regime", pa.string(), "vanishing, stable or exploding (thresholds in the README); null if T = 1"),
)

EIGENVALUES = pa.schema(
    _fields(
        ("init", pa.string(), "recurrent_init of the Elman cell's U: orthogonal or gaussian"),
        ("radius", pa.float64(), "spectral radius rho U was scaled to"),
        ("seed", pa.int64(), "replicate seed (the same U as the experiment's)"),
        ("hidden_size", pa.int64(), "H"),
        ("index", pa.int64(), "which of U's H eigenvalues"),
        ("real", pa.float64(), "real part of the eigenvalue"),
        ("imag", pa.float64(), "imaginary part of the eigenvalue"),
        ("spectral_norm", pa.float64(), "largest singular value of U"),
    )
)

THEORY = pa.schema(
    _fields(
        ("activation", pa.string(), "the Elman cell's activation f"),
        ("radius", pa.float64(), "spectral radius rho of U"),
        ("on_grid", pa.bool_(), "true for the grid's radii; false for the points of the smooth curve between them"),
        ("q_star", pa.float64(), "mean-field fixed point of the pre-activation variance; inf where none exists"),
        ("chi1", pa.float64(), "mean-field factor per step of the squared gradient norm"),
        ("rate", pa.float64(), "predicted factor per step of ||dL/dh_k||, sqrt(chi1)"),
        ("critical_radius", pa.float64(), "rho where the predicted rate is 1, the edge of chaos"),
        ("large_h", pa.int64(), "hidden size of the large-network measurement (its input size too)"),
        ("large_h_rate", pa.float64(), "rate measured with bptt's core at large_h units and inputs (grid radii only)"),
    )
)

GRADIENTS = pa.schema(KEYS + STEP)
SUMMARY = pa.schema(KEYS + FIT + SEED + REGIME)


def write(table: pa.Table, path: str) -> None:
    """Write `table` to Parquet at `path`, atomically."""
    with atomic.replacing(path) as tmp:
        pq.write_table(table, tmp)
