"""Synthetic clipping-study tables (results/clipping.parquet and clipping_traces.parquet) whose findings are
known exactly.

Two models, learning rates 0.01, 0.1 and 1, clip off or "10", seeds 0-3, seeds 0-1 rerun perturbed by 1e-12:
  - big: Elman tanh at rho = 1.5. Without clipping every seed diverges from 0.1 on (stable up to 0.01);
    with clipping only at 1 (stable up to 0.1): clipping widens the range by a factor of 10.
  - irnn: without clipping seed 0 diverges already at 0.01 (no stable range), the others from 0.1 on;
    with clipping no run diverges (stable at every rate tried).
  - the perturbed reruns keep their verdicts, except those named in `flipped`.
Each unperturbed run's trace has 5 steps of ‖g‖ = 1, 1, 2, 3, 4, except that an unclipped run that diverged
jumps to 1e6 at step 3 and leaves float64 after step 4; a clipped run is clipped at step 3, where ‖g‖ = 50.
"""

import numpy as np
import pandas as pd

RATES = (0.01, 0.1, 1.0)
SEEDS = (0, 1, 2, 3)
PERTURBED = (0, 1)
MODELS = {
    "big": {"cell": "rnn", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.5},
    "irnn": {"cell": "rnn", "activation": "relu", "recurrent_init": "identity", "radius": 1.0},
}


def verdict(model: str, clip: str, lr: float, seed: int) -> bool:
    """Whether the unperturbed run diverged (see the module docstring)."""
    if model == "big":
        return lr >= (1.0 if clip != "off" else 0.1)
    return clip == "off" and (lr >= 0.1 or seed == 0)


def tables(flipped: tuple = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, traces) with the columns of tables.CLIPPING and tables.CLIPPING_TRACES; `flipped` lists
    (model, clip, learning_rate, seed) whose perturbed rerun gets the opposite verdict."""
    rows, steps = [], []
    for model, spec in MODELS.items():
        for clip in ("off", "10"):
            for lr in RATES:
                for seed, perturbation in [(s, 0.0) for s in SEEDS] + [(s, 1e-12) for s in PERTURBED]:
                    bad = verdict(model, clip, lr, seed)
                    if perturbation and (model, clip, lr, seed) in flipped:
                        bad = not bad
                    nonfinite = bad and clip == "off"
                    rows.append(
                        {
                            "model": model,
                            "optimizer": "sgd",
                            "learning_rate": lr,
                            "clip": clip,
                            "seed": seed,
                            "perturbation": perturbation,
                            "clip_threshold": None if clip == "off" else 10.0,
                            "seq_len": 6,
                            **spec,
                            "gate_bias": "none",
                            "gate_bias_value": None,
                            "initial_loss": 1.0,
                            "final_loss": None if nonfinite else (50.0 if bad else 0.1),
                            "nonfinite_step": 5 if nonfinite else None,
                            "diverged": bad,
                            "max_grad_norm": 1e6 if nonfinite else 50.0 if clip != "off" else 4.0,
                            "steps": 4 if nonfinite else 5,
                            "clipped_steps": 0 if clip == "off" else 1,
                        }
                    )
                    if perturbation:
                        continue
                    norm = [1.0, 1.0, 2.0, 3.0, 4.0]
                    if nonfinite:
                        norm = [1.0, 1.0, 1e6, 1e7]
                    elif clip != "off":
                        norm[2] = 50.0
                    steps.append(
                        pd.DataFrame(
                            {
                                "model": model,
                                "learning_rate": lr,
                                "clip": clip,
                                "seed": seed,
                                "step": np.arange(1, len(norm) + 1),
                                "grad_norm": norm,
                                "clipped": [clip != "off" and n > 10 for n in norm],
                                "train_loss": 0.5,
                            }
                        )
                    )
    runs = pd.DataFrame(rows).astype({"nonfinite_step": "Int64"})
    return runs, pd.concat(steps, ignore_index=True)
