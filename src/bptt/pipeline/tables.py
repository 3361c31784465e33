"""Column names, types and meanings of the pipeline's Parquet tables, in one place.

`bptt.pipeline.collect` writes results/gradients.parquet (KEYS + STEP: one row per
grid point, seed and step) and results/summary.parquet (KEYS + FIT + SEED +
REGIME + SHAPE: one row per grid point and seed); `bptt.pipeline.spectrum` writes
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
    (
        "gate_bias",
        pa.string(),
        "bias of the LSTM's forget gate or the GRU's update gate, as a label: the number spelled canonically "
        "(0, 1, -0.5), chrono (LSTM), or none for rnn; never null, so a groupby keeps every row",
    ),
    (
        "gate_bias_value",
        pa.float64(),
        "the same bias as a number (filter with == 1.0); null (NaN in pandas) for chrono and for rnn",
    ),
    ("seq_len", pa.int64(), "sequence length T"),
    ("seed", pa.int64(), "replicate seed"),
)

STEP = _fields(
    ("step", pa.int64(), "time step k, 0-based; T-1 is the last step"),
    ("lag", pa.int64(), "T-1-k, steps between k and the loss"),
    ("log10_grad_h", pa.float64(), "median over the batch of log10 ‖dL/dh_k‖"),
    (
        "log10_grad_h_relative",
        pa.float64(),
        "log10_grad_h minus its value at lag 0 (step T-1) of the same point and seed: log10 of how much of the "
        "last step's gradient reaches step k; NaN where either is not measurable",
    ),
    ("log10_grad_c", pa.float64(), "the same for the LSTM cell state c_k; null for rnn and gru"),
    (
        "log10_jac",
        pa.float64(),
        "median over the batch of log10 ‖d s_{T-1} / d s_k‖₂ (s = h, or (h, c) for the LSTM)"
        "; measured at lags 0..32, round(32·10^(i/8)) for i ≥ 1 and T-1 "
        "(bptt.core.jacobian.measured_lags), null at the other lags",
    ),
    ("log10_dW_hh_contrib", pa.float64(), "median over the batch of log10 of the norm of step k's term of dL/dU"),
    (
        "gamma_step",
        pa.float64(),
        "median over the first jacobian_batch sequences of gamma_k = ‖diag f'(z_k) U‖₂ "
        "(for gated cells the norm of the one-step state Jacobian); linear scale"
        "; measured at lags 0..32, round(32·10^(i/8)) for i ≥ 1 and T-1 "
        "(bptt.core.jacobian.measured_lags), null at the other lags",
    ),
    (
        "log10_pascanu_bound",
        pa.float64(),
        "lag * log10(gamma_bound * spectral_norm): Pascanu et al.'s bound on log10 ||d h_{T-1}/d h_k||, "
        "for rnn only (null for gated cells, which it does not bound)",
    ),
    (
        "log10_source_grad",
        pa.float64(),
        "loss_at every: median over t of log10 ||dL_t/dh_{t-lag}|| over the first jacobian_batch sequences; "
        "null for last",
    ),
    (
        "log10_lag_grad",
        pa.float64(),
        "loss_at every: log10 ||G_lag||_F, the part of dL/dU carried by dependencies lag steps long; null for last",
    ),
)

SEED = _fields(
    ("log10_grad_norm_weight_ih", pa.float64(), "log10 Frobenius norm of dL/dW (weight_ih), summed over the batch"),
    ("log10_grad_norm_weight_hh", pa.float64(), "log10 Frobenius norm of dL/dU (weight_hh), summed over the batch"),
    ("log10_grad_norm_bias_ih", pa.float64(), "log10 norm of dL/d bias_ih, summed over the batch"),
    ("log10_grad_norm_bias_hh", pa.float64(), "log10 norm of dL/d bias_hh, summed over the batch"),
    ("spectral_radius", pa.float64(), "measured spectral radius of U (candidate-path block for gated cells)"),
    ("spectral_norm", pa.float64(), "largest singular value sigma_max of the same block"),
    ("gamma_bound", pa.float64(), "sup of abs(f') over the activation's domain"),
    (
        "pascanu_bound",
        pa.float64(),
        "gamma_bound * spectral_norm, Pascanu's per-step bound factor; rnn only (null for gated cells)",
    ),
    (
        "overflow",
        pa.bool_(),
        "true if this seed's forward pass overflowed float64; the norms then cover the steps before it",
    ),
    (
        "overflow_step",
        pa.int64(),
        "first step k with a non-finite state; -1 if none (never null, so it loads as int64)",
    ),
    (
        "unmeasurable_steps",
        pa.int64(),
        "steps before any overflow whose norms are NaN: below float64's range at saturated gates, never reported as 0",
    ),
    ("loss", pa.float64(), "mean over the batch of the per-sequence loss (with loss_at every, summed over the steps)"),
    ("loss_at", pa.string(), "last (one loss on the last state) or every (the seed's L = sum_t L_t)"),
)

FIT = _fields(
    (
        "decay_rate",
        pa.float64(),
        "10**slope of the least-squares line of log10_grad_h against lag (every measurable lag): "
        "the fitted per-step factor; with loss_at every, of log10_source_grad (the total's does not decay)",
    ),
    ("timescale", pa.float64(), "steps per factor e: -1/ln(decay_rate); inf if decay_rate >= 1 (as float64 rounds it)"),
    (
        "log10_end_to_end",
        pa.float64(),
        "log10_grad_h at step 0 minus at step T-1 (with loss_at every, log10_source_grad at lag T-1 minus at lag 0)",
    ),
)

REGIME = _fields(
    ("regime", pa.string(), "vanishing, stable or exploding (thresholds: Regime, in docs/outputs.md); null if T = 1"),
)

# What each seed's curve does beyond its one fitted rate (bptt.pipeline.collect.shape).
SHAPE = _fields(
    (
        "log10_first_step",
        pa.float64(),
        "log10_grad_h at lag 1 minus at lag 0 (with loss_at every, of log10_source_grad): decades gained, "
        "or lost if negative, in the first step back; NaN if T = 1 or not measurable",
    ),
    (
        "decay_rate_after_first",
        pa.float64(),
        "10**slope of the least-squares line of the same against lag over every measurable lag >= 1: "
        "the per-step factor after the first step",
    ),
    ("kept_lag", pa.int64(), "the lag log10_kept is taken at: 100, or T-1 if T <= 100"),
    (
        "log10_kept",
        pa.float64(),
        "the same at lag kept_lag minus at lag 0: log10 of the share of the last step's gradient kept "
        "kept_lag steps back (-inf: exactly zero there); NaN if T = 1 or not measurable",
    ),
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
        ("activation", pa.string(), "the activation f of the cell's candidate path"),
        ("radius", pa.float64(), "spectral radius rho of U"),
        ("on_grid", pa.bool_(), "true for the grid's radii; false for the points of the smooth curve between them"),
        ("q_star", pa.float64(), "mean-field fixed point of the pre-activation variance; inf where none exists"),
        ("chi1", pa.float64(), "mean-field factor per step of the squared gradient norm"),
        ("rate", pa.float64(), "predicted factor per step of ||dL/dh_k||, sqrt(chi1)"),
        ("critical_radius", pa.float64(), "rho where the predicted rate is 1, the edge of chaos"),
        ("large_h", pa.int64(), "hidden size of the large-network measurement (its input size too)"),
        ("large_h_rate", pa.float64(), "rate measured with bptt's core at large_h units and inputs (grid radii only)"),
        ("cell", pa.string(), "rnn, lstm or gru (bptt.theory.meanfield for rnn, bptt.theory.gated for the others)"),
        ("gate_bias", pa.string(), "the gated cell's gate bias as the grid spells it; null for rnn"),
        ("transient_rate", pa.float64(), "the LSTM's fast mode per step (its transient); 0 for the GRU; null for rnn"),
        ("dmft_rate", pa.float64(), "dynamical mean field's rate over large_h_rate's window: median over 3 seeds"),
        ("dmft_spread", pa.float64(), "range of dmft_rate over its Monte Carlo seeds (gated rows, grid radii)"),
    )
)

# bptt.pipeline.every_step: one network per cell with the seed's loss at every step (seed 0).
_DRAWN = [f for f in KEYS if f.name != "seed"]
EVERY_STEP_PAIRS = pa.schema(
    _DRAWN
    + _fields(
        ("t", pa.int64(), "the step of the loss term L_t"),
        ("k", pa.int64(), "the step of the state h_k, k <= t"),
        ("log10_source_grad_h", pa.float64(), "median over the batch of log10 ||dL_t/dh_k||; null where unmeasurable"),
    )
)
EVERY_STEP_LAGS = pa.schema(
    _DRAWN
    + _fields(
        ("lag", pa.int64(), "tau: for the sources, t - k; for the total, T-1-k"),
        ("log10_source_grad", pa.float64(), "median over t and the batch of log10 ||dL_t/dh_{t-tau}||"),
        (
            "log10_lag_grad",
            pa.float64(),
            "log10 ||G_tau||_F, the part of dL/dU (summed over the batch) carried by dependencies tau steps long",
        ),
        ("log10_grad_h", pa.float64(), "median over the batch of log10 ||dL/dh_k|| of L = sum_t L_t, at k = T-1-tau"),
    )
)

GRADIENTS = pa.schema(KEYS + STEP)
SUMMARY = pa.schema(KEYS + FIT + SEED + REGIME + SHAPE)


def write(table: pa.Table, path: str) -> None:
    """Write `table` to Parquet at `path`, atomically."""
    with atomic.replacing(path) as tmp:
        pq.write_table(table, tmp)


# ---------------------------------------------------------------------------------------------
# Training experiments (bptt.train; written by bptt.pipeline.collect_training). Kept apart from the
# tables above: results/training.parquet (TRAINING_KEYS + EVALUATION, one row per evaluation of a
# run), results/training_summary.parquet (TRAINING_KEYS + MODEL + OUTCOME, one row per run), and
# Pascanu's cliff: results/training_cliff_surface.parquet and results/training_cliff_paths.parquet.
# ---------------------------------------------------------------------------------------------

TRAINING_KEYS = _fields(
    (
        "task",
        pa.string(),
        "adding (target: the sum of two marked values) or recall (the class of the first of T symbols)",
    ),
    ("model", pa.string(), "the model's name in config.yaml's training.models"),
    ("seq_len", pa.int64(), "sequence length T"),
    ("clip", pa.float64(), "gradient-norm clipping threshold c; null: no clipping"),
    ("seed", pa.int64(), "replicate seed"),
)

EVALUATION = _fields(
    ("step", pa.int64(), "training steps taken before this evaluation (0: at initialisation)"),
    (
        "loss",
        pa.float64(),
        "loss on the seed's fixed held-out batch: MSE for adding (chance 1/6), cross-entropy for recall (chance log C)",
    ),
    ("metric", pa.float64(), "on the same batch: MSE for adding (chance 1/6), accuracy for recall (chance 1/C)"),
    (
        "grad_norm",
        pa.float64(),
        "largest global gradient norm ‖g‖ before clipping over the training steps since the previous "
        "evaluation (so no spike is lost between evaluations); null at step 0",
    ),
    (
        "clipped",
        pa.int64(),
        "clipping events (steps with ‖g‖ > clip) since the previous evaluation; 0 without clipping",
    ),
)

MODEL = _fields(
    ("cell", pa.string(), "recurrent cell: rnn, lstm or gru"),
    ("activation", pa.string(), "candidate-path nonlinearity f"),
    ("recurrent_init", pa.string(), "how U's blocks were drawn: orthogonal, gaussian or identity (the IRNN)"),
    ("radius", pa.float64(), "spectral radius rho U was scaled to"),
    (
        "gate_bias",
        pa.string(),
        "the LSTM's forget-gate or the GRU's update-gate bias, as a label: a number, chrono, or none for rnn; "
        "never null",
    ),
    ("gate_bias_value", pa.float64(), "the same bias as a number; null (NaN in pandas) for chrono and for rnn"),
)

OUTCOME = _fields(
    ("final_loss", pa.float64(), "held-out loss at the last step; null if the run diverged"),
    ("final_metric", pa.float64(), "held-out metric at the last step; null if the run diverged"),
    ("chance_loss", pa.float64(), "the task's chance loss: 1/6 (adding), log C (recall)"),
    ("chance_metric", pa.float64(), "the task's chance metric: MSE 1/6 (adding), accuracy 1/C (recall)"),
    (
        "solved",
        pa.bool_(),
        "final_metric within solved_fraction of chance's distance from perfect: MSE <= f/6, or 1 - accuracy "
        "<= f (1 - 1/C)",
    ),
    (
        "steps_to_solve",
        pa.int64(),
        "first evaluation step from which every evaluation meets the solved criterion; null unless solved",
    ),
    (
        "diverged",
        pa.bool_(),
        "true if a training loss, gradient or parameter, or a held-out loss, was not finite; the run stopped there",
    ),
    ("diverged_step", pa.int64(), "the step at which the run diverged; null if it did not"),
    ("clipped_steps", pa.int64(), "steps whose gradient was clipped, over the whole run"),
    ("max_grad_norm", pa.float64(), "largest ‖g‖ before clipping over the run (inf: beyond float64)"),
)

CLIFF_SURFACE = pa.schema(
    _fields(
        ("w", pa.float64(), "recurrent weight w of the one-unit sigmoid RNN h_t = sigma(w h_{t-1} + b)"),
        ("b", pa.float64(), "its bias b"),
        ("loss", pa.float64(), "L = (h_{T-1} - target)^2 from h_{-1} = 0"),
        ("seq_len", pa.int64(), "T"),
        ("target", pa.float64(), "the target of h_{T-1}"),
    )
)

CLIFF_PATHS = pa.schema(
    _fields(
        ("start", pa.int64(), "which starting point (w_0, b_0) the path leaves from"),
        ("clip", pa.float64(), "clipping threshold c of the path; null: no clipping"),
        ("learning_rate", pa.float64(), "the plain SGD step size"),
        ("step", pa.int64(), "SGD steps taken"),
        ("w", pa.float64(), "w after `step` steps"),
        ("b", pa.float64(), "b after `step` steps"),
        ("loss", pa.float64(), "L at (w, b)"),
        ("grad_norm", pa.float64(), "‖dL/d(w, b)‖ at (w, b), before clipping"),
        ("clipped", pa.bool_(), "the step leaving (w, b) was clipped (false at the last step)"),
    )
)

TRAINING = pa.schema(TRAINING_KEYS + EVALUATION)
TRAINING_SUMMARY = pa.schema(TRAINING_KEYS + MODEL + OUTCOME)


# ---------------------------------------------------------------------------------------------
# The clipping study (written by bptt.pipeline.collect_clipping): results/clipping.parquet
# (CLIPPING_KEYS + CLIPPING_MODEL + CLIPPING_OUTCOME, one row per run) and results/clipping_traces.parquet
# (CLIPPING_TRACES, one row per SGD step of every unperturbed run).
# ---------------------------------------------------------------------------------------------

CLIPPING_KEYS = _fields(
    ("model", pa.string(), "the model's name in config.yaml's clipping.models"),
    ("optimizer", pa.string(), "sgd: plain SGD, no momentum (Pascanu et al.'s setting)"),
    ("learning_rate", pa.float64(), "SGD's learning rate"),
    ("clip", pa.string(), "off, or the clipping threshold c as config.yaml spells it canonically ('10')"),
    ("seed", pa.int64(), "replicate seed"),
    (
        "perturbation",
        pa.float64(),
        "0 for the run itself; for its rerun, the relative size of the perturbation of the initial weights",
    ),
)

CLIPPING_MODEL = (
    _fields(
        ("clip_threshold", pa.float64(), "the clipping threshold c as a number; null: no clipping"),
        ("seq_len", pa.int64(), "length T of the adding problem"),
    )
    + MODEL
)

CLIPPING_OUTCOME = _fields(
    ("initial_loss", pa.float64(), "held-out MSE at initialisation (chance: 1/6)"),
    ("final_loss", pa.float64(), "held-out MSE after the last step; null if the run left float64"),
    (
        "nonfinite_step",
        pa.int64(),
        "the step at which a training loss, gradient or weight, or the held-out loss, left float64 and the run "
        "stopped; null if it did not",
    ),
    (
        "diverged",
        pa.bool_(),
        "the run left float64, or its final_loss exceeds divergence_factor times its initial_loss",
    ),
    ("max_grad_norm", pa.float64(), "largest ‖g‖ before clipping over the run (inf: beyond float64)"),
    ("steps", pa.int64(), "SGD steps the run took: clipping.steps, or up to the one at which it left float64"),
    ("clipped_steps", pa.int64(), "steps whose gradient was clipped (‖g‖ > c), over the run; 0 without clipping"),
)

CLIPPING_TRACES = pa.schema(
    _fields(
        ("model", pa.string(), "the model's name in config.yaml's clipping.models"),
        ("learning_rate", pa.float64(), "SGD's learning rate"),
        ("clip", pa.string(), "off, or the clipping threshold c as config.yaml spells it canonically"),
        ("seed", pa.int64(), "replicate seed (unperturbed runs only)"),
        ("step", pa.int64(), "SGD step k = 1 .. steps; a run that left float64 ends at that step"),
        ("grad_norm", pa.float64(), "‖g‖ of step k's batch before clipping"),
        ("clipped", pa.bool_(), "step k's gradient was clipped to norm c"),
        ("train_loss", pa.float64(), "the MSE of step k's batch, before its update"),
    )
)

CLIPPING = pa.schema(CLIPPING_KEYS + CLIPPING_MODEL + CLIPPING_OUTCOME)
# bptt.audit (rule audit, `python -m bptt.audit`): a user's own network, one row per model, layer, quantity,
# summary over sequences and lag (docs/audit.md).
AUDIT = pa.schema(
    _fields(
        ("model", pa.string(), "the model's name in the audit section"),
        ("kind", pa.string(), "rnn, lstm or gru, inferred from weight_hh_l0's rows"),
        ("activation", pa.string(), "the candidate nonlinearity: tanh, or relu for an nn.RNN built with it"),
        ("n_layers", pa.int64(), "number of layers (num_layers), from the keys"),
        ("layer", pa.int64(), "layer l, 0 = the one reading the inputs"),
        (
            "quantity",
            pa.string(),
            "state: log10 ||v^T dh_{T-1}/dh_k^(l)|| along random unit directions v at the top layer's last state; "
            "state_c: the same for the LSTM's c_k^(l); loss_h, loss_c: log10 ||dL/dh_k^(l)||, ||dL/dc_k^(l)|| for "
            "the user's head and loss (dL/dc as autograd's c.grad); jacobian (optional): "
            "log10 ||ds_{T-1}^(l)/ds_k^(l)||_2 of layer l's own recurrence (s = h, or (h, c) for the LSTM)",
        ),
        (
            "summary",
            pa.string(),
            "median, q25, q75, min or max over sequences (and directions, for state; the first audit.jacobian "
            "sequences for jacobian)",
        ),
        ("step", pa.int64(), "time step k, 0-based"),
        ("lag", pa.int64(), "T-1-k"),
        ("log10_norm", pa.float64(), "that summary of the quantity at this lag, log10; -inf an exact zero"),
        ("unmeasurable_fraction", pa.float64(), "fraction of sequences whose value here lost its digits (excluded)"),
        ("seq_len", pa.int64(), "T, steps of the user's sequences"),
        ("sequences", pa.int64(), "sequences summarised (B, times directions for state and state_c)"),
        ("weights_dtype", pa.string(), "the dtypes the file stored (float16 and bfloat16 are upcast to float64)"),
        (
            "timescale",
            pa.float64(),
            "median over sequences of -1/ln(decay_rate), decay_rate = 10**(least-squares slope against lag); inf "
            "where it does not decay",
        ),
        ("timescale_q25", pa.float64(), "first quartile of the same over sequences"),
        ("timescale_q75", pa.float64(), "third quartile of the same over sequences"),
    )
)

# ---------------------------------------------------------------------------------------------
# The trainability study (bptt.pipeline.trainability; written by bptt.pipeline.collect_trainability):
# results/trainability.parquet, one row per run; results/trainability_summary.parquet, one per task and model.
# ---------------------------------------------------------------------------------------------
_TIMESCALE = (
    "steps per factor e of the median over the batch of ||dL/dh_k|| against the lag, on the task's own inputs "
    "and loss (the core's lag profile, the first 32 held-out sequences); inf if it does not decay"
)
TRAINABILITY = pa.schema(
    _fields(
        ("task", pa.string(), "adding (chance MSE 1/6) or recall (the first of T symbols; chance accuracy 1/C)"),
        ("model", pa.string(), "the model's name in config.yaml's trainability.models"),
        ("learning_rate", pa.float64(), "Adam's learning rate of the run"),
        ("seed", pa.int64(), "replicate seed: the network, its batches and its held-out batch"),
        ("seq_len", pa.int64(), "sequence length T, a rung of the task's ladder"),
        (
            "run",
            pa.string(),
            "study; perturbed (initial weights times 1 + e z, the robustness test); budget (more steps)",
        ),
        ("steps", pa.int64(), "the run's step budget"),
        ("timescale_init", pa.float64(), "gradient timescale at initialisation: " + _TIMESCALE),
        ("timescale_trained", pa.float64(), "the same at the end of training (when solved, at the solving step)"),
        (
            "initial_loss",
            pa.float64(),
            "held-out loss at initialisation: MSE (adding, chance 1/6) or cross-entropy (recall, chance log C)",
        ),
        ("final_loss", pa.float64(), "held-out loss at the run's last evaluation (its solving one if solved)"),
        ("final_metric", pa.float64(), "held-out metric there: MSE (adding) or accuracy (recall)"),
        (
            "solved",
            pa.bool_(),
            "an evaluation met the solved criterion (metric within solved_fraction of chance's distance from perfect)",
        ),
        (
            "steps_to_solve",
            pa.int64(),
            "the step of the first evaluation that met it (the run stopped there); null unless solved",
        ),
        ("diverged", pa.bool_(), "a loss, gradient or parameter stopped being finite; the run was frozen there"),
    )
)
TRAINABILITY_SUMMARY = pa.schema(
    _fields(
        ("task", pa.string(), "adding or recall"),
        ("model", pa.string(), "the model's name in config.yaml's trainability.models"),
        (
            "learning_rate",
            pa.float64(),
            "the chosen learning rate: most solved runs over the ladder, then lowest mean final held-out loss at the "
            "rungs every rate trained (a rate climbs a rung only where one of its seeds solved the rung below)",
        ),
        (
            "longest_solved",
            pa.int64(),
            "longest T at which at least half of the seeds solved, at the chosen rate; 0: none",
        ),
        (
            "longest_solved_low",
            pa.float64(),
            "2.5th percentile of longest_solved over bootstrap resamples of the seeds",
        ),
        ("longest_solved_high", pa.float64(), "97.5th percentile of the same"),
        ("timescale_init", pa.float64(), "median timescale_init of the chosen rate's runs over seeds and lengths"),
        ("timescale_trained", pa.float64(), "median timescale_trained of the same runs"),
        (
            "budget_rungs_moved",
            pa.int64(),
            "1 if the rung above longest_solved is solved at budget_factor times the steps, else 0; "
            "null at the ladder's top",
        ),
        (
            "perturbed_flips",
            pa.int64(),
            "perturbed reruns whose solved differs from the study's run; null if none was rerun",
        ),
        ("perturbed_runs", pa.int64(), "perturbed reruns of the model"),
    )
)
