"""The tasks: what a batch holds, where the answer sits, and the chance levels the docstring states."""

import math

import numpy as np
import pytest

from bptt.train import readout, tasks


def test_adding_marks_one_value_in_each_half_and_targets_their_sum():
    task = tasks.get("adding")
    x, target = tasks.batch(task, np.random.default_rng(0), 9, 500)
    assert x.shape == (9, 500, 2) and target.shape == (500, 1)
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert (markers.sum(axis=0) == 2).all()
    assert (markers[:4].sum(axis=0) == 1).all() and (markers[4:].sum(axis=0) == 1).all()  # T//2 = 4
    np.testing.assert_allclose(target[:, 0], (values * markers).sum(axis=0), rtol=1e-15)


def test_always_predicting_one_gives_the_stated_adding_baseline_of_one_sixth():
    # A readout with V = 0 and c = 1 predicts 1 whatever the state; over 200 000 sequences the
    # squared error's mean has a standard error of 4.4e-4 (its variance is 1/15 - 1/36).
    task = tasks.get("adding")
    _, target = tasks.batch(task, np.random.default_rng(1), 6, 200_000)
    h = np.zeros((1, len(target), 3))
    out = readout.loss_and_grads(task.loss, h, np.zeros((1, 1, 3)), np.ones((1, 1)), target[None], task.loss_scale)
    assert task.chance_loss == task.chance_metric == pytest.approx(1 / 6, rel=1e-15)
    assert out.loss.mean() == pytest.approx(1 / 6, abs=2e-3)
    assert tasks.metric(task, out.y, target[None])[0] == pytest.approx(out.loss.mean(), rel=1e-12)


def test_recall_targets_the_first_of_uniform_one_hot_symbols():
    task = tasks.get("recall", num_classes=5)
    x, target = tasks.batch(task, np.random.default_rng(2), 7, 40_000)
    assert x.shape == (7, 40_000, 5) and target.shape == (40_000,)
    assert (x.sum(axis=-1) == 1).all()
    np.testing.assert_array_equal(x[0].argmax(axis=-1), target)
    np.testing.assert_allclose(np.bincount(target) / len(target), 0.2, atol=0.01)


def test_a_uniform_guess_scores_the_stated_recall_chance_exactly():
    task = tasks.get("recall", num_classes=4)
    _, target = tasks.batch(task, np.random.default_rng(3), 3, 10)
    h = np.ones((1, 10, 2))
    out = readout.loss_and_grads(task.loss, h, np.zeros((1, 4, 2)), np.zeros((1, 4)), target[None])
    np.testing.assert_allclose(out.loss, math.log(4), rtol=1e-15)  # log C, every sequence
    assert (task.chance_loss, task.chance_metric) == (math.log(4), 0.25)


def test_solved_means_within_a_fraction_of_chance_of_perfect():
    adding, recall = tasks.get("adding"), tasks.get("recall", num_classes=4)
    assert tasks.solved(adding, np.array([0.0166, 0.0167, np.nan]), 0.1).tolist() == [True, False, False]
    # 1 - accuracy <= 0.1 * (1 - 1/4) = 0.075
    assert tasks.solved(recall, np.array([0.93, 0.92, 0.25]), 0.1).tolist() == [True, False, False]


def test_metric_is_mse_or_accuracy_over_the_batch():
    adding, recall = tasks.get("adding"), tasks.get("recall", num_classes=3)
    y = np.array([[[1.0], [2.0]]])
    assert tasks.metric(adding, y, np.array([[[1.5], [1.0]]])).tolist() == [(0.25 + 1.0) / 2]
    logits = np.array([[[0.1, 0.9, 0.0], [2.0, 0.0, 1.0]]])
    assert tasks.metric(recall, logits, np.array([[1, 2]])).tolist() == [0.5]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: tasks.get("copy"), "unknown task 'copy'; allowed: adding, recall"),
        (lambda: tasks.get("recall", num_classes=1), "num_classes, an integer >= 2; got 1"),
        (lambda: tasks.batch(tasks.get("adding"), np.random.default_rng(0), 1, 2), "seq_len, an integer >= 2; got 1"),
    ],
)
def test_bad_settings_are_refused_with_a_message(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()
