"""SGD and Adam against torch.optim on one fixed sequence of gradients; clipping by the global norm."""

import numpy as np
import pytest

from bptt.train import optim

SHAPES = {"weight": (2, 3, 4), "bias": (2, 3)}  # model axis M = 2 first
STEPS = 50


def _gradient_sequence(seed=0):
    """STEPS gradients per parameter, of widely varying scale (Adam's normalisation is then tested)."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-4, 3, STEPS)
    return [{k: s * rng.standard_normal(shape) for k, shape in SHAPES.items()} for s in scale]


def _initial(seed=1):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(shape) for k, shape in SHAPES.items()}


@pytest.mark.parametrize("name, lr", [("sgd", 0.05), ("adam", 0.01)])
def test_parameters_after_fifty_steps_equal_torch_optim(name, lr):
    torch = pytest.importorskip("torch")
    grads = _gradient_sequence()
    params, state = _initial(), optim.init_state(name, _initial())
    for g in grads:
        params, state = optim.update(name, params, g, state, lr)

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in _initial().items()}
    opt = (torch.optim.SGD if name == "sgd" else torch.optim.Adam)(list(tensors.values()), lr=lr)
    for g in grads:
        for k, t in tensors.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        opt.step()
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=k)
        assert not np.array_equal(params[k], _initial()[k])


def test_update_leaves_its_inputs_unchanged():
    params, grads = _initial(), _gradient_sequence()[0]
    state = optim.init_state("adam", params)
    copies = {k: v.copy() for k, v in params.items()}
    optim.update("adam", params, grads, state, 0.1)
    for k in params:
        np.testing.assert_array_equal(params[k], copies[k])
        assert not state["m"][k].any()


def test_clipping_rescales_each_model_above_the_threshold_to_it_exactly():
    grads = {"a": np.array([[3.0, 0.0], [0.3, 0.0]]), "b": np.array([[4.0], [0.4]])}  # norms 5 and 0.5
    clipped, norm, flag = optim.clip(grads, 1.0)
    np.testing.assert_allclose(norm, [5.0, 0.5], rtol=1e-15)
    assert flag.tolist() == [True, False]
    np.testing.assert_allclose(clipped["a"], [[0.6, 0.0], [0.3, 0.0]], rtol=1e-15)  # c g / ||g|| for model 0
    np.testing.assert_allclose(clipped["b"], [[0.8], [0.4]], rtol=1e-15)  # model 1 untouched
    np.testing.assert_allclose(optim.global_norm(clipped), [1.0, 0.5], rtol=1e-15)


def test_no_threshold_means_no_clipping():
    grads = {"a": np.array([[3.0e5, 4.0e5]])}
    same, norm, flag = optim.clip(grads, None)
    assert same is grads and norm.tolist() == [5.0e5] and flag.tolist() == [False]


def test_global_norm_stays_finite_near_float64s_largest_numbers_and_flags_non_finite_gradients():
    huge = {"a": np.array([[1e300, 1e300]]), "b": np.array([[1e300]])}
    np.testing.assert_allclose(optim.global_norm(huge), [np.sqrt(3) * 1e300], rtol=1e-15)
    clipped, _, _ = optim.clip(huge, 2.0)
    np.testing.assert_allclose(optim.global_norm(clipped), [2.0], rtol=1e-15)
    bad = {"a": np.array([[np.inf, 1.0], [np.nan, 1.0], [0.0, 0.0]])}
    norm = optim.global_norm(bad)
    assert norm[0] == np.inf and np.isnan(norm[1]) and norm[2] == 0.0


@pytest.mark.parametrize(
    "name, lr, message",
    [
        ("rmsprop", 0.1, "unknown optimizer 'rmsprop'"),
        ("adam", 0.0, "must be a finite number > 0"),
        ("sgd", float("nan"), "must be a finite number > 0"),
    ],
)
def test_bad_optimiser_settings_are_refused(name, lr, message):
    with pytest.raises(ValueError, match=message):
        optim.check(name, lr)
