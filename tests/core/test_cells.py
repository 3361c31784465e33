import core_reference as ref
import numpy as np
import pytest

from bptt.core import activations, cells


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("activation", activations.NAMES)
def test_forward_matches_the_naive_pytorch_equations(kind, activation):
    rng = np.random.default_rng(0)
    cell = cells.make(kind, input_size=3, hidden_size=5, activation=activation, radius=1.1, rng=rng, gate_bias=0.0)
    params = {
        k: v + (0.2 * rng.standard_normal(v.shape) if k.startswith("bias") else 0) for k, v in cell.params.items()
    }
    cell = cells.from_params(kind, params, activation=activation)
    x = rng.standard_normal((7, 4, 3))
    states, _ = ref.run(kind, params, activation, x)
    np.testing.assert_allclose(cells.forward(cell, x), np.stack([s[0] for s in states]), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_forward_matches_torch_when_available(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    cell = cells.make(kind, input_size=3, hidden_size=5, activation="tanh", radius=0.9, rng=rng)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](3, 5).double()
    with torch.no_grad():
        for name, value in cell.params.items():
            getattr(module, f"{name}_l0").copy_(torch.from_numpy(value + 0.1 * rng.standard_normal(value.shape)))
        params = {name: getattr(module, f"{name}_l0").numpy().copy() for name in cell.params}
        x = rng.standard_normal((6, 2, 3))
        want = module(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(cells.forward(cells.from_params(kind, params, activation="tanh"), x), want, atol=1e-13)


def test_from_params_copies_to_float64_and_keeps_layout():
    p = {
        k: v.astype(np.float32)
        for k, v in cells.make(
            "gru", input_size=2, hidden_size=3, activation="tanh", radius=1.0, rng=np.random.default_rng(0)
        ).params.items()
    }
    cell = cells.from_params("gru", p, activation="sigmoid")
    assert (cell.kind, cell.activation, cell.input_size, cell.hidden_size) == ("gru", "sigmoid", 2, 3)
    for name in cells.PARAM_NAMES:
        assert cell.params[name].dtype == np.float64 and cell.params[name] is not p[name]
    assert cell.params["weight_ih"].shape == (9, 2) and cell.params["bias_hh"].shape == (9,)


def test_candidate_block_is_the_activation_path():
    cell = cells.make("lstm", input_size=2, hidden_size=3, activation="tanh", radius=1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(cells.candidate_block(cell), cell.params["weight_hh"][6:9])  # i, f, [g], o
