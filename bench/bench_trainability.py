"""Trainability benchmark (run by `make bench`; prints its figures).

1. One training step per model: bptt's stacked sweep (`bptt.train.loop.fast_loss_and_grads` with the
   engine's arrays kept from step to step, clipping at c = 1 and Adam with one learning rate per
   member, as the study's `bptt.train.loop.train` runs it: M = models x learning
   rates x seeds of the default config's study for that cell kind) against PyTorch training the same
   models one at a time as a user would (torch.nn.LSTM / GRU / RNN over the whole sequence, float64,
   torch.set_num_threads(1), an nn.Linear head, autograd, clip_grad_norm_, torch.optim.Adam), at
   H = 16, B = 16, T = 100 on the adding problem. Rounds interleave the two (ours, theirs, ours, ...);
   the ratio is the median over rounds of (PyTorch's time per model) / (the stack's time / M). Times are
   this process's CPU time (both sides run in one thread), so that others' jobs on a shared machine
   do not count against either side.
   `--rates N`: M as if the study swept N learning rates (the stacks grow with them).
2. Unless given `--engine-only`: the wall time of the study's rules alone, from empty results, in a fresh
   copy of this checkout (`snakemake --cores 2` with the trainability tables as targets), beside the
   load average: the machine is shared, and other people's jobs lengthen ours.
Everything runs in one BLAS thread.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests" / "workflow"))

H, B, T = 16, 16, 100
ROUNDS, STEPS = 5, 3
TORCH = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def members(kind: str, rates: int | None = None) -> int:
    """M of the default study's stack of `kind` (its largest group of that kind), with `rates`
    learning rates in place of the config's when given."""
    study = yaml.safe_load((ROOT / "config.yaml").read_text())["trainability"]
    per_group: dict[str, int] = {}
    for spec in study["models"].values():
        if spec["cell"] == kind:
            key = spec["activation"]
            per_group[key] = per_group.get(key, 0) + 1
    return max(per_group.values()) * (rates or len(study["learning_rates"])) * study["seeds"]


def ours(kind: str, m: int, rng: np.random.Generator):
    """A closure running one stacked training step of m models on fixed data."""
    from bptt.core import cells
    from bptt.train import engine, loop, optim, tasks

    task = tasks.get("adding")
    nets = [cells.make(kind, input_size=2, hidden_size=H, activation="tanh", radius=1.0, rng=rng) for _ in range(m)]
    params = cells.stack(nets).params | {
        "readout_weight": rng.standard_normal((m, 1, H)) / np.sqrt(H),
        "readout_bias": np.zeros((m, 1)),
    }
    drawn = [tasks.batch(task, rng, T, B) for _ in range(m)]
    x, target = np.stack([d[0] for d in drawn], axis=1), np.stack([d[1] for d in drawn])
    rates = np.geomspace(1e-3, 1e-2, m)
    state = {"params": params, "optim": optim.init_state("adam", params)}
    workspace = engine.Workspace()

    def step():
        _, grads = loop.fast_loss_and_grads(kind, "tanh", state["params"], task, x, target, workspace)
        grads, _, _ = optim.clip(grads, 1.0)
        state["params"], state["optim"] = optim.update("adam", state["params"], grads, state["optim"], rates)

    return step, x[:, 0], target[0]


def theirs(kind: str, x: np.ndarray, target: np.ndarray):
    """One PyTorch model's training step on the same batch."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net, linear = getattr(torch.nn, TORCH[kind])(2, H).double(), torch.nn.Linear(H, 1).double()
    params = list(net.parameters()) + list(linear.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)

    def step():
        opt.zero_grad()
        out, _ = net(xt)
        loss = ((linear(out[-1]) - tt) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return step, torch.__version__


def per_step(step) -> float:
    step()  # warm-up
    start = time.process_time()  # CPU time: on a shared machine, wall time counts other people's jobs
    for _ in range(STEPS):
        step()
    return (time.process_time() - start) / STEPS


def bench_engine(rates: int | None = None) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("engine against PyTorch: SKIPPED (torch is not importable in this environment; pip install torch)")
        return
    print(f"one Adam training step per model, H={H} B={B} T={T}, adding problem, float64, 1 thread, {ROUNDS} rounds:")
    for kind in TORCH:
        m = members(kind, rates)
        step, x, target = ours(kind, m, np.random.default_rng(0))
        torch_step, version = theirs(kind, x, target)
        rounds = [(per_step(step) / m, per_step(torch_step)) for _ in range(ROUNDS)]
        ratio = statistics.median(c / a for a, c in rounds)
        print(
            f"  {kind}: bptt stack of M={m} {statistics.median(a for a, _ in rounds) * 1e3:.2f} ms per model, "
            f"PyTorch {version} one at a time {statistics.median(c for _, c in rounds) * 1e3:.2f} ms; "
            f"PyTorch / bptt = {ratio:.1f}x (median of the rounds' ratios; target >= 5x)"
        )


def bench_study() -> None:
    import csv

    import workflow_helpers

    from bptt.pipeline import paths

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        copy = workflow_helpers.pristine_copy(pathlib.Path(tmp) / "copy", config)
        before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        start = time.perf_counter()
        workflow_helpers.snakemake(copy, "--cores", "2", paths.TRAINABILITY, paths.TRAINABILITY_SUMMARY)
        wall = time.perf_counter() - start
        after = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        cpu = 0.0
        for tsv in (copy / "benchmarks").rglob("*.tsv"):
            with tsv.open() as file:
                cpu += sum(float(row["cpu_time"]) for row in csv.DictReader(file, delimiter="\t"))
    print(
        f"the default study alone, --cores 2, from empty results: wall {wall:.1f} s, its jobs' CPU {cpu:.1f} s "
        f"(load average {before} -> {after}); target: the whole default run within 600 s"
    )


def _rates(args: list[str]) -> int | None:
    """The value of --rates, a positive integer, or None without it."""
    if "--rates" not in args:
        return None
    value = args[args.index("--rates") + 1] if args.index("--rates") + 1 < len(args) else ""
    if not value.isdigit() or int(value) < 1:
        sys.exit(f"--rates takes a positive integer (learning rates per stack), got {value!r}")
    return int(value)


if __name__ == "__main__":
    args = sys.argv[1:]
    bench_engine(_rates(args))
    if "--engine-only" not in args:
        bench_study()
