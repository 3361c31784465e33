"""Small synthetic training tables with the collected columns, for the report's tests.

Three models (an Elman tanh RNN, an LSTM with forget bias 1, a GRU), two tasks, lengths 10 and 40,
clipping off and at c = 1, two seeds. Who solves what is set by SOLVED below, so the findings are
known: the Elman RNN solves adding at T = 10 only, the LSTM everywhere, the GRU at T = 40 only with
clipping (a gap at T = 10 without it); one LSTM run diverges without clipping (adding, T = 40, seed 1).
Every run's held-out loss falls geometrically from 1 to its final value over steps 0, 10, ..., 50,
and its gradient norm is 1 at every evaluation but one spike of 1000 at step 30 (Elman, adding, T = 40).
"""

import numpy as np
import pandas as pd

MODELS = {
    "tanh": {"cell": "rnn", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": "none"},
    "lstm1": {"cell": "lstm", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": "1"},
    "gru": {"cell": "gru", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": "0"},
}
# (task, model, seq_len, clip) -> seeds solved of 2; anything absent: 0.
SOLVED = {
    ("adding", "tanh", 10, None): 2,
    ("adding", "tanh", 10, 1.0): 1,
    ("adding", "lstm1", 10, None): 2,
    ("adding", "lstm1", 10, 1.0): 2,
    ("adding", "lstm1", 40, None): 1,
    ("adding", "lstm1", 40, 1.0): 2,
    ("adding", "gru", 40, None): 1,
    ("adding", "gru", 40, 1.0): 2,
    ("adding", "gru", 10, 1.0): 2,
    ("recall", "lstm1", 10, None): 2,
    ("recall", "lstm1", 10, 1.0): 2,
    ("recall", "gru", 10, 1.0): 1,
}
DIVERGED = {("adding", "lstm1", 40, None, 1): 35}
STEPS = np.arange(0, 60, 10)
CHANCE = {"adding": (1 / 6, 1 / 6), "recall": (np.log(4), 0.25)}


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, summary) with the columns of results/training.parquet and training_summary.parquet."""
    evaluations, runs = [], []
    for task in ("adding", "recall"):
        for model, spec in MODELS.items():
            for seq_len in (10, 40):
                for clip in (None, 1.0):
                    for seed in (0, 1):
                        solved = seed < SOLVED.get((task, model, seq_len, clip), 0)
                        diverged = DIVERGED.get((task, model, seq_len, clip, seed))
                        final = 0.001 if solved else 0.9 * CHANCE[task][0]
                        steps = STEPS[diverged > STEPS] if diverged else STEPS
                        loss = final ** (steps / STEPS[-1])
                        norm = np.where(steps == 0, np.nan, 1.0)
                        if (task, model, seq_len, clip) == ("adding", "tanh", 40, None):
                            norm = np.where(steps == 30, 1000.0, norm)
                        clipped = np.where((steps > 0) & (clip is not None), 2, 0)
                        evaluations.append(
                            pd.DataFrame(
                                {
                                    "task": task,
                                    "model": model,
                                    "seq_len": seq_len,
                                    "clip": clip,
                                    "seed": seed,
                                    "step": steps,
                                    "loss": loss,
                                    "metric": loss,
                                    "grad_norm": norm,
                                    "clipped": clipped,
                                }
                            )
                        )
                        runs.append(
                            {
                                "task": task,
                                "model": model,
                                "seq_len": seq_len,
                                "clip": clip,
                                "seed": seed,
                                **spec,
                                "gate_bias_value": float("nan")
                                if spec["gate_bias"] == "none"
                                else float(spec["gate_bias"]),
                                "final_loss": None if diverged else final,
                                "final_metric": None if diverged else final,
                                "chance_loss": CHANCE[task][0],
                                "chance_metric": CHANCE[task][1],
                                "solved": solved,
                                "steps_to_solve": 50 if solved else None,
                                "diverged": diverged is not None,
                                "diverged_step": diverged,
                                "clipped_steps": 10 if clip else 0,
                                "max_grad_norm": float(np.nanmax(norm)),
                            }
                        )
    training = pd.concat(evaluations, ignore_index=True).astype({"clip": float})
    summary = pd.DataFrame(runs).astype({"clip": float, "steps_to_solve": "Int64", "diverged_step": "Int64"})
    return training, summary


def cliff() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(surface, paths): a 3 x 2 surface, and one path per clipping setting: steps of 5 (off) and 1 (on)."""
    surface = pd.DataFrame(
        {
            "w": [0.0, 1.0, 2.0] * 2,
            "b": [0.0] * 3 + [1.0] * 3,
            "loss": [0.5, 0.1, 0.01, 0.4, 0.2, 0.3],
            "seq_len": 50,
            "target": 0.7,
        }
    )
    paths = pd.DataFrame(
        {
            "start": 0,
            "clip": [np.nan] * 3 + [0.1] * 3,
            "learning_rate": 10.0,
            "step": [0, 1, 2] * 2,
            "w": [0.0, 3.0, 3.0, 0.0, 0.6, 1.2],
            "b": [0.0, 4.0, 4.0, 0.0, 0.8, 1.6],
            "loss": [0.5, 0.09, 0.09, 0.5, 0.2, 0.01],
            "grad_norm": [0.1, 250.0, 0.001, 0.1, 3.0, 0.5],
            "clipped": [False, False, False, True, True, False],
        }
    )
    return surface, paths
