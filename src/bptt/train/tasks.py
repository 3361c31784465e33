"""Long-range tasks with a known chance level; the sequence length T is the difficulty knob.

adding  (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015)
    x_t = (u_t, m_t), I = 2: values u_t ~ Uniform(0, 1) and a marker m_t that is 1 at exactly two
    steps, one drawn uniformly from [0, T//2) and one from [T//2, T), and 0 elsewhere. The target
    is the sum of the two marked values (C = 1 output). The first marked value must be kept for
    more than T/2 steps, whatever the weights: the range is set by construction.
    Chance: the target is the sum of two independent Uniform(0, 1), mean 1 and variance
    1/12 + 1/12 = 1/6, and it is independent of anything a network could read without memory.
    The best constant guess is the mean, 1, and its expected mean squared error is exactly 1/6.
    Loss and metric: the squared error (y - target)^2 averaged over the batch (MSE), as Le et al.
    report it; chance 1/6.
recall  (recall the first symbol)
    x_t = one-hot of a symbol drawn uniformly from C, I = C, at every step; the target is the
    class of the first symbol x_0 (C outputs). x_1 .. x_{T-1} are distractors drawn from the same
    alphabet, so the answer sits T - 1 steps before the readout.
    Chance: x_0 is independent of every later input, so no guess beats 1/C accuracy, and the best
    prediction that ignores x_0, uniform, has cross-entropy log C.
    Loss: softmax cross-entropy, chance log C; metric: accuracy, chance 1/C.

Solved (the same rule for both, against chance): the metric's distance to a perfect score is at
most `fraction` of chance's distance: MSE <= fraction * 1/6, or 1 - accuracy <= fraction * (1 - 1/C).

Draws from `rng`, in this order: adding: values (T, B), first markers (B,), second markers (B,);
recall: symbols (T, B).
"""

import math
from typing import NamedTuple

import numpy as np

NAMES = ("adding", "recall")


class Task(NamedTuple):
    name: str
    input_size: int  # I
    output_size: int  # C, the readout's rows
    loss: str  # the core's loss (bptt.core.loss) the task's loss is built on
    loss_scale: float  # task loss = loss_scale * the core's loss (its mse is half the squared error)
    chance_loss: float
    metric: str  # "mse" or "accuracy"
    chance_metric: float
    higher_is_better: bool


def get(name: str, num_classes: int = 2) -> Task:
    """The task called `name` (one of NAMES); num_classes C is the recall task's alphabet (>= 2)."""
    if name == "adding":
        return Task("adding", 2, 1, "mse", 2.0, 1 / 6, "mse", 1 / 6, False)
    if name == "recall":
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(f"the recall task needs num_classes, an integer >= 2; got {num_classes!r}")
        c = int(num_classes)
        return Task("recall", c, c, "cross_entropy", 1.0, math.log(c), "accuracy", 1 / c, True)
    raise ValueError(f"unknown task {name!r}; allowed: {', '.join(NAMES)}")


def check_length(task: Task, seq_len: int) -> int:
    """T as an int; ValueError unless the task is defined at that length (adding needs T >= 2)."""
    smallest = 2 if task.name == "adding" else 1
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < smallest:
        raise ValueError(f"the {task.name} task needs seq_len, an integer >= {smallest}; got {seq_len!r}")
    return int(seq_len)


def batch(task: Task, rng: np.random.Generator, seq_len: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """One batch: x (T, B, I) and target, (B, 1) floats for adding or (B,) class indices for recall."""
    seq_len = check_length(task, seq_len)
    rows = np.arange(batch_size)
    if task.name == "adding":
        values = rng.random((seq_len, batch_size))
        half = seq_len // 2
        first, second = rng.integers(0, half, batch_size), rng.integers(half, seq_len, batch_size)
        markers = np.zeros((seq_len, batch_size))
        markers[first, rows] = 1.0
        markers[second, rows] = 1.0
        target = values[first, rows] + values[second, rows]
        return np.stack([values, markers], axis=-1), target[:, None]
    symbols = rng.integers(0, task.input_size, (seq_len, batch_size))
    x = np.zeros((seq_len, batch_size, task.input_size))
    np.put_along_axis(x, symbols[..., None], 1.0, axis=-1)
    return x, symbols[0]


def metric(task: Task, y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The task's metric of outputs y (..., B, C) against target (..., B, 1) or (..., B): shape (...).

    MSE = mean over B of (y - target)^2 for adding; accuracy = share of argmax y == target for recall.
    """
    if task.metric == "mse":
        return ((y - target) ** 2).mean(axis=(-2, -1))
    return (y.argmax(axis=-1) == target).mean(axis=-1)


def solved(task: Task, value: np.ndarray, fraction: float) -> np.ndarray:
    """Whether a metric value solves the task: its distance to perfect is <= fraction of chance's.

    NaN (a run that diverged) never solves.
    """
    perfect = 1.0 if task.higher_is_better else 0.0
    with np.errstate(invalid="ignore"):
        return np.abs(perfect - np.asarray(value, dtype=float)) <= fraction * abs(perfect - task.chance_metric)
