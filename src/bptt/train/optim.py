"""Optimisers (SGD, Adam) and clipping by the global gradient norm, for dicts of parameter arrays.

Parameters and gradients are dicts name -> array whose first axis is the model axis M of a stack
(`bptt.core.cells.stack`): each model has its own norm and its own clipping decision, and the
updates are elementwise, so M networks train side by side exactly as they would one by one.
The updates follow torch.optim.SGD and torch.optim.Adam with their defaults (no momentum,
weight decay or amsgrad), in the same order of operations (tests/train/test_optim.py compares).

    SGD   theta <- theta - lr g
    Adam  m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2,   k = the step count
          theta <- theta - (lr / (1 - beta1^k)) m / (sqrt(v) / sqrt(1 - beta2^k) + eps)

Clipping (Pascanu, Mikolov & Bengio 2013): with ||g|| the norm of all of a model's gradients
together, if ||g|| > clip then g <- clip g / ||g||. (torch.nn.utils.clip_grad_norm_ scales by
clip / (||g|| + 1e-6) instead; this is the paper's rule.)
"""

import numpy as np

NAMES = ("sgd", "adam")
BETAS = (0.9, 0.999)
EPS = 1e-8


def check(name: str, learning_rate) -> None:
    """ValueError unless `name` is an optimiser and learning_rate a finite number > 0 (or an (M,)
    array of them, one per model of the stack)."""
    if name not in NAMES:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(NAMES)}")
    if isinstance(learning_rate, np.ndarray) and learning_rate.ndim == 1 and learning_rate.dtype.kind == "f":
        if len(learning_rate) and np.all((learning_rate > 0) & (learning_rate < np.inf)):
            return
    elif isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool) and 0 < learning_rate < np.inf:
        return
    raise ValueError(f"learning_rate must be a finite number > 0 (or a 1-d float array of them), got {learning_rate!r}")


def _per_model(learning_rate, p: np.ndarray):
    """learning_rate as it broadcasts against a parameter p (M, ...): a number, or (M, 1, ...)."""
    if np.ndim(learning_rate) == 0:
        return learning_rate
    return np.reshape(learning_rate, (-1,) + (1,) * (p.ndim - 1))


def init_state(name: str, params: dict[str, np.ndarray]) -> dict:
    """The optimiser's state before its first step: {} for SGD; step 0 and zero moments for Adam."""
    if name == "sgd":
        return {}
    return {
        "step": 0,
        "m": {k: np.zeros_like(v) for k, v in params.items()},
        "v": {k: np.zeros_like(v) for k, v in params.items()},
    }


def update(name: str, params: dict, grads: dict, state: dict, learning_rate) -> tuple[dict, dict]:
    """(new params, new state) after one step of optimiser `name`; the inputs are left unchanged.

    learning_rate: a number, or (M,), one per model of the stack (a learning-rate sweep in one stack)."""
    if name == "sgd":
        return {k: p - _per_model(learning_rate, p) * grads[k] for k, p in params.items()}, state
    step = state["step"] + 1
    beta1, beta2 = BETAS
    m = {k: state["m"][k] + (1 - beta1) * (g - state["m"][k]) for k, g in grads.items()}  # torch's lerp
    v = {k: beta2 * state["v"][k] + (1 - beta2) * g * g for k, g in grads.items()}  # second moment
    step_size = learning_rate / (1 - beta1**step)  # bias corrections, as torch applies them
    root = np.sqrt(1 - beta2**step)
    new = {k: p - _per_model(step_size, p) * m[k] / (np.sqrt(v[k]) / root + EPS) for k, p in params.items()}
    return new, {"step": step, "m": m, "v": v}


def global_norm(grads: dict[str, np.ndarray]) -> np.ndarray:
    """||g|| over all arrays of each model: (M,). Scaled by the largest entry first, so gradients
    near float64's largest numbers give their finite norm rather than inf; inf or NaN entries give
    inf or NaN."""
    flat = np.concatenate([g.reshape(len(g), -1) for g in grads.values()], axis=1)  # (M, all entries)
    big = np.abs(flat).max(axis=1)  # NaN if some entry is NaN
    scale = np.where(np.isfinite(big) & (big > 0), big, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        norm = scale * np.sqrt(((flat / scale[:, None]) ** 2).sum(axis=1))
    return np.where(np.isfinite(big), norm, big)


def clip(grads: dict[str, np.ndarray], threshold: float | None) -> tuple[dict, np.ndarray, np.ndarray]:
    """(grads with each model's global norm clipped to `threshold`, norms before clipping (M,),
    clipped (M,) bool). threshold None: no clipping (the grads are returned as they are)."""
    norm = global_norm(grads)
    if threshold is None:
        return grads, norm, np.zeros(len(norm), dtype=bool)
    clipped = norm > threshold
    factor = np.where(clipped, threshold / np.where(clipped, norm, 1.0), 1.0)  # g <- c g / ||g||
    return {k: g * factor.reshape((-1,) + (1,) * (g.ndim - 1)) for k, g in grads.items()}, norm, clipped
