"""Benchmark of the numerical core (run by `make bench`; prints its figures).

1. Forward + lag_profile + param_grads of an LSTM (T=1000, B=32, H=128, I=128,
   float64) in one pass (`gradients.lag_profile_and_grads`): ms per call, the
   ratio to the time of its matrix products alone, and (4.) PyTorch's time, in
   rounds that each time all three (median of 3 calls each), so that all three
   see the same load on a shared machine; then the same at the default grid's
   size (T=200, B=4, H=16, I=8, one network). Each figure is a wall time and the
   process's CPU time (one thread: on a loaded machine the CPU time is the steadier
   of the two). The matrix products alone against PyTorch are the floor of this
   design (numpy, float64, one product per step and direction): printed beside
   the target (bptt at most 0.7x PyTorch at the large size, 1.0x at the default).
2. Cost against T (median ms per call and per step at several T).
3. Peak memory at T=10 000 (same B, H, I), measured in a fresh subprocess with
   tracemalloc (numpy reports its buffers to it) and ru_maxrss.
4. PyTorch CPU autograd on the same computation (LSTMCell loop, retain_grad on
   every h_t, backward), if torch is importable here or in the interpreter named
   by BPTT_TORCH_PYTHON (a subprocess per round); otherwise skipped, and says so.
5. profile() (with Jacobian products) at an experiment-sized LSTM.
Everything runs in one BLAS thread, like the PyTorch comparison.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

T, B, H, I = 1000, 32, 128, 128
DEFAULT = (200, 4, 16, 8)  # the default grid's longest T, batch_size, hidden_size, input_size
ROUNDS = 3
TARGETS = {(T, B, H, I): 0.7, DEFAULT: 1.0}


def median_seconds(fn, repeats):
    """Median wall seconds of `repeats` calls of fn, after a warm-up (first-touch page faults, BLAS set-up)."""
    return median_times(fn, repeats)[0]


def median_times(fn, repeats):
    """(median wall seconds, median CPU seconds of this process) of `repeats` calls of fn, after a warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def problem(n_steps, seed=0, size=None):
    """An LSTM, x and dh_last at T = n_steps and size (B, H, I) (default the large one)."""
    from bptt.core import cells

    b, h, i = size or (B, H, I)
    rng = np.random.default_rng(seed)
    cell = cells.make("lstm", input_size=i, hidden_size=h, activation="tanh", radius=1.0, rng=rng)
    return cell, rng.standard_normal((n_steps, b, i)), rng.standard_normal((b, h))


def matmuls_only(cell, x):
    """The matrix products of forward + backward with the shapes the core uses."""
    W, U = cell.params["weight_ih"], cell.params["weight_hh"]
    u_t = U.T
    b, h = x.shape[1], U.shape[1]
    hs = np.ones((b, h))
    da = np.ones((b, 4 * h))
    xs = x.reshape(-1, x.shape[2])
    h_all = np.ones((xs.shape[0], h))
    das = np.ones((xs.shape[0], 4 * h))

    def run():
        xs @ W.T
        for _ in range(x.shape[0]):
            hs @ u_t
        for _ in range(x.shape[0]):
            da @ U
        _ = (xs.T @ das).T  # the orientation gradients uses (the faster one)
        _ = (h_all.T @ das).T

    return run


def torch_command(size):
    """How to run child_torch at size (T, B, H, I): in an interpreter that has torch (common.torch_python); None
    if there is none."""
    # Imported here: the --torch child may run in an interpreter without common's dependencies (yaml).
    from common import torch_python

    python = torch_python()
    return [python, __file__, "--torch", *map(str, size)] if python else None


def bench_main(size):
    """Rounds of (bptt, its matrix products, PyTorch) at size (T, B, H, I), so that all three see the same load.
    Returns the median of the rounds' ratios bptt / PyTorch in CPU time (None without torch)."""
    from bptt.core import gradients

    n_steps, b, h, i = size
    cell, x, dh = problem(n_steps, size=(b, h, i))
    cmd = torch_command(size)
    repeats = 3 if n_steps * b * h >= 10**6 else 20
    rounds = []
    for _ in range(ROUNDS):
        full = median_times(lambda: gradients.lag_profile_and_grads(cell, x, dh), repeats=repeats)
        mm = median_times(matmuls_only(cell, x), repeats=repeats)
        if cmd is None:
            rounds.append((full, mm, None))
            continue
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        m = json.loads(res.stdout.strip().splitlines()[-1])
        rounds.append((full, mm, (m["seconds"], m["cpu"]), m["version"]))
    print(
        f"LSTM T={n_steps} B={b} H={h} I={i}, forward + lag_profile + param_grads (one pass), {ROUNDS} rounds "
        f"(median of {repeats} calls each; wall / CPU ms):"
    )
    for k, (full, mm, tt, *_) in enumerate(rounds):
        line = (
            f"  round {k + 1}: bptt {full[0] * 1e3:.0f} / {full[1] * 1e3:.0f}, its matrix products alone "
            f"{mm[0] * 1e3:.0f} / {mm[1] * 1e3:.0f}"
        )
        print(line + (f", PyTorch {tt[0] * 1e3:.0f} / {tt[1] * 1e3:.0f}" if tt else ""))
    if cmd is None:
        print(
            "  PyTorch comparison: SKIPPED (torch is not importable; set BPTT_TORCH_PYTHON to an "
            "interpreter that has torch to run it)"
        )
        return None
    ratio = {j: statistics.median(r[0][j] / r[2][j] for r in rounds) for j in (0, 1)}
    floor = {j: statistics.median(r[1][j] / r[2][j] for r in rounds) for j in (0, 1)}
    target = TARGETS[size]
    print(
        f"  PyTorch {rounds[0][3]} CPU autograd, 1 thread (LSTMCell loop, retain_grad on every h_t): "
        f"bptt / PyTorch {ratio[0]:.2f} wall, {ratio[1]:.2f} CPU (medians of the rounds' ratios; target <= {target}: "
        f"{'met' if ratio[1] <= target else 'missed'}); floor: the matrix products alone are {floor[0]:.2f} wall, "
        f"{floor[1]:.2f} CPU of PyTorch's time"
    )
    print(
        f"RATIO core T={n_steps} B={b} H={h}: {ratio[1]:.2f} (bptt / PyTorch autograd, CPU; target <= {target}; "
        f"floor of its matrix products {floor[1]:.2f})"
    )
    return ratio[1]


def bench_linear_in_t():
    from bptt.core import gradients

    lengths = (250, 500, 1000, 2000, 4000, 8000)
    print("cost against T (same B, H, I; median of 3):")
    seconds = []
    for n in lengths:
        cell, x, dh = problem(n)
        seconds.append(median_seconds(lambda c=cell, x=x, d=dh: gradients.lag_profile_and_grads(c, x, d), repeats=3))
        chunks = -(-n // gradients.chunk_length(cell, B))
        print(f"  T={n:5d}: {seconds[-1] * 1e3:7.0f} ms, {seconds[-1] / n * 1e6:6.0f} us per step, {chunks} chunk(s)")
    slope = np.polyfit(np.log(lengths), np.log(seconds), 1)[0]
    print(f"  log-log slope of time against T: {slope:.3f} (1 = linear); beyond one chunk, the forward")
    print("  pass of every chunk but the last runs twice, which bounds the cost per step")


def child_memory():
    """Runs in a subprocess: peak memory of one call at T=10 000."""
    import resource
    import tracemalloc

    from bptt.core import gradients

    tracemalloc.start()
    cell, x, dh = problem(10_000)
    x_bytes = x.nbytes
    gradients.lag_profile_and_grads(cell, x, dh)
    peak = tracemalloc.get_traced_memory()[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "rss": rss, "x": x_bytes, "chunk": gradients.chunk_length(cell, B)}))


def bench_memory():
    res = subprocess.run([sys.executable, __file__, "--memory"], capture_output=True, text=True, check=True)
    m = json.loads(res.stdout.strip().splitlines()[-1])
    mib = 2**20
    print("peak memory, LSTM T=10000 B=32 H=128 I=128 (fresh process):")
    print(
        f"  tracemalloc peak {m['peak'] / mib:.0f} MiB (of which the input x: {m['x'] / mib:.0f} MiB); "
        f"max RSS {m['rss'] / mib:.0f} MiB; chunks of {m['chunk']} steps"
    )


def child_torch(n_steps, b, h, i):
    """Runs where torch imports: the same computation with PyTorch autograd, one thread."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(i, h).double()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((n_steps, b, i)))
    dh = torch.from_numpy(rng.standard_normal((b, h)))

    def run():
        cell.zero_grad()
        state = torch.zeros(b, h, dtype=torch.float64)
        c = torch.zeros(b, h, dtype=torch.float64)
        hs = []
        for t in range(n_steps):
            state, c = cell(x[t], (state, c))
            state.retain_grad()
            hs.append(state)
        (hs[-1] * dh).sum().backward()
        return torch.log10(torch.stack([g.grad.norm(dim=1) for g in hs]))

    wall, cpu = median_times(run, repeats=3 if n_steps * b * h >= 10**6 else 20)
    print(json.dumps({"seconds": wall, "cpu": cpu, "version": torch.__version__}))


def bench_profile():
    from bptt.core import cells, gradients

    rng = np.random.default_rng(0)
    for kind, hsz in (("rnn", 64), ("lstm", 32), ("lstm", 64)):
        cell = cells.make(kind, input_size=8, hidden_size=hsz, activation="tanh", radius=1.0, rng=rng)
        x, dh = rng.standard_normal((200, 16, 8)), rng.standard_normal((16, hsz))
        t = median_seconds(lambda c=cell, x=x, d=dh: gradients.profile(c, x, d), repeats=3)
        print(f"profile() with Jacobian products, {kind} T=200 B=16 H={hsz}: {t * 1e3:.0f} ms per call")


if __name__ == "__main__":
    if sys.argv[1:] == ["--memory"]:
        child_memory()
    elif sys.argv[1:2] == ["--torch"]:
        child_torch(*map(int, sys.argv[2:]))
    else:
        bench_main((T, B, H, I))
        bench_main(DEFAULT)
        bench_linear_in_t()
        bench_memory()
        bench_profile()
