"""Synthetic trainability tables with the contract's columns: each model's seeds solve every rung up
to its own longest length LONGEST[(task, model)] at one learning rate (0.01) and none at the others,
so tests can predict the chosen rate, the longest solved length and the rank correlation. The
timescale at initialisation is TAU[model] for every run; runs of the budget check solve the rung above
for the models in MOVES; perturbed runs repeat the study's except for FLIP."""

import numpy as np
import pandas as pd

from bptt.pipeline import collect_trainability

LADDER = (4, 8, 16)
RATES = (0.001, 0.01, 0.1)
SEEDS = 5
SPECS = {
    "elman": {"cell": "rnn", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 0.5, "gate_bias": 0.0},
    "irnn": {"cell": "rnn", "activation": "relu", "recurrent_init": "identity", "radius": 1.0, "gate_bias": 0.0},
    "lstm_b1": {"cell": "lstm", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": 1.0},
    "gru_b0": {"cell": "gru", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": 0.0},
}
TAU = {"elman": 1.5, "irnn": 40.0, "lstm_b1": 6.0, "gru_b0": 3.0}
LONGEST = {("adding", "elman"): 0, ("adding", "irnn"): 4, ("adding", "lstm_b1"): 16, ("adding", "gru_b0"): 8}
MOVES = {("adding", "gru_b0")}
FLIP = ("adding", "elman", 0.01, 0, 4)


def runs() -> pd.DataFrame:
    rows = []
    for (task, model), longest in LONGEST.items():
        for lr in RATES:
            for seed in range(SEEDS):
                for n in LADDER:
                    solved = lr == 0.01 and n <= longest
                    rows.append((task, model, lr, seed, n, "study", 100, solved))
                    if n == LADDER[0]:
                        flipped = (task, model, lr, seed, n) == FLIP
                        rows.append((task, model, lr, seed, n, "perturbed", 100, solved != flipped))
            above = [n for n in LADDER if n > longest]
            if lr == 0.01 and above:
                for seed in range(SEEDS):
                    rows.append((task, model, lr, seed, above[0], "budget", 200, (task, model) in MOVES))
    table = pd.DataFrame(rows, columns=["task", "model", "learning_rate", "seed", "seq_len", "run", "steps", "solved"])
    return table.assign(
        timescale_init=table["model"].map(TAU),
        timescale_trained=table["model"].map(TAU) * 1.5,
        initial_loss=0.2,
        final_loss=np.where(table["solved"], 0.01, 0.17),
        final_metric=np.where(table["solved"], 0.01, 0.17),
        steps_to_solve=pd.array([50 if s else None for s in table["solved"]], dtype="Int64"),
        diverged=False,
    )


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    table = runs()
    return table, collect_trainability.summary(table)
