"""The training loop: exact gradients end to end, divergence without a crash, clipping counted, seeds apart."""

import warnings

import numpy as np
import pytest

from bptt.core import cells
from bptt.train import loop, tasks

T, B, H = 5, 3, 4


def _params(kind, task, m=2, seed=0, activation="tanh", recurrent_init="orthogonal", gate_bias=0.0, hidden_size=H):
    """A stack of m networks with random nonzero biases, and a random readout (V, c)."""
    rng = np.random.default_rng(seed)
    stack = cells.stack(
        [
            cells.make(
                kind,
                input_size=task.input_size,
                hidden_size=hidden_size,
                activation=activation,
                radius=0.9,
                rng=rng,
                recurrent_init=recurrent_init,
                gate_bias=gate_bias,
            )
            for _ in range(m)
        ]
    )
    params = {k: v.copy() for k, v in stack.params.items()}
    params["bias_ih"] += 0.3 * rng.standard_normal(params["bias_ih"].shape)
    params["bias_hh"] += 0.3 * rng.standard_normal(params["bias_hh"].shape)
    params["readout_weight"] = rng.standard_normal((m, task.output_size, hidden_size))
    params["readout_bias"] = rng.standard_normal((m, task.output_size))
    return params


def _data(task, m=2, seed=1, batch_size=B, seq_len=T):
    rngs = [np.random.default_rng([seed, i]) for i in range(m)]
    drawn = [tasks.batch(task, r, seq_len, batch_size) for r in rngs]
    return np.stack([x for x, _ in drawn], axis=1), np.stack([t for _, t in drawn])


TASKS = {"adding": tasks.get("adding"), "recall": tasks.get("recall", num_classes=3)}


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("task_name", TASKS)
def test_gradients_through_readout_and_cell_match_finite_differences(kind, task_name):
    task = TASKS[task_name]
    params = _params(kind, task, hidden_size=3)
    x, target = _data(task)
    _, grads = loop.loss_and_grads(kind, "tanh", params, task, x, target)
    eps = 1e-5
    for name in loop.PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for i in np.ndindex(params[name].shape):
            keep = params[name][i]
            total = []
            for step in (eps, -eps):
                params[name][i] = keep + step
                # The models' losses summed: each depends on its own parameters only.
                total.append(loop.loss_and_grads(kind, "tanh", params, task, x, target)[0].sum())
            params[name][i] = keep
            numeric[i] = (total[0] - total[1]) / (2 * eps)
        # As in tests/core: the error relative to the array's norm (tiny entries carry rounding noise).
        assert np.linalg.norm(grads[name] - numeric) <= 1e-7 * np.linalg.norm(numeric), name


def _settings(**changes):
    return loop.Settings(
        **{"steps": 6, "batch_size": 4, "eval_interval": 4, "optimizer": "sgd", "learning_rate": 0.1, "clip": None}
        | changes
    )


def _train(kind="rnn", task_name="adding", params=None, settings=None, m=2, activation="tanh", seq_len=T):
    task = TASKS[task_name]
    params = _params(kind, task, m=m, activation=activation) if params is None else params
    rngs = [np.random.default_rng([7, i]) for i in range(m)]
    return loop.train(
        kind,
        activation,
        params,
        task,
        seq_len,
        rngs,
        _data(task, m=m, seed=9, batch_size=16, seq_len=seq_len),
        settings or _settings(),
    )


def test_evaluations_are_at_zero_every_interval_and_the_last_step():
    assert loop.eval_steps(10, 4).tolist() == [0, 4, 8, 10]
    assert loop.eval_steps(8, 4).tolist() == [0, 4, 8]
    history, _ = _train()
    assert history.eval_step.tolist() == [0, 4, 6]
    assert history.eval_loss.shape == history.eval_metric.shape == (3, 2)
    assert history.grad_norm.shape == history.train_loss.shape == history.clipped.shape == (6, 2)
    assert np.isfinite(history.eval_loss).all() and (history.diverged_step == -1).all()


def test_a_diverging_model_stops_while_the_others_train_on_and_nothing_is_raised():
    task = TASKS["adding"]
    params = _params("rnn", task)
    params["readout_weight"][0] = 1e200  # model 0's output squares to inf: its loss is not finite
    start = {k: v.copy() for k, v in params.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a single warning either
        history, final = _train(params=params)
    assert history.diverged_step.tolist() == [0, -1]  # at the evaluation before any step
    assert np.isnan(history.eval_loss[:, 0]).all() and np.isfinite(history.eval_loss[:, 1]).all()
    assert np.isnan(history.grad_norm[:, 0]).all() and np.isfinite(history.grad_norm[:, 1]).all()
    for k in loop.PARAM_NAMES:
        np.testing.assert_array_equal(final[k][0], start[k][0])  # the last finite parameters
        assert not np.array_equal(final[k][1], start[k][1])


def test_an_exploding_relu_network_under_plain_sgd_diverges_at_a_recorded_step():
    # The IRNN with a large learning rate and no clipping: a huge step sends the ReLU state past
    # float64. The run is recorded as diverged at that step; the loop carries on to the end.
    task = TASKS["adding"]
    params = _params("rnn", task, activation="relu", recurrent_init="identity", m=1)
    params["weight_hh"] *= 1.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history, final = _train(
            params=params, m=1, activation="relu", seq_len=40, settings=_settings(steps=30, learning_rate=1e3)
        )
    step = history.diverged_step[0]
    assert 0 < step <= 30
    assert np.isfinite(history.train_loss[: step - 1, 0]).all()
    assert np.isnan(history.train_loss[step:, 0]).all()
    assert all(np.isfinite(v).all() for v in final.values())


def test_every_step_above_the_threshold_is_clipped_and_counted():
    tiny, _ = _train(settings=_settings(clip=1e-9))
    assert tiny.clipped.all() and (tiny.grad_norm > 1e-9).all()
    off, _ = _train(settings=_settings(clip=None))
    assert not off.clipped.any()
    np.testing.assert_array_equal(off.grad_norm[0], tiny.grad_norm[0])  # norms are taken before clipping


def test_a_clipped_sgd_step_moves_the_parameters_by_exactly_lr_times_the_threshold():
    _, moved = _train(settings=_settings(steps=1, clip=1e-3, learning_rate=0.5))
    start = _params("rnn", TASKS["adding"])
    distance = np.sqrt(sum(((moved[k] - start[k]) ** 2).reshape(2, -1).sum(axis=1) for k in loop.PARAM_NAMES))
    np.testing.assert_allclose(distance, 0.5e-3, rtol=1e-9)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_seeds_trained_side_by_side_equal_seeds_trained_alone(optimizer):
    task = TASKS["recall"]
    params = _params("lstm", task)
    settings = _settings(optimizer=optimizer, learning_rate=0.01)
    together, final = _train("lstm", "recall", params={k: v.copy() for k, v in params.items()}, settings=settings)
    for i in range(2):
        alone_params = {k: v[i : i + 1].copy() for k, v in params.items()}
        rng = [np.random.default_rng([7, i])]
        x, target = _data(task, m=2, seed=9, batch_size=16)
        alone, alone_final = loop.train(
            "lstm", "tanh", alone_params, task, T, rng, (x[:, i : i + 1], target[i : i + 1]), settings
        )
        np.testing.assert_allclose(alone.eval_loss[:, 0], together.eval_loss[:, i], rtol=1e-12)
        np.testing.assert_allclose(alone_final["weight_hh"][0], final["weight_hh"][i], rtol=1e-12)


def test_bad_settings_are_refused_before_any_step():
    with pytest.raises(ValueError, match="unknown optimizer 'sgdm'"):
        _train(settings=_settings(optimizer="sgdm"))
    with pytest.raises(ValueError, match="seq_len, an integer >= 2"):
        _train(seq_len=1)
