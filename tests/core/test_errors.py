"""Every bad argument raises ValueError naming the argument and what is allowed."""

import numpy as np
import pytest

from bptt.core import cells, gradients, initialisation


def make(**overrides):
    args = dict(input_size=2, hidden_size=3, activation="tanh", radius=1.0, rng=np.random.default_rng(0))
    args.update(overrides)
    kind = args.pop("kind", "rnn")
    return cells.make(kind, **args)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"kind": "transformer"}, r"kind must be one of \('rnn', 'lstm', 'gru'\)"),
        ({"activation": "softplus"}, r"activation must be one of \('tanh', 'sigmoid', 'relu', 'linear'\)"),
        ({"radius": -0.1}, r"radius must be a finite number >= 0"),
        ({"radius": float("nan")}, r"radius must be a finite number >= 0"),
        ({"radius": float("inf")}, r"radius must be a finite number >= 0"),
        ({"radius": "1"}, r"radius must be a finite number >= 0"),
        ({"hidden_size": 0}, r"hidden_size must be an integer >= 1"),
        ({"input_size": 2.5}, r"input_size must be an integer >= 1"),
        ({"recurrent_init": "xavier"}, r"recurrent_init must be one of \('orthogonal', 'gaussian', 'identity'\)"),
        ({"kind": "lstm", "recurrent_init": "identity"}, r"recurrent_init 'identity' applies to kind 'rnn' only"),
        ({"rng": 42}, r"rng must be a numpy.random.Generator"),
        ({"gate_bias": 1.0}, r"gate_bias applies to the gated kinds only"),
        ({"kind": "lstm", "gate_bias": float("nan")}, r"gate_bias must be a finite number or 'chrono'"),
        ({"kind": "lstm", "gate_bias": "chrono"}, r"gate_bias 'chrono' needs chrono_t_max"),
        ({"kind": "gru", "gate_bias": "chrono", "chrono_t_max": 10}, r"gate_bias 'chrono' applies to kind 'lstm' only"),
    ],
)
def test_make_rejects_bad_arguments(overrides, message):
    with pytest.raises(ValueError, match=message):
        make(**overrides)


def test_init_functions_reject_bad_arguments():
    with pytest.raises(ValueError, match="radius must be"):
        initialisation.recurrent_block(np.random.default_rng(0), 3, -1.0, "orthogonal")
    with pytest.raises(ValueError, match="recurrent_init must be one of"):
        initialisation.recurrent_block(np.random.default_rng(0), 3, 1.0, "uniform")


@pytest.mark.parametrize(
    "mutate,message",
    [
        (
            lambda p: p.pop("bias_hh"),
            r"params must be a dict with keys \('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'\)",
        ),
        (lambda p: p.update(extra=np.zeros(1)), r"params must be a dict with keys"),
        (
            lambda p: p.update(weight_hh=np.zeros((4, 3))),
            r"params\['weight_hh'\] must have shape \(4\*H, H\) for kind 'lstm'",
        ),
        (lambda p: p.update(weight_ih=np.zeros((12,))), r"params\['weight_ih'\] must have shape \(12, I\)"),
        (lambda p: p.update(bias_ih=np.zeros(11)), r"params\['bias_ih'\] must have shape \(12,\)"),
        (lambda p: p["bias_hh"].__setitem__(0, np.nan), r"params\['bias_hh'\] must be finite"),
    ],
)
def test_from_params_rejects_bad_params(mutate, message):
    params = {k: v.copy() for k, v in make(kind="lstm").params.items()}
    mutate(params)
    with pytest.raises(ValueError, match=message):
        cells.from_params("lstm", params, activation="tanh")


def test_from_params_rejects_bad_kind_and_activation():
    params = make().params
    with pytest.raises(ValueError, match="kind must be one of"):
        cells.from_params("elman", params, activation="tanh")
    with pytest.raises(ValueError, match="activation must be one of"):
        cells.from_params("rnn", params, activation="gelu")


@pytest.mark.parametrize("fn", [gradients.lag_profile, gradients.param_grads, gradients.profile])
@pytest.mark.parametrize(
    "x,dh,message",
    [
        (np.zeros((0, 2, 2)), np.zeros((2, 3)), r"x must have T >= 1 steps and B >= 1 samples, got shape \(0, 2, 2\)"),
        (np.zeros((4, 2)), np.zeros((2, 3)), r"x must have shape \(T, B, input_size=2\), got \(4, 2\)"),
        (np.zeros((4, 2, 5)), np.zeros((2, 3)), r"x must have shape \(T, B, input_size=2\), got \(4, 2, 5\)"),
        (np.zeros((4, 2, 2)), np.zeros((3, 3)), r"dh_last must have shape \(B=2, hidden_size=3\), got \(3, 3\)"),
        (np.full((4, 2, 2), np.nan), np.zeros((2, 3)), r"x must be finite"),
        (np.zeros((4, 2, 2)), np.full((2, 3), np.inf), r"dh_last must be finite"),
        (np.array([["a"]]), np.zeros((2, 3)), r"x and dh_last must be numeric arrays"),
    ],
)
def test_gradients_reject_bad_inputs(fn, x, dh, message):
    with pytest.raises(ValueError, match=message):
        fn(make(), x, dh)


def test_gradients_reject_a_non_cell():
    with pytest.raises(ValueError, match="cell must be a bptt.core.cells.Cell"):
        gradients.lag_profile({"kind": "rnn"}, np.zeros((2, 1, 2)), np.zeros((1, 3)))
