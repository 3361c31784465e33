"""torch.nn modules in float64 and the per-step gradients autograd gives for them, for the parity tests.

`unrolled` runs a module's own weights step by step with torch ops (retain_grad on every h_t and c_t of
every layer); its top output is checked against the fused module itself, so it is the module's forward.
"""

import numpy as np

torch = __import__("pytest").importorskip("torch")

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def module(kind: str, input_size: int, hidden: int, layers: int, nonlinearity: str = "tanh", seed: int = 0, gain=1.0):
    torch.manual_seed(seed)
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    m = MODULES[kind](input_size, hidden, num_layers=layers, dtype=torch.float64, **extra)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("weight_hh"):
                p.mul_(gain)
    return m


def state_dict_numpy(m) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def unrolled(m, kind: str, x: np.ndarray, nonlinearity: str = "tanh", dtype=torch.float64):
    """(top h (T, B, H) tensor, per layer the lists of h_t and c_t tensors (c only for the LSTM))."""
    f = torch.tanh if nonlinearity == "tanh" else torch.relu
    inp = torch.tensor(x, dtype=dtype)
    hs_all, cs_all = [], []
    for layer in range(m.num_layers):
        w_ih, w_hh, b_ih, b_hh = (
            getattr(m, f"{n}_l{layer}").to(dtype) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        h = torch.zeros(x.shape[1], m.hidden_size, dtype=dtype)
        c = torch.zeros_like(h)
        hs, cs = [], []
        for t in range(len(inp)):
            gx, gh = inp[t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            if kind == "rnn":
                h = f(gx + gh)
            elif kind == "lstm":
                i, fg, g, o = (gx + gh).chunk(4, dim=1)
                c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                c.retain_grad()
                cs.append(c)
            else:
                xr, xz, xn = gx.chunk(3, dim=1)
                hr, hz, hn = gh.chunk(3, dim=1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            h.retain_grad()
            hs.append(h)
        hs_all.append(hs)
        cs_all.append(cs)
        inp = torch.stack(hs)
    return inp, hs_all, cs_all


def log10_norms(tensors) -> np.ndarray:
    """(T, B) log10 of the per-sample gradient norms of a list of T tensors (B, H)."""
    with np.errstate(divide="ignore"):
        return np.log10(np.stack([t.grad.norm(dim=1).detach().numpy() for t in tensors]).astype(np.float64))
