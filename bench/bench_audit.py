"""The audit of a user's network (bptt.audit) against one float64 PyTorch autograd pass, in one interleaved run.

A 2-layer LSTM, H = 256, T = 1000, B = 16 (the issue's case), input size 32, PyTorch's default init:
  A: `bptt.audit.measures.per_step` with a cross-entropy head on the last step and the default number of
     random directions (run.DIRECTIONS; all from one forward pass and one backward sweep per layer), exact
     in log space;
  B: the same network unrolled with torch ops in float64, retain_grad on every h_t and c_t of both layers,
     the loss's backward (what a user must write to get per-step gradients: the fused nn.LSTM hides them).
Both on one thread; A B A B ... in one process; medians and their ratio A/B printed (the target: <= 2).
Absolute seconds depend on the machine's load; the ratio, measured interleaved, much less.

    python bench/bench_audit.py [--repeats 3]
"""

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, as torch below
import numpy as np  # noqa: E402

LAYERS, H, T, B, I, C = 2, 256, 1000, 16, 32, 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("  bench_audit: SKIPPED (torch is not importable; the comparison needs it)")
        return
    from bptt.audit import measures, run, weights
    from bptt.core import cells

    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = torch.nn.LSTM(I, H, num_layers=LAYERS, dtype=torch.float64)
    state = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    layers = tuple(
        cells.from_params("lstm", {n: state[f"{n}_l{k}"] for n in cells.PARAM_NAMES}, activation="tanh")
        for k in range(LAYERS)
    )
    net = weights.Network("lstm", "tanh", layers, ("float64",))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I))
    head = measures.Head(rng.standard_normal((C, H)) / 16, np.zeros(C), "cross_entropy", "last", rng.integers(0, C, B))

    def audit():
        measures.per_step(net, x, head, directions=run.DIRECTIONS, seed=0)

    def autograd():
        inp = torch.from_numpy(x)
        kept = []
        for k in range(LAYERS):
            w_ih, w_hh = getattr(m, f"weight_ih_l{k}"), getattr(m, f"weight_hh_l{k}")
            b = getattr(m, f"bias_ih_l{k}") + getattr(m, f"bias_hh_l{k}")
            h = torch.zeros(B, H, dtype=torch.float64)
            c = torch.zeros_like(h)
            hs = []
            for t in range(T):
                i, f, g, o = (inp[t] @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                h.retain_grad()
                c.retain_grad()
                hs.append(h)
                kept.append((h, c))
            inp = torch.stack(hs)
        y = inp[-1] @ torch.from_numpy(head.weight).T
        torch.nn.functional.cross_entropy(y, torch.from_numpy(head.target), reduction="sum").backward()
        m.zero_grad()

    times = {"audit": [], "autograd": []}
    for _ in range(args.repeats):
        for name, fn in (("audit", audit), ("autograd", autograd)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    a, b = (float(np.median(times[k])) for k in ("audit", "autograd"))
    print(f"  2-layer LSTM H={H} T={T} B={B}, one thread, {args.repeats} interleaved repeats (medians):")
    print(f"  bptt.audit (loss and {run.DIRECTIONS} loss-free directions, every layer, log space): {a:.2f} s")
    print(f"  torch float64 autograd, retain_grad on every h_t and c_t: {b:.2f} s")
    print(f"  ratio audit / autograd: {a / b:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
