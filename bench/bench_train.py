"""Training benchmark (run by `make bench`; prints its figures).

1. Wall time of the training rules alone, from empty results: `snakemake --cores 2` with the four
   training tables as targets, in a fresh copy of this checkout with its config.yaml (the workflow
   tests' copy and environment, as bench_pipeline uses), median of REPEATS runs (argument 1,
   default 3; 0 skips this part), beside the target of issue 12 (the default training grid adds at most 120 s to a
   full run). Also the sum of the train jobs' CPU times (benchmark files) and the load average
   before and after each run: the machine is shared, and other people's jobs lengthen ours.
2. One training step of the adding problem (forward pass, loss, exact BPTT gradients, clipping at
   c = 1, an Adam update) with bptt's numpy engine (`bptt.train.loop.loss_and_grads`, `optim`)
   against PyTorch CPU (torch.set_num_threads(1), float64, nn.LSTM + nn.Linear, autograd,
   clip_grad_norm_, torch.optim.Adam) on the same model and batch: the default training size and
   a larger one, timed in interleaved rounds, median of the rounds' ratios. If torch cannot be
   imported, this part says so and is skipped.
Everything runs in one BLAS thread.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import csv  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = pathlib.Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests" / "workflow"))
import workflow_helpers  # noqa: E402

from bptt.pipeline import paths  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
TARGETS = (paths.TRAINING, paths.TRAINING_SUMMARY, paths.TRAINING_CLIFF_SURFACE, paths.TRAINING_CLIFF_PATHS)
TARGET_SECONDS = 120.0
CORES = 2
# (hidden size H, batch B, length T): the default training size at its longest adding length, and a larger one.
SHAPES = ((16, 16, 60), (64, 32, 100))
ROUNDS, STEPS = 5, 5


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def training_run(parent: pathlib.Path) -> tuple[float, float, int, str, str]:
    """(wall s, sum of train jobs' CPU s, train jobs, load before, load after) of one run from empty results."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    copy = workflow_helpers.pristine_copy(pathlib.Path(tempfile.mkdtemp(dir=parent)) / "copy", config)
    before = load()
    start = time.perf_counter()
    workflow_helpers.snakemake(copy, "--cores", str(CORES), *TARGETS)
    wall = time.perf_counter() - start
    cpu = []
    for tsv in (copy / "benchmarks" / "train").rglob("*.tsv"):
        with tsv.open() as file:
            cpu += [float(row["cpu_time"]) for row in csv.DictReader(file, delimiter="\t")]
    return wall, sum(cpu), len(cpu), before, load()


def bench_workflow(repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [training_run(pathlib.Path(tmp)) for _ in range(repeats)]
    walls = [r[0] for r in runs]
    print(
        f"default training grid, {runs[0][2]} train jobs + collect_training, --cores {CORES}, "
        f"{repeats} runs from empty results:"
    )
    for i, (wall, cpu, _, before, after) in enumerate(runs):
        print(
            f"  run {i + 1}: wall {wall:.1f} s, train jobs' CPU {cpu:.1f} s, "
            f"load average before {before}, after {after}"
        )
    verdict = "within" if statistics.median(walls) <= TARGET_SECONDS else "OVER"
    print(f"  median wall {statistics.median(walls):.1f} s; target <= {TARGET_SECONDS:.0f} s: {verdict}")


def numpy_step(h, b, t, rng):
    """A closure running one bptt training step (LSTM, adding problem) on fixed data."""
    from bptt.core import cells
    from bptt.train import loop, optim, tasks

    task = tasks.get("adding")
    cell = cells.as_stack(cells.make("lstm", input_size=2, hidden_size=h, activation="tanh", radius=1.0, rng=rng))
    params = dict(cell.params) | {
        "readout_weight": rng.standard_normal((1, 1, h)) / np.sqrt(h),
        "readout_bias": np.zeros((1, 1)),
    }
    x, target = tasks.batch(task, rng, t, b)
    x, target = x[:, None], target[None]
    state = {"params": params, "optim": optim.init_state("adam", params)}

    def step():
        _, grads = loop.loss_and_grads("lstm", "tanh", state["params"], task, x, target)
        grads, _, _ = optim.clip(grads, 1.0)
        state["params"], state["optim"] = optim.update("adam", state["params"], grads, state["optim"], 0.01)

    return step, x[:, 0], target[0]


def torch_step(h, x, target):
    """The same step in PyTorch: nn.LSTM and nn.Linear in float64, autograd, clip_grad_norm_, Adam."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm, linear = torch.nn.LSTM(2, h).double(), torch.nn.Linear(h, 1).double()
    params = list(lstm.parameters()) + list(linear.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)

    def step():
        opt.zero_grad()
        _, (h_n, _) = lstm(xt)
        loss = ((linear(h_n[-1]) - tt) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return step, torch.__version__


def per_step(step) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    return (time.perf_counter() - start) / STEPS


def bench_step() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        print(
            "one training step against PyTorch: SKIPPED (torch is not importable in this environment; "
            "pip install torch to run it)"
        )
        return
    for h, b, t in SHAPES:
        ours, x, target = numpy_step(h, b, t, np.random.default_rng(0))
        theirs, version = torch_step(h, x, target)
        rounds = [(per_step(ours), per_step(theirs)) for _ in range(ROUNDS)]
        ratio = statistics.median(a / c for a, c in rounds)
        print(f"one Adam training step, LSTM H={h} B={b} T={t} I=2, float64, 1 thread, {ROUNDS} interleaved rounds:")
        print(
            f"  bptt numpy {statistics.median(a for a, _ in rounds) * 1e3:.1f} ms, PyTorch {version} "
            f"{statistics.median(c for _, c in rounds) * 1e3:.1f} ms per step; bptt / PyTorch = {ratio:.2f} "
            "(median of the rounds' ratios)"
        )


if __name__ == "__main__":
    bench_step()
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if repeats:
        bench_workflow(repeats)
