import numpy as np
import pytest

from bptt.core import cells, initialisation

H = 16


def make(kind, method, radius, seed):
    """A cell of hidden size H whose base draws come from `seed`."""
    return cells.make(
        kind,
        input_size=3,
        hidden_size=H,
        activation="tanh",
        radius=radius,
        rng=np.random.default_rng(seed),
        recurrent_init=method,
    )


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("method", initialisation.METHODS)
@pytest.mark.parametrize("radius", [0.25, 1.0, 1.7])
def test_every_gate_block_has_spectral_radius_rho_to_1e12(kind, method, radius):
    U = make(kind, method, radius, seed=0).params["weight_hh"]
    assert U.shape == (cells.N_BLOCKS[kind] * H, H)
    for j in range(cells.N_BLOCKS[kind]):
        block = U[j * H : (j + 1) * H]
        assert abs(np.max(np.abs(np.linalg.eigvals(block))) - radius) <= 1e-12
        if method == "orthogonal":
            np.testing.assert_allclose(block @ block.T, radius**2 * np.eye(H), atol=1e-12)
        else:
            # Non-normal: the norm exceeds the spectral radius.
            assert np.linalg.norm(block, 2) > 1.2 * radius


def test_orthogonal_blocks_look_haar():
    # Sign correction: the mean of Q's diagonal is 0 for Haar Q (plain QR gives a positive bias).
    rng = np.random.default_rng(1)
    diag = np.concatenate([np.diag(initialisation.recurrent_block(rng, 4, 1.0, "orthogonal")) for _ in range(2000)])
    assert abs(diag.mean()) < 0.03


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("method", initialisation.METHODS)
def test_common_random_numbers_across_radii(kind, method):
    a, b = make(kind, method, 0.5, seed=7), make(kind, method, 1.5, seed=7)
    np.testing.assert_array_equal(a.params["weight_ih"], b.params["weight_ih"])
    np.testing.assert_allclose(b.params["weight_hh"], 3.0 * a.params["weight_hh"], rtol=1e-14, atol=0)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_same_seed_gives_bit_identical_arrays_and_other_seeds_do_not(kind):
    a, b, c = (make(kind, "orthogonal", 0.9, seed) for seed in (11, 11, 12))
    for name in cells.PARAM_NAMES:
        assert a.params[name].dtype == np.float64
        assert a.params[name].tobytes() == b.params[name].tobytes()
    assert not np.array_equal(a.params["weight_hh"], c.params["weight_hh"])


def test_draw_order_is_as_documented():
    # init's docstring: recurrent blocks in gate order, then the input weights.
    rng = np.random.default_rng(3)
    blocks = [rng.standard_normal((H, H)) for _ in range(4)]
    w_in = rng.standard_normal((4 * H, 5)) / np.sqrt(5)
    cell = cells.make(
        "lstm",
        input_size=5,
        hidden_size=H,
        activation="tanh",
        radius=1.0,
        rng=np.random.default_rng(3),
        recurrent_init="gaussian",
    )
    np.testing.assert_array_equal(cell.params["weight_ih"], w_in)
    for j, g in enumerate(blocks):
        g = g / np.sqrt(H)
        np.testing.assert_allclose(
            cell.params["weight_hh"][j * H : (j + 1) * H], g / initialisation.spectral_radius(g), rtol=1e-14
        )


def test_biases_are_zero_except_the_lstm_forget_gate():
    cell = cells.make(
        "lstm",
        input_size=2,
        hidden_size=H,
        activation="tanh",
        radius=1.0,
        rng=np.random.default_rng(0),
        forget_bias=1.5,
    )
    want = np.zeros(4 * H)
    want[H : 2 * H] = 1.5
    np.testing.assert_array_equal(cell.params["bias_ih"], want)
    np.testing.assert_array_equal(cell.params["bias_hh"], np.zeros(4 * H))


def test_input_weights_have_variance_one_over_input_size():
    cell = cells.make(
        "rnn", input_size=400, hidden_size=200, activation="tanh", radius=1.0, rng=np.random.default_rng(0)
    )
    assert cell.params["weight_ih"].var() == pytest.approx(1 / 400, rel=0.02)
