"""The planning-time estimate (bptt.pipeline.estimate) against measured jobs, and what planning costs.

Prints, for a few jobs larger than the tests' (one BLAS thread, as the pipeline runs them): the
estimated and the measured seconds and their ratio (target: within a factor of 3), and the seconds
the estimate of the default config takes (its own timings: the same whatever the sizes). Single
runs on a shared machine: read the ratios, not the speeds.
"""

import argparse
import copy
import pathlib
import time

import yaml
from threadpoolctl import threadpool_limits

from bptt.pipeline import estimate, experiment, theory, train

ROOT = pathlib.Path(__file__).parents[1]


def measured(fn) -> float:
    with threadpool_limits(1):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def experiment_job(cell: str, seq_len: int) -> tuple[float, float]:
    """(estimated, measured) seconds of the default grid's cell/tanh job at seq_len with loss_at every."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    g = config["grid"]
    args = experiment.parse_args(
        f"--cell {cell} --activation tanh --seq-len {seq_len} --radius {' '.join(map(str, g['radius']))}"
        f" --recurrent-init {' '.join(g['recurrent_init'])} --gate-bias {' '.join(map(str, g['gate_bias']))}"
        f" --seeds {config['seeds']} --batch-size {config['batch_size']} --hidden-size {config['hidden_size']}"
        f" --input-size {config['input_size']} --input-scale 1 --loss cross_entropy --num-classes 10"
        f" --jacobian-batch {config['jacobian_batch']} --loss-at every --output unused.npz".split()
    )
    one = copy.deepcopy(config)
    one["grid"] |= {"cell": [cell], "activation": ["tanh"], "seq_len": [seq_len]}
    one["loss_at"] = "every"
    found = estimate.estimate(one, 1)
    shares = found["shares"]
    return found["seconds"] * (1 - shares["theory"] - shares["training"]), measured(lambda: experiment.run(args))


def train_job(cell: str, hidden_size: int) -> tuple[float, float]:
    sizes = dict(hidden_size=hidden_size, batch_size=16, seq_len=60, steps=20, seeds=3, eval_batch_size=128)
    settings = dict(task="adding", model="m", clip="off", cell=cell, activation="tanh", recurrent_init="orthogonal")
    settings |= dict(radius=1.0, gate_bias="0", num_classes=None, optimizer="adam", learning_rate=0.01)
    args = argparse.Namespace(**settings, **sizes, eval_interval=10)
    return estimate.train_seconds(cell, **sizes, eval_interval=10), measured(lambda: train.run(args))


def main() -> None:
    jobs = {
        "experiment rnn/tanh T=600, loss_at every": lambda: experiment_job("rnn", 600),
        "experiment lstm/tanh T=200, loss_at every": lambda: experiment_job("lstm", 200),
        "theory tanh, relu, 3 radii": lambda: (
            estimate.theory_seconds(["tanh", "relu"], 3),
            measured(lambda: theory.theory_table(["tanh", "relu"], [0.9, 1.0, 1.1], 1.0)),
        ),
        "train lstm H=64, adding T=60, 20 steps": lambda: train_job("lstm", 64),
        "train lstm H=256, adding T=60, 20 steps": lambda: train_job("lstm", 256),
        "train rnn H=256, adding T=60, 20 steps": lambda: train_job("rnn", 256),
    }
    for name, job in jobs.items():
        est, took = job()
        print(f"{name}: estimated {est:.2f} s, measured {took:.2f} s, ratio {est / took:.2f} (target within 3x)")
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for cached in (estimate.every_step_costs, estimate.theory_costs, estimate._train_calibration):
        cached.cache_clear()
    start = time.perf_counter()
    estimate.estimate(config, 2)
    print(f"estimate of the default config (its own timings, at planning): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
