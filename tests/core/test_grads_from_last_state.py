"""param_grads_from_last_state: param_grads with dh_last chosen from h_{T-1} in the same forward pass."""

import numpy as np
import pytest

from bptt.core import cells, gradients


def _stack(kind, activation="tanh", radius=0.9, m=3, seed=0):
    rng = np.random.default_rng(seed)
    return cells.stack(
        [cells.make(kind, input_size=2, hidden_size=3, activation=activation, radius=radius, rng=rng) for _ in range(m)]
    )


@pytest.mark.parametrize("kind", cells.KINDS)
def test_equals_param_grads_of_the_same_dh_last_bit_for_bit(kind):
    cell, x = _stack(kind), np.random.default_rng(1).standard_normal((7, 3, 4, 2))
    seen = []

    def head(h_last, models):  # L = sum h_{T-1}^2 / 2, so dh_last = h_{T-1}
        seen.append(models.tolist())
        return h_last.copy()

    grads, finite = gradients.param_grads_from_last_state(cell, x, head)
    want = gradients.param_grads(cell, x, cells.forward(cell, x)[-1])
    assert seen == [[0, 1, 2]] and finite.tolist() == [True, True, True]
    for name in want:
        np.testing.assert_array_equal(grads[name], want[name])


def test_a_model_whose_forward_pass_overflows_gets_nan_and_the_others_their_own_gradients():
    # A linear Elman cell with rho = 50 leaves float64 within 200 steps; rho = 0.9 does not.
    cell = cells.stack(
        [
            cells.make("rnn", input_size=2, hidden_size=3, activation="linear", radius=r, rng=np.random.default_rng(i))
            for i, r in enumerate([0.9, 50.0, 0.8])
        ]
    )
    x = np.random.default_rng(2).standard_normal((200, 3, 2, 2))
    seen = []
    grads, finite = gradients.param_grads_from_last_state(cell, x, lambda h, m: seen.append(m.tolist()) or h.copy())
    assert finite.tolist() == [True, False, True] and seen[-1] == [0, 2]
    for name, g in grads.items():
        assert np.isnan(g[1]).all() and np.isfinite(g[[0, 2]]).all()
        for i in (0, 2):
            one = cells.Cell("rnn", "linear", {k: v[i] for k, v in cell.params.items()})
            want = gradients.param_grads(one, x[:, i], cells.forward(one, x[:, i])[-1])
            np.testing.assert_allclose(g[i], want[name], rtol=1e-12)


def test_a_head_that_returns_a_non_finite_dh_last_is_refused():
    cell, x = _stack("gru"), np.zeros((3, 3, 2, 2))
    with pytest.raises(ValueError, match="finite dh_last of shape"):
        gradients.param_grads_from_last_state(cell, x, lambda h, m: np.full_like(h, np.inf))
    with pytest.raises(ValueError, match="needs a stack"):
        gradients.param_grads_from_last_state(
            cells.make("gru", input_size=2, hidden_size=3, activation="tanh", radius=1.0, rng=np.random.default_rng(0)),
            x[:, 0],
            None,
        )
