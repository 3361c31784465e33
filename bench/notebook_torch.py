"""The notebook baseline: what a user would write in an afternoon with PyTorch instead of using bptt.

    python bench/notebook_torch.py [CONFIG] [--processes 2] [--output notebook_gradients.parquet]
    python bench/notebook_torch.py --compare results/gradients.parquet [--output notebook_gradients.parquet]

For every grid point of CONFIG (default: config.yaml of this checkout) and every seed, it builds the same
weights, inputs, readout and targets as bptt (bptt.pipeline.seeding and bptt.core.cells.make draw them),
runs the cell step by step with PyTorch float64 autograd (weights as leaf tensors, retain_grad() on every
h_k), takes the loss on the readout of the last hidden state (cross-entropy summed over the batch, or half
the squared error) and calls backward(). Recorded per point and seed: the median over the batch of
log10 ||dL/dh_k|| for every step k, the log10 Frobenius norms of the four parameter gradients and the mean
loss over the batch. Grid points are spread over a multiprocessing pool (--processes, default 2); each
worker runs torch in one thread. Everything goes to one Parquet file (--output), one row per point, seed
and step, the per-seed values repeated on each of the seed's rows.

Written plainly on purpose: a loop over time steps, nothing vectorised across seeds or points, no guard
against a forward pass that overflows float64 (bptt cuts the sequence there; here the values become inf
or NaN). torch.nn's cells are not used because they cannot change the candidate activation.

--compare GRADIENTS reads --output and bptt's gradients.parquet (and summary.parquet beside it, if there)
and prints the fraction of rows whose log10 ||dL/dh_k|| agrees within 1e-6, and where it does not.

Only this script imports torch: it is a benchmark-only dependency, not in the lock.
"""

import argparse
import multiprocessing
import pathlib
from functools import partial

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import yaml

from bptt.core import cells
from bptt.pipeline import grid, seeding

KEYS = ["cell", "activation", "radius", "recurrent_init", "gate_bias", "seq_len", "seed"]
PARAM_NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
TOLERANCE = 1e-6  # on log10 ||dL/dh_k||, i.e. a relative difference of about 2.3e-6 in the norm


def linear(z):
    return z


# The candidate-path nonlinearity; gates stay sigmoid.
ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": linear}


def rnn_step(w, act, x_t, h, c):
    h = act(x_t @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"])
    return h, c


def lstm_step(w, act, x_t, h, c):
    # PyTorch's gate order: i, f, g, o.
    i, f, g, o = (x_t @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * act(g)
    return torch.sigmoid(o) * act(c), c


def gru_step(w, act, x_t, h, c):
    # PyTorch's GRU: gate order r, z, n, and b_hn stays inside r * (U_n h + b_hn).
    x_r, x_z, x_n = (x_t @ w["weight_ih"].T + w["bias_ih"]).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w["weight_hh"].T + w["bias_hh"]).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = act(x_n + r * h_n)
    return (1 - z) * n + z * h, c


STEPS = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step}


def points(config):
    """The grid points (cell, activation, radius, recurrent_init, gate_bias, seq_len), as the pipeline has them."""
    g = {**config["grid"], "gate_bias": [grid.gate_bias_text(b) for b in config["grid"]["gate_bias"]]}
    return [
        (cell, activation, radius, init, bias, seq_len)
        for cell, activation, seq_len in grid.jobs(g)
        for radius, init, bias in grid.points(g, cell)
    ]


def run_seed(config, cell, activation, radius, recurrent_init, gate_bias, seq_len, seed):
    """One seed of one grid point: (log10 ||dL/dh_k|| medians over the batch (T,), {log10 norms and loss})."""
    batch, hidden, inputs = config["batch_size"], config["hidden_size"], config["input_size"]
    classes = config["num_classes"]
    params = cells.make(
        cell,
        input_size=inputs,
        hidden_size=hidden,
        activation=activation,
        radius=radius,
        rng=seeding.rng(seed, cell),
        recurrent_init=recurrent_init,
        gate_bias=0.0 if gate_bias is None else (gate_bias if gate_bias == grid.CHRONO else float(gate_bias)),
        chrono_t_max=max(seq_len, 3),
    ).params
    w = {name: torch.tensor(params[name], requires_grad=True) for name in PARAM_NAMES}
    x = torch.from_numpy(seeding.inputs(seed, seq_len, batch, inputs, config["input_scale"]))
    readout = torch.from_numpy(seeding.readout(seed, classes, hidden))
    target = torch.from_numpy(seeding.targets(seed, config["loss"], batch, classes))

    h = torch.zeros(batch, hidden, dtype=torch.float64)
    c = torch.zeros(batch, hidden, dtype=torch.float64)
    hs = []
    for t in range(seq_len):
        h, c = STEPS[cell](w, ACTIVATIONS[activation], x[t], h, c)
        h.retain_grad()
        hs.append(h)

    logits = h @ readout.T
    if config["loss"] == "cross_entropy":
        losses = F.cross_entropy(logits, target, reduction="none")
    else:
        losses = 0.5 * ((logits - target) ** 2).sum(dim=1)
    losses.sum().backward()

    log10_norms = torch.log10(torch.stack([h.grad for h in hs]).norm(dim=2)).numpy()  # (T, B)
    # np.median, not torch.median: for an even batch torch.median returns the lower middle value, not the mean
    # of the two middle ones.
    log10_grad_h = np.median(log10_norms, axis=1)
    per_seed = {f"log10_grad_norm_{name}": torch.log10(w[name].grad.norm()).item() for name in PARAM_NAMES}
    per_seed["loss"] = losses.mean().item()
    return log10_grad_h, per_seed


def run_point(config, point):
    """All seeds of one grid point as a table: one row per seed and step."""
    seq_len = point[-1]
    tables = []
    for seed in range(config["seeds"]):
        log10_grad_h, per_seed = run_seed(config, *point, seed)
        table = pd.DataFrame({"step": np.arange(seq_len), "log10_grad_h": log10_grad_h})
        for name, value in {**dict(zip(KEYS, (*point, seed))), **per_seed}.items():
            table[name] = value
        tables.append(table)
    return pd.concat(tables)[KEYS + ["step", "log10_grad_h", *per_seed]]


def one_thread():
    # Fair to torch: the pool already keeps both cores busy, and at H = 16 intra-op threads would only add
    # synchronisation; bptt's jobs do not thread these small products either.
    torch.set_num_threads(1)


def run(config, processes, output):
    """Every grid point of `config` on a pool of `processes` workers; the table is written to `output`."""
    with multiprocessing.Pool(processes, initializer=one_thread) as pool:
        tables = pool.map(partial(run_point, config), points(config))
    pd.concat(tables, ignore_index=True).to_parquet(output, index=False)


def compare(notebook, gradients):
    """Print how many rows of bptt's `gradients` table agree with the notebook's within TOLERANCE, and where not.

    Rows are matched on cell, activation, radius, seq_len, seed and step; a row present on one side only
    counts as disagreeing. Equal infinities (an exactly zero gradient, log10 = -inf) agree, NaN never does;
    the listing's max_abs_diff is NaN where every disagreeing row of a seed lacks a finite difference.
    If summary.parquet is next to `gradients`, the disagreeing seeds are shown with bptt's regime and
    overflow flag, and the per-seed values (four gradient norms, loss) are compared as well.
    """
    on = KEYS + ["step"]
    ours = pd.read_parquet(notebook)
    theirs = pd.read_parquet(gradients, columns=on + ["log10_grad_h"])
    rows = theirs.merge(ours[on + ["log10_grad_h"]], on=on, how="outer", suffixes=("_bptt", "_notebook"))
    diff = (rows["log10_grad_h_bptt"] - rows["log10_grad_h_notebook"]).abs()
    rows["agree"] = np.isclose(rows["log10_grad_h_bptt"], rows["log10_grad_h_notebook"], rtol=0, atol=TOLERANCE)
    # Equal values differ by 0, also two -inf (whose difference would be NaN).
    rows["diff"] = diff.where(rows["log10_grad_h_bptt"] != rows["log10_grad_h_notebook"], 0.0)
    print(
        f"log10 ||dL/dh_k||: {rows['agree'].sum()} of {len(rows)} rows agree within {TOLERANCE:g} "
        f"({rows['agree'].mean():.4%}); bptt {len(theirs)} rows, notebook {len(ours)} rows"
    )

    bad = (
        rows[~rows["agree"]]
        .groupby(KEYS)
        .agg(rows=("agree", "size"), first_step=("step", "min"), max_abs_diff=("diff", "max"))
        .reset_index()
    )
    summary_path = pathlib.Path(gradients).with_name("summary.parquet")
    if summary_path.exists():
        summary = pd.read_parquet(summary_path)
        bad = bad.merge(summary[KEYS + ["regime", "overflow"]], on=KEYS, how="left")
        compare_per_seed(ours.drop_duplicates(KEYS), summary)
    if len(bad):
        print(f"disagreeing rows by point and seed ({len(bad)}):")
        print(bad.to_string(index=False))


def compare_per_seed(ours, summary):
    """Print how many seeds' gradient norms and loss agree with bptt's summary table, and which do not.

    The log10 norms must agree within TOLERANCE, the loss (linear scale, up to about 1e11 where a linear
    network explodes) within a relative TOLERANCE.
    """
    logs = [f"log10_grad_norm_{name}" for name in PARAM_NAMES]
    seeds = summary[KEYS + logs + ["loss"]].merge(
        ours[KEYS + logs + ["loss"]], on=KEYS, how="outer", suffixes=("_bptt", "_notebook")
    )
    close = [np.isclose(seeds[f"{n}_bptt"], seeds[f"{n}_notebook"], rtol=0, atol=TOLERANCE) for n in logs]
    close.append(np.isclose(seeds["loss_bptt"], seeds["loss_notebook"], rtol=TOLERANCE, atol=0))
    agree = np.all(close, axis=0)
    print(f"per seed (4 parameter-gradient norms and loss): {agree.sum()} of {len(seeds)} seeds agree")
    if not agree.all():
        print(seeds.loc[~agree, KEYS].to_string(index=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=pathlib.Path(__file__).parents[1] / "config.yaml")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--output", default="notebook_gradients.parquet", help="the Parquet file to write or compare")
    parser.add_argument("--compare", metavar="GRADIENTS", help="compare --output with bptt's gradients.parquet")
    args = parser.parse_args()
    if args.compare:
        compare(args.output, args.compare)
    else:
        run(yaml.safe_load(pathlib.Path(args.config).read_text()), args.processes, args.output)


if __name__ == "__main__":
    main()
