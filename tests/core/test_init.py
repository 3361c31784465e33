import numpy as np
import pytest

from bptt.core import cells, gradients, initialisation

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


SCALED = ("orthogonal", "gaussian")


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("method", SCALED)
@pytest.mark.parametrize("radius", [0.25, 1.0, 1.7])
def test_every_gate_block_has_spectral_radius_rho_to_1e12(kind, method, radius):
    U = make(kind, method, radius, seed=0).params["weight_hh"]
    assert U.shape == (cells.SPECS[kind].n_blocks * H, H)
    for j in range(cells.SPECS[kind].n_blocks):
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


@pytest.mark.parametrize("radius", [0.5, 1.0])
def test_identity_init_is_rho_times_the_identity_and_draws_like_the_others(radius):
    irnn, orthogonal = make("rnn", "identity", radius, seed=3), make("rnn", "orthogonal", radius, seed=3)
    np.testing.assert_array_equal(irnn.params["weight_hh"], radius * np.eye(H))
    np.testing.assert_array_equal(irnn.params["weight_ih"], orthogonal.params["weight_ih"])


@pytest.mark.parametrize("kind", cells.KINDS)
@pytest.mark.parametrize("method", SCALED)
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


@pytest.mark.parametrize("kind, block", [("lstm", 1), ("gru", 1)])
def test_gate_bias_shifts_the_forget_or_update_gate_only(kind, block):
    n = cells.SPECS[kind].n_blocks
    cell = cells.make(
        kind, input_size=2, hidden_size=H, activation="tanh", radius=1.0, rng=np.random.default_rng(0), gate_bias=-2.0
    )
    want = np.zeros((n, H))
    want[block] = -2.0
    np.testing.assert_array_equal(cell.params["bias_ih"], want.ravel())


def test_chrono_draws_forget_biases_log_uniform_and_input_biases_their_negative():
    t_max = 50
    rng = np.random.default_rng(5)
    cell = cells.make(
        "lstm",
        input_size=2,
        hidden_size=400,
        activation="tanh",
        radius=1.0,
        rng=rng,
        gate_bias="chrono",
        chrono_t_max=t_max,
    )
    bias = cell.params["bias_ih"].reshape(4, 400)
    # Drawn after the weights (draw order), so the weights equal those of a constant gate bias.
    plain = cells.make(
        "lstm", input_size=2, hidden_size=400, activation="tanh", radius=1.0, rng=np.random.default_rng(5)
    )
    np.testing.assert_array_equal(cell.params["weight_hh"], plain.params["weight_hh"])
    u = np.exp(bias[1])
    assert u.min() >= 1 and u.max() <= t_max - 1
    assert u.mean() == pytest.approx(t_max / 2, rel=0.05)  # Uniform(1, T_max - 1) has mean T_max / 2
    np.testing.assert_array_equal(bias[0], -bias[1])
    np.testing.assert_array_equal(bias[2:], 0.0)


def test_biases_are_zero_except_the_lstm_forget_gate():
    cell = cells.make(
        "lstm",
        input_size=2,
        hidden_size=H,
        activation="tanh",
        radius=1.0,
        rng=np.random.default_rng(0),
        gate_bias=1.5,
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


def test_each_chrono_unit_keeps_its_cell_gradient_for_the_timescale_its_forget_bias_predicts():
    # Tallec & Ollivier: a forget bias b = log u gives a forget gate sigma(b) = u / (1 + u) and a memory of
    # about -1 / ln sigma(b) ~ u steps. With no input and a negligible U the gates sit exactly at their
    # biases, so the error on unit j's cell state shrinks by sigma(b_j) per step back: measured with the core.
    t_max, steps = 50, 40
    cell = cells.make(
        "lstm",
        input_size=2,
        hidden_size=H,
        activation="tanh",
        radius=1e-12,
        rng=np.random.default_rng(3),
        gate_bias="chrono",
        chrono_t_max=t_max,
    )
    forget = cell.params["bias_ih"].reshape(4, H)[1]
    predicted = -1.0 / np.log(1.0 / (1.0 + np.exp(-forget)))  # timescale in steps, per unit
    x = np.zeros((steps, H, 2))
    prof = gradients.profile(cell, x, np.eye(H), jacobian_samples=0)  # sequence j: dL/dh_{T-1} = e_j
    # log10 ||dL/dc_k|| at lags 1..T-1 (at lag 0, c_{T-1} has no later step: its gradient enters inside the step)
    slope = np.polyfit(np.arange(1, steps), prof.log10_grad_c[::-1][1:], 1)[0]  # per sequence j
    np.testing.assert_allclose(-1.0 / (slope * np.log(10.0)), predicted, rtol=1e-6)
    assert predicted.min() > 1.0 and predicted.max() < t_max  # spread over the memory scales up to T_max
