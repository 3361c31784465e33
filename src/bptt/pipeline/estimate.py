"""What a config will cost on the machine at hand, estimated at planning time before any job starts.

A job's time is its steps times the cost of one step of its stack of networks: the gradient
(a few matrix products of the whole batch with U, O(M B G H^2)), the Jacobian diagnostics (for
M x jacobian_batch sequences, a product of n x n matrices and two symmetric eigenvalue
problems, O(n^3) each, n = H or 2H) and numpy's fixed cost per call. Each term is timed here,
on this machine, at the config's own sizes (the eigenvalue problems at n <= 96 and scaled as
n^3 beyond, to keep planning quick), and the jobs are shared among the cores.
"""

import time

import numpy as np

from bptt.pipeline import grid, study_cost

# numpy calls per step of the backward and forward sweep, at a few microseconds each.
CALLS_PER_STEP = 40
_MEASURED_N = 96


def _seconds(fn, repeat: int = 3) -> float:
    """The smallest of `repeat` timings of fn()."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def step_costs(hidden_size: int, samples: int, n_blocks: int, state_parts: int) -> dict[str, float]:
    """Seconds per step: "call" (one numpy call), "gradient" (products of `samples` sequences with U)
    and "jacobian" (per sequence: the n x n product and two eigenvalue problems), measured here."""
    rng = np.random.default_rng(0)
    n = state_parts * hidden_size
    small = np.ones(4)
    h, u = rng.standard_normal((samples, hidden_size)), rng.standard_normal((hidden_size, n_blocks * hidden_size))
    m = min(n, _MEASURED_N)
    gram = rng.standard_normal((8, m, m))
    gram = gram @ gram.transpose(0, 2, 1)
    eig = _seconds(lambda: np.linalg.eigvalsh(gram)) / 8 * (n / m) ** 3
    product = _seconds(lambda: gram @ gram) / 8 * (n / m) ** 3
    return {
        "call": _seconds(lambda: small * small),
        "gradient": 5 * _seconds(lambda: h @ u),  # forward, backward and the weight-gradient products
        "jacobian": 2 * eig + 2 * product,
    }


def estimate(config: dict, cores: int) -> dict:
    """Estimated seconds of the experiment jobs of `config` on `cores` cores, and the part each term takes."""
    kinds = {"rnn": (1, 1), "lstm": (4, 2), "gru": (3, 1)}  # blocks of U, parts of the state
    parts = {"call": 0.0, "gradient": 0.0, "jacobian": 0.0}
    batch, seeds, jacobians = config["batch_size"], config["seeds"], config["jacobian_batch"]
    for cell in config["grid"]["cell"]:
        models = len(grid.points(config["grid"], cell)) * seeds
        if not models:
            continue
        cost = step_costs(config["hidden_size"], models * batch, *kinds[cell])
        steps = len(config["grid"]["activation"]) * sum(config["grid"]["seq_len"])
        parts["call"] += steps * CALLS_PER_STEP * cost["call"]
        parts["gradient"] += steps * cost["gradient"]
        parts["jacobian"] += steps * models * jacobians * cost["jacobian"]
    if "trainability" in config:  # the study's training jobs (bptt.pipeline.study_cost)
        parts["training"] = study_cost.seconds(config["trainability"])
    total = sum(parts.values()) / max(cores, 1)
    return {"seconds": total, "shares": {k: v / max(sum(parts.values()), 1e-12) for k, v in parts.items()}}


def warning(config: dict, cores: int, limit: float = 600.0) -> str | None:
    """A message naming the estimate and what drives it when the experiments would take over `limit` s."""
    found = estimate(config, cores)
    if found["seconds"] <= limit:
        return None
    shares = found["shares"]
    n = config["hidden_size"] * (2 if "lstm" in config["grid"]["cell"] else 1)
    text = (
        f"bptt: this config's experiments are estimated at {found['seconds'] / 60:.0f} minutes on this machine "
        f"with {cores} core(s). Of that, the Jacobian diagnostics take {shares['jacobian']:.0%} "
        f"({config['jacobian_batch']} sequence(s) per seed, {n} x {n} matrices at every step; they grow like "
        f"hidden_size^3) and the gradients {shares['gradient']:.0%}."
    )
    if shares["jacobian"] > 0.5:
        text += " Set jacobian_batch: 0 (or 1) in config.yaml to cut most of it."
    return text + " Press Ctrl-C now to change the config; finished jobs are kept either way."
