"""A loss at every step (bptt.core.sources): each source L_t at every step k, the total, the lag gradients G_tau."""

import core_reference as ref
import numpy as np
import pytest
from test_finite_differences import T
from test_finite_differences import setup as fd_case  # a cell with random biases, x kept off ReLU's kinks

from bptt.core import cells, gradients, logscale, reference, sources


def per_source_reference(cell, x, dh_all):
    """dL_t/dh_k (T, T, B, H), zero for t < k, and dL_t/dU (T, G*H, H), one plain reference BPTT per source t."""
    n = len(x)
    grad_h = np.zeros((n, *dh_all.shape))
    grad_u = np.zeros((n, *cell.params["weight_hh"].shape))
    for t in range(n):
        grad_h[t, : t + 1], grads = reference.bptt(cell, x[: t + 1], dh_all[t])
        grad_u[t] = grads["weight_hh"]
    return grad_h, grad_u


def random_case(kind, seed=0, n_steps=30, batch=3, hidden=4, radius=1.1):
    rng = np.random.default_rng(seed)
    cell = cells.make(kind, input_size=3, hidden_size=hidden, activation="tanh", radius=radius, rng=rng)
    return cell, rng.standard_normal((n_steps, batch, 3)), rng.standard_normal((n_steps, batch, hidden))


@pytest.mark.parametrize("kind,activation", [(k, a) for k in cells.KINDS for a in ("tanh", "relu")])
def test_each_source_gradient_at_each_step_matches_central_differences_of_the_naive_forward_pass(kind, activation):
    cell, x, _ = fd_case(kind, activation)
    dh_all = np.random.default_rng(1).standard_normal((T, x.shape[1], cell.hidden_size))
    got = sources.source_profile(cell, x, dh_all).log10_source_grad_h
    assert got.shape == (T, T, x.shape[1])
    for t in range(T):
        # L_t = sum(dh_all[t] * h_t): the naive pass to step t with h_k perturbed (c_k held) and the rest rerun.
        for k in range(t + 1):
            want = ref.grad_state(kind, cell.params, activation, x[: t + 1], dh_all[t], k)
            np.testing.assert_allclose(10.0 ** got[t, k], np.linalg.norm(want, axis=1), rtol=1e-6, err_msg=f"{t=} {k=}")
        assert np.isneginf(got[t, t + 1 :]).all()  # L_t does not depend on later states


@pytest.mark.parametrize("kind", cells.KINDS)
def test_the_sources_and_their_sum_equal_plain_bptt_of_each_loss_and_of_the_summed_loss(kind):
    cell, x, dh_all = random_case(kind)
    p = sources.source_profile(cell, x, dh_all)
    grad_h, _ = per_source_reference(cell, x, dh_all)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(p.log10_source_grad_h, np.log10(np.linalg.norm(grad_h, axis=-1)), rtol=0, atol=1e-12)
    # dL/dh_k of L = sum_t L_t is the sum of the sources: the total row, swept on its own, agrees.
    np.testing.assert_allclose(10.0**p.log10_grad_h, np.linalg.norm(grad_h.sum(axis=0), axis=-1), rtol=1e-12)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_the_lag_gradients_sum_to_dL_dU_of_the_summed_loss(kind):
    cell, x, dh_all = random_case(kind)
    p = sources.source_profile(cell, x, dh_all)
    _, grad_u = per_source_reference(cell, x, dh_all)
    want = grad_u.sum(axis=0)  # dL/dU = sum_t dL_t/dU
    got = logscale.to_linear(p.lag_grad, p.log10_lag_grad).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13 * np.abs(want).max())
    assert np.isneginf(p.log10_lag_grad[-1])  # G_{T-1}: its one term multiplies h_{-1} = 0


@pytest.mark.parametrize("kind", cells.KINDS)
def test_each_lag_gradient_is_the_sum_of_the_source_gradients_through_U_at_the_step_tau_before(kind):
    # G_tau = sum_t dL_t/dU^(t - tau), U^(k) the copy of U that step k uses: central differences with
    # U perturbed at step k alone give dL_t/dU^(k) for every t >= k at once.
    cell, x, _ = fd_case(kind, "tanh")
    dh_all = np.random.default_rng(2).standard_normal((T, x.shape[1], cell.hidden_size))
    p = sources.source_profile(cell, x, dh_all)
    u, eps = cell.params["weight_hh"], 1e-6
    want = np.zeros((T, *u.shape))
    for k in range(T):
        before = ref.run(kind, cell.params, "tanh", x[:k])[0][-1] if k else None
        for idx in np.ndindex(u.shape):
            losses = []
            for sign in (1, -1):
                bumped = dict(cell.params, weight_hh=u.copy())
                bumped["weight_hh"][idx] += sign * eps
                step_k = ref.run(kind, bumped, "tanh", x[k : k + 1], before)[0]
                states = step_k + ref.run(kind, cell.params, "tanh", x[k + 1 :], step_k[-1])[0]
                losses.append(np.array([np.sum(dh_all[k + j] * s[0]) for j, s in enumerate(states)]))  # L_k..L_{T-1}
            want[np.arange(T - k), *idx] += (losses[0] - losses[1]) / (2 * eps)  # into G_{t-k}
    got = logscale.to_linear(p.lag_grad, p.log10_lag_grad)
    for tau in range(T - 1):
        assert np.linalg.norm(got[tau] - want[tau]) <= 1e-6 * np.linalg.norm(want[tau]), tau
    assert np.isneginf(p.log10_lag_grad[T - 1]) and np.abs(want[T - 1]).max() < 1e-9


def test_a_long_linear_elman_cell_with_U_half_an_orthogonal_matrix_shrinks_each_source_by_exactly_half_per_lag():
    n_steps, hidden = 2000, 4
    rng = np.random.default_rng(3)
    cell = cells.make("rnn", input_size=2, hidden_size=hidden, activation="linear", radius=0.5, rng=rng)
    x, dh_all = rng.standard_normal((n_steps, 2, 2)), rng.standard_normal((n_steps, 2, hidden))
    got = sources.source_profile(cell, x, dh_all).log10_source_grad_h
    # dL_t/dh_k = dh_all[t] (0.5 Q)^(t-k), and Q keeps norms.
    lag = np.arange(n_steps)[:, None] - np.arange(n_steps)[None, :]  # t - k
    want = np.log10(np.linalg.norm(dh_all, axis=-1))[:, None, :] + lag[..., None] * np.log10(0.5)
    causal = lag >= 0
    np.testing.assert_allclose(got[causal], want[causal], rtol=0, atol=1e-9)
    assert np.isneginf(got[~causal]).all()
    assert got[causal].min() < -600  # 10**-600: far below float64's smallest number


def test_a_loss_at_the_last_step_alone_gives_the_ordinary_sweep_even_far_below_float64():
    # Zero sources are exact zeros (-inf), and adding one to a total of 10**-700 leaves the total as it is.
    cell, x, dh_all = random_case("rnn", n_steps=700, batch=2, radius=0.1)
    cell = cells.from_params("rnn", cell.params, activation="linear")
    dh_all[:-1] = 0.0
    p = sources.source_profile(cell, x, dh_all)
    want_h, want_grads = gradients.lag_profile_and_grads(cell, x, dh_all[-1])
    np.testing.assert_allclose(p.log10_grad_h, want_h, rtol=0, atol=1e-9)
    assert want_h.min() < -600
    np.testing.assert_array_equal(p.log10_source_grad_h[:-1], -np.inf)
    np.testing.assert_allclose(p.log10_source_grad_h[-1], want_h, rtol=0, atol=1e-9)
    got_u = logscale.to_linear(p.lag_grad, p.log10_lag_grad).sum(axis=0)
    np.testing.assert_allclose(got_u, want_grads["weight_hh"], rtol=1e-12, atol=1e-14 * np.abs(got_u).max())


def test_a_starting_log10_scale_multiplies_each_source_exactly():
    cell, x, dh_all = random_case("gru", n_steps=12)
    scale = np.zeros(dh_all.shape[:2])
    scale[3], scale[7, 1] = 2.5, -700.0  # the last: dL_7/dh_7 * 1e-700, below float64 as a number
    shifted = sources.source_profile(cell, x, dh_all, scale)
    plain = sources.source_profile(cell, x, dh_all)
    np.testing.assert_allclose(shifted.log10_source_grad_h - scale[:, None, :], plain.log10_source_grad_h, atol=1e-12)
    # Source 7 of sample 1 adds ~1e-700: nothing float64 can see next to the other sources.
    linear = sources.source_profile(cell, x, dh_all * np.where(scale == -700.0, 0.0, 10.0**scale)[..., None])
    np.testing.assert_allclose(shifted.log10_grad_h, linear.log10_grad_h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(shifted.log10_lag_grad, linear.log10_lag_grad, rtol=0, atol=1e-12)


def test_a_stack_of_networks_gives_each_network_its_own_results():
    members, xs, dhs = zip(
        *(random_case("lstm", seed=s, n_steps=15, radius=r) for s, r in [(0, 0.5), (1, 1.5)]), strict=True
    )
    stacked = sources.source_profile(cells.stack(list(members)), np.stack(xs, axis=1), np.stack(dhs, axis=1))
    for m, (cell, x, dh_all) in enumerate(zip(members, xs, dhs, strict=True)):
        alone = sources.source_profile(cell, x, dh_all)
        np.testing.assert_allclose(stacked.log10_source_grad_h[:, :, m], alone.log10_source_grad_h, atol=1e-12)
        np.testing.assert_allclose(stacked.log10_grad_h[:, m], alone.log10_grad_h, atol=1e-12)
        np.testing.assert_allclose(stacked.log10_lag_grad[:, m], alone.log10_lag_grad, atol=1e-12)
        np.testing.assert_allclose(stacked.lag_grad[:, m], alone.lag_grad, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_the_overflow_guard_scales_every_source_exactly(kind, monkeypatch):
    cell, x, dh_all = random_case(kind, n_steps=15, radius=1.3)
    plain = sources.source_profile(cell, x, dh_all)
    monkeypatch.setattr(gradients, "GUARD_EXPONENT", -20)  # the guard at every step
    guarded = sources.source_profile(cell, x, dh_all)
    for got, want in zip(guarded, plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def saturated_lstm():
    """Input and output gates at sigma(-1000) = e^-1000 (0 in float64), forget gate at sigma(1000): the
    h part of an adjoint is e^-1000 times the c part (as in test_precision)."""
    hidden = 2
    params = {
        "weight_ih": np.zeros((4 * hidden, 1)),
        "weight_hh": np.zeros((4 * hidden, hidden)),
        "bias_ih": np.repeat([-1000.0, 1000.0, 0.5, -1000.0], hidden),
        "bias_hh": np.zeros(4 * hidden),
    }
    return cells.from_params("lstm", params, activation="tanh")


def test_a_source_rounded_to_zero_at_a_saturated_step_is_nan_never_zero():
    p = sources.source_profile(saturated_lstm(), np.zeros((6, 1, 1)), np.ones((6, 1, 2)))
    diagonal = np.arange(6)
    assert np.isfinite(p.log10_source_grad_h[diagonal, diagonal]).all()  # dL_t/dh_t = dh_all[t] itself
    below = np.tril(np.ones((6, 6), dtype=bool), k=-1)  # t > k: through a saturated step
    assert np.isnan(p.log10_source_grad_h[below]).all()
    assert np.isneginf(p.log10_source_grad_h[~np.tril(np.ones((6, 6), dtype=bool))]).all()  # t < k
    # The total: dh_all[k] plus a part without digits, flagged (conservatively: that part is ~e^-1000).
    assert np.isfinite(p.log10_grad_h[-1]).all() and np.isnan(p.log10_grad_h[:-1]).all()
    assert np.isnan(p.log10_lag_grad).all() and np.isnan(p.lag_grad).all()  # every G_tau has a term without digits


def test_an_exact_zero_stays_an_exact_zero_through_a_later_saturated_step():
    # U = 0: every dL_t/dh_k, k < t, is exactly 0. Odd steps are saturated (z = 1000, tanh' = e^-2000 is 0
    # in float64); a source whose own step t is not saturated is 0 out of step t, an exact zero, and
    # stays -inf through the saturated steps before it. Out of a saturated step, 0 may be a rounded
    # e^-2000 for all the sweep can tell: NaN.
    params = {
        "weight_ih": np.full((2, 1), 1000.0),
        "weight_hh": np.zeros((2, 2)),
        "bias_ih": np.zeros(2),
        "bias_hh": np.zeros(2),
    }
    cell = cells.from_params("rnn", params, activation="tanh")
    x = (np.arange(6) % 2).astype(float).reshape(6, 1, 1)
    got = sources.source_profile(cell, x, np.ones((6, 1, 2))).log10_source_grad_h[..., 0]
    for t in range(6):
        assert (np.isnan(got[t, :t]) if t % 2 else np.isneginf(got[t, :t])).all(), t


def test_an_exact_zero_from_relu_stays_minus_infinity():
    cell = cells.make("rnn", input_size=1, hidden_size=3, activation="relu", radius=0.5, rng=np.random.default_rng(0))
    cell = cells.from_params("rnn", dict(cell.params, bias_ih=np.full(3, -10.0)), activation="relu")  # f' = 0
    p = sources.source_profile(cell, np.zeros((5, 2, 1)), np.ones((5, 2, 3)))
    below = np.tril(np.ones((5, 5), dtype=bool), k=-1)
    assert np.isneginf(p.log10_source_grad_h[below]).all() and np.isneginf(p.log10_lag_grad).all()
    np.testing.assert_allclose(p.log10_grad_h, np.log10(np.sqrt(3.0)), atol=1e-15)  # the source k alone


def make_rnn():
    return cells.make("rnn", input_size=2, hidden_size=3, activation="tanh", radius=1.0, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    "x,dh_all,scale,message",
    [
        (np.zeros((4, 2)), np.zeros((4, 2, 3)), None, r"x must have shape \(T, B, input_size=2\), got \(4, 2\)"),
        (
            np.zeros((4, 2, 2)),
            np.zeros((2, 3)),
            None,
            r"dh_all must have shape \(T=4, B=2, hidden_size=3\), got \(2, 3\)",
        ),
        (np.zeros((4, 2, 2)), np.zeros((3, 2, 3)), None, r"dh_all must have shape \(T=4, B=2, hidden_size=3\)"),
        (np.zeros((4, 2, 2)), np.zeros((4, 2, 3)), np.zeros(2), r"log10_scale must have shape \(4, 2\), got \(2,\)"),
        (np.full((4, 2, 2), np.nan), np.zeros((4, 2, 3)), None, r"x must be finite"),
        (np.zeros((4, 2, 2)), np.full((4, 2, 3), np.inf), None, r"dh_all must be finite"),
        (np.zeros((4, 2, 2)), np.zeros((4, 2, 3)), np.full((4, 2), np.nan), r"log10_scale must be finite"),
        (np.zeros((4, 2, 2)), [["a"]], None, r"x and dh_all must be numeric arrays"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(x, dh_all, scale, message):
    with pytest.raises(ValueError, match=message):
        sources.source_profile(make_rnn(), x, dh_all, scale)


def test_a_forward_pass_that_leaves_float64_is_refused_not_cut():
    cell = cells.make("rnn", input_size=2, hidden_size=3, activation="linear", radius=6.0, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((800, 1, 2))
    with pytest.raises(ValueError, match=r"beyond float64 at step \d+ \(non-finite state\)"):
        sources.source_profile(cell, x, np.ones((800, 1, 3)))
    with pytest.raises(ValueError, match="cell must be a bptt.core.cells.Cell"):
        sources.source_profile("rnn", x, np.ones((800, 1, 3)))


@pytest.mark.parametrize("kind", cells.KINDS)
def test_the_fast_sweep_with_a_loss_at_every_step_gives_the_sources_total(kind):
    # gradients.profile(every_step=True) injects dL_t/dh_t at each step of its one sweep; its dL/dh_k
    # must be the total the all-sources sweep computes, and its dL/dU the sum over lags of G_tau.
    rng = np.random.default_rng(11)
    cell = cells.make(kind, input_size=3, hidden_size=4, activation="tanh", radius=1.2, rng=rng)
    x, dh_all = rng.standard_normal((30, 2, 3)), rng.standard_normal((30, 2, 4))
    scale = rng.uniform(-3, 3, (30, 2))
    want = sources.source_profile(cell, x, dh_all, scale)
    got = gradients.profile(cell, x, dh_all, scale, every_step=True)
    np.testing.assert_allclose(got.log10_grad_h, want.log10_grad_h, rtol=0, atol=1e-12)
    total_u = logscale.to_linear(want.lag_grad, want.log10_lag_grad)[None].sum(axis=1)[0]
    np.testing.assert_allclose(got.param_grads["weight_hh"], total_u, rtol=1e-10, atol=1e-14 * np.abs(total_u).max())
    # The last step's term alone is the ordinary loss: every_step with zeros before it changes nothing.
    only_last = np.zeros_like(dh_all)
    only_last[-1] = dh_all[-1]
    np.testing.assert_allclose(
        gradients.lag_profile(cell, x, only_last, every_step=True),
        gradients.lag_profile(cell, x, dh_all[-1]),
        atol=1e-12,
    )
