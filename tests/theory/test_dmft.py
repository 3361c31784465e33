"""The dynamical mean field of the gated cells (bptt.theory.dmft): its Gaussian-process sampler, the limits where
it is exact, its Monte Carlo spread, and its arguments. The 512-unit comparison is in test_gated.py."""

import math

import numpy as np
import pytest

from bptt.theory import dmft, gated, meanfield

STEPS, FIRST_LAG, LAST_LAG = 32, 4, 24
SHORT = 8


def _window_rate(log_norm):
    lag = np.arange(STEPS - 1, -1, -1)
    sel = (lag >= FIRST_LAG) & (lag <= LAST_LAG)
    return 10 ** np.polyfit(lag[sel], log_norm[sel], 1)[0]


@pytest.mark.parametrize(
    "name,cov",
    [
        # A decaying (AR(1)) part plus a frozen one, as a sigmoid candidate's mean gives the fields.
        ("ar1 + frozen", lambda s, t: 0.7 ** abs(s - t) + 0.5),
        # Fully frozen: rank 1, every step's value is the first one.
        ("frozen", lambda s, t: 2.0 + 0.0 * (s - t)),
    ],
)
def test_the_sampler_draws_the_covariance_it_is_given_row_by_row(name, cov):
    steps, units = 12, 40000
    k = np.fromfunction(cov, (steps, steps))
    proc = dmft._Process(1, units, steps, np.random.default_rng(1))
    g = np.stack([proc.next(k[t, : t + 1])[0] for t in range(steps)])  # (steps, units)
    sample = g @ g.T / units
    # The sample covariance of n Gaussians: sd of entry (s, t) is sqrt((k_ss k_tt + k_st^2) / n).
    sd = np.sqrt((np.outer(np.diag(k), np.diag(k)) + k * k) / units)
    z = np.abs(sample - k) / sd
    assert z.max() < 5, f"{name}: largest deviation {z.max():.1f} sd"
    if name == "frozen":
        np.testing.assert_allclose(g, np.broadcast_to(g[0], g.shape), rtol=1e-12)


@pytest.mark.parametrize("bias", [0.0, 1.0])
def test_without_recurrence_the_gru_rate_is_the_update_gates_root_mean_square(bias):
    # rho = 0: no field, z_t iid across steps, dL/dh_{t-1} = z_t dL/dh_t, so E[prod z^2] = prod E[z^2]:
    # the static theory is exact and the process must meet it, within its Monte Carlo error. Over SHORT
    # lags only: log prod z^2 spreads like sqrt(lag), and beyond ~10 steps the mean of prod z^2 rests on
    # samples rarer than 1 in UNITS (docs/theory.md, "Monte Carlo error").
    log_h, _ = dmft.dmft_profile("gru", "tanh", 0.0, bias, SHORT)
    got = 10 ** (log_h[0] / (SHORT - 1))
    want = gated.gated_gradient_rate("gru", "tanh", 0.0, bias)
    assert got == pytest.approx(want, abs=5e-3), f"process {got:.5f}, exact {want:.5f}"


def test_without_recurrence_the_lstm_cell_path_decays_as_its_forget_gate():
    # rho = 0: dL/dh_{t-1} = U^T dL/da = 0 below the loss, so dL/dc_{t-1} = dL/dc_t f_t with iid f_t:
    # ||dL/dc|| falls by sqrt(E[f^2]) per step exactly.
    log_h, log_c = dmft.dmft_profile("lstm", "tanh", 0.0, 1.0, SHORT)
    assert np.all(log_h[:-1] == -np.inf)
    f2 = meanfield._expect(lambda u: 1 / (1 + np.exp(-(1.0 + u))) ** 2, 1.0)
    assert 10 ** ((log_c[0] - log_c[-2]) / (SHORT - 2)) == pytest.approx(math.sqrt(f2), abs=5e-3)


def test_a_large_update_bias_gives_the_identitys_rate():
    # b_z = 12: z_t = 1 - 6e-6, h_t = h_{t-1} up to that: the identity's rate, 1.
    for activation in ("tanh", "sigmoid"):
        rate = _window_rate(dmft.dmft_profile("gru", activation, 1.0, 12.0, STEPS)[0])
        assert abs(rate - 1.0) < 1e-4, f"{activation}: {rate:.6f}"


def test_a_forget_gate_held_at_1_keeps_the_cell_paths_gradient():
    # b_f = 40: f_t rounds to 1, so dL/dc_{t-1} = dL/dc_t + dL/dh_t o_t f'(c_t). Without recurrence dL/dh is 0
    # below the loss and ||dL/dc|| stays exactly what the loss put on c_{T-1}: the cell path's rate, 1.
    _, log_c = dmft.dmft_profile("lstm", "tanh", 0.0, 40.0, STEPS)
    np.testing.assert_allclose(log_c[:-1], log_c[-2], rtol=0, atol=1e-12)
    # With recurrence the h path only adds to it: over the sequence ||dL/dc|| grows.
    _, log_c = dmft.dmft_profile("lstm", "tanh", 1.0, 40.0, STEPS)
    assert np.isfinite(log_c[:-1]).all() and log_c[0] > log_c[-2], (log_c[0], log_c[-2])


def test_the_monte_carlo_spread_over_seeds_is_small_where_the_field_decorrelates():
    # tanh, rho = 1: two seeds of UNITS samples give window rates within 0.005 of each other (the target
    # tests/theory/test_gated.py sets for the 512-unit comparison).
    rates = [_window_rate(dmft.dmft_profile("lstm", "tanh", 1.0, 1.0, STEPS, seed=s)[0]) for s in (1, 2)]
    assert abs(rates[0] - rates[1]) < 0.005, rates


@pytest.mark.parametrize(
    "args,kw,match",
    [
        (("rnn", "tanh", 1.0, 0.0, 8), {}, "cell must be one of"),
        (("lstm", "relu", 1.0, 0.0, 8), {}, "activation must be one of"),
        (("lstm", "tanh", 1.0, "chrono", 8), {"units": 8}, "chrono"),
        (("gru", "tanh", 1.0, 0.0, 1), {}, "steps must be an integer >= 2"),
        (("gru", "tanh", 1.0, 0.0, 8), {"units": 1}, "units must be an integer >= 2"),
    ],
)
def test_bad_arguments_name_the_argument_and_what_is_allowed(args, kw, match):
    with pytest.raises(ValueError, match=match):
        dmft.dmft_profile(*args, **kw)


@pytest.mark.parametrize(
    "kw,match", [({"burn_in": 4, "window": 1}, "window must be"), ({"burn_in": -1, "window": 4}, "burn_in must be")]
)
def test_the_window_rate_names_a_bad_window(kw, match):
    with pytest.raises(ValueError, match=match):
        dmft.dmft_rate("gru", "tanh", 1.0, 0.0, units=8, **kw)


def test_the_window_rate_is_the_profiles_slope_over_the_last_lags():
    log_h, _ = dmft.dmft_profile("gru", "tanh", 1.0, 1.0, 30, units=256)
    want = 10 ** np.polyfit(np.arange(9, -1, -1), log_h[20:], 1)[0]
    assert dmft.dmft_rate("gru", "tanh", 1.0, 1.0, burn_in=20, window=10, units=256) == pytest.approx(want, rel=1e-12)
