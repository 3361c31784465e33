"""The fast sweep (log space, chunks, stacks, the overflow guard) against the plain reference BPTT."""

import numpy as np
import pytest

from bptt.core import activations, cells, gradients, reference

CASES = [(k, a) for k in cells.KINDS for a in activations.NAMES]


def make(kind, activation, radius=1.1, seed=0, hidden=5):
    rng = np.random.default_rng(seed)
    cell = cells.make(kind, input_size=3, hidden_size=hidden, activation=activation, radius=radius, rng=rng)
    params = {
        k: v + (0.2 * rng.standard_normal(v.shape) if k.startswith("bias") else 0) for k, v in cell.params.items()
    }
    return cells.from_params(kind, params, activation=activation)


def inputs(seed, T=30, B=3, hidden=5):
    rng = np.random.default_rng(seed + 100)
    return rng.standard_normal((T, B, 3)), rng.standard_normal((B, hidden))


@pytest.mark.parametrize("kind,activation", CASES)
def test_the_fast_sweep_equals_the_plain_reference(kind, activation):
    cell = make(kind, activation)
    x, dh = inputs(0)
    want_h, want_grads = reference.bptt(cell, x, dh)
    got_h, got_grads = gradients.lag_profile_and_grads(cell, x, dh)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(got_h, np.log10(np.linalg.norm(want_h, axis=2)), rtol=0, atol=1e-12)
    for name, g in want_grads.items():
        np.testing.assert_allclose(got_grads[name], g, rtol=1e-11, atol=1e-14 * np.abs(g).max(), err_msg=name)


@pytest.mark.parametrize("kind", cells.KINDS)
def test_a_stack_of_networks_gives_each_network_its_own_results(kind):
    members = [make(kind, "tanh", radius=r, seed=s) for r, s in [(0.5, 0), (1.0, 1), (1.5, 2)]]
    xs, dhs = zip(*(inputs(s) for s in range(3)))
    stacked = gradients.profile(cells.stack(members), np.stack(xs, axis=1), np.stack(dhs))
    for m, (cell, x, dh) in enumerate(zip(members, xs, dhs)):
        alone = gradients.profile(cell, x, dh)
        for field in ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step"):
            if getattr(alone, field) is not None:
                np.testing.assert_allclose(getattr(stacked, field)[:, m], getattr(alone, field), rtol=0, atol=1e-12)
        for name, g in alone.param_grads.items():
            np.testing.assert_allclose(stacked.param_grads[name][m], g, rtol=1e-12, atol=0)
            assert stacked.log10_grad_norm[name][m] == pytest.approx(alone.log10_grad_norm[name], abs=1e-12)
        assert stacked.spectral_radius[m] == pytest.approx(alone.spectral_radius, rel=1e-12)


def test_models_of_a_stack_that_overflow_at_different_steps_are_cut_each_at_its_own_step():
    members = [make("rnn", "linear", radius=r, seed=0, hidden=4) for r in (0.9, 3.0, 6.0)]
    rng = np.random.default_rng(3)
    x, dh = rng.standard_normal((800, 2, 3)), rng.standard_normal((2, 4))
    stacked = gradients.profile(cells.stack(members), np.stack([x] * 3, axis=1), np.stack([dh] * 3))
    for m, cell in enumerate(members):
        alone = gradients.profile(cell, x, dh)
        assert stacked.overflow_step[m] == alone.overflow_step
        np.testing.assert_allclose(stacked.log10_grad_h[:, m], alone.log10_grad_h, rtol=0, atol=1e-12)
    assert stacked.overflow_step[0] == -1 and 0 < stacked.overflow_step[2] < stacked.overflow_step[1]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_the_overflow_guard_scales_exactly(kind, monkeypatch):
    # Force the guard at every step: scaling by powers of two and moving them to log space
    # must leave every result as it was.
    cell = make(kind, "linear", radius=1.3)
    x, dh = inputs(1)
    plain = gradients.profile(cell, x, dh)
    monkeypatch.setattr(gradients, "GUARD_EXPONENT", -20)
    guarded = gradients.profile(cell, x, dh)
    for field in ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step"):
        if getattr(plain, field) is not None:
            np.testing.assert_allclose(
                getattr(guarded, field), getattr(plain, field), rtol=0, atol=1e-12, err_msg=field
            )
    for name, g in plain.param_grads.items():
        np.testing.assert_allclose(guarded.param_grads[name], g, rtol=1e-12, atol=1e-14 * np.abs(g).max(), err_msg=name)


def test_a_starting_log10_scale_multiplies_dh_last_exactly_per_sample():
    cell = make("gru", "tanh")
    x, dh = inputs(2)
    scale = np.array([0.0, 2.5, -700.0])  # the last: dh_last * 1e-700, below float64 as a number
    shifted, grads = gradients.lag_profile_and_grads(cell, x, dh, scale)
    np.testing.assert_allclose(shifted - scale, gradients.lag_profile(cell, x, dh), rtol=0, atol=1e-12)
    # Sample 2 adds ~1e-700 of a gradient: nothing float64 can see next to samples 0 and 1.
    want = gradients.param_grads(cell, x, dh * np.array([1.0, 10**2.5, 0.0])[:, None])
    for name, g in want.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-12, atol=1e-14 * np.abs(g).max(), err_msg=name)
