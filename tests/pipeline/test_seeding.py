"""The documented stream layout of bptt.pipeline.seeding, and the controls it promises."""

import numpy as np
import pytest

from bptt.core import cells
from bptt.pipeline import seeding


def test_streams_are_the_documented_spawned_children():
    for index, name in enumerate(seeding.STREAMS):
        child = np.random.SeedSequence(7).spawn(len(seeding.STREAMS))[index]
        expected = np.random.default_rng(child).standard_normal(5)
        np.testing.assert_array_equal(seeding.rng(7, name).standard_normal(5), expected)


def test_shorter_sequence_is_a_prefix_of_a_longer_one():
    long = seeding.inputs(3, 50, 4, 2, 1.5)
    np.testing.assert_array_equal(seeding.inputs(3, 7, 4, 2, 1.5), long[:7])


def test_seeds_and_streams_differ():
    assert not np.array_equal(seeding.inputs(0, 5, 2, 2, 1.0), seeding.inputs(1, 5, 2, 2, 1.0))
    assert not np.array_equal(seeding.rng(0, "rnn").random(4), seeding.rng(0, "gru").random(4))


@pytest.mark.parametrize("kind", cells.KINDS)
def test_points_of_one_cell_share_base_weights(kind):
    def make(activation, radius):
        return cells.make(
            kind, input_size=3, hidden_size=4, activation=activation, radius=radius, rng=seeding.rng(5, kind)
        ).params

    base = make("tanh", 1.0)
    for activation, radius in [("relu", 1.0), ("tanh", 0.5), ("linear", 1.5)]:
        other = make(activation, radius)
        np.testing.assert_array_equal(other["weight_ih"], base["weight_ih"])
        np.testing.assert_allclose(other["weight_hh"], radius * base["weight_hh"], rtol=1e-12)


def test_targets_follow_the_loss():
    classes = seeding.targets(0, "cross_entropy", 6, 3)
    assert classes.shape == (6,) and set(classes) <= {0, 1, 2}
    assert seeding.targets(0, "mse", 6, 3).shape == (6, 3)


def test_unknown_stream_is_rejected():
    with pytest.raises(ValueError, match="allowed: inputs"):
        seeding.rng(0, "weights")


def test_step_targets_follow_the_loss_and_a_shorter_sequence_draws_a_prefix():
    classes = seeding.step_targets(0, "cross_entropy", 9, 4, 3)
    assert classes.shape == (9, 4) and set(classes.ravel()) <= {0, 1, 2}
    np.testing.assert_array_equal(seeding.step_targets(0, "cross_entropy", 5, 4, 3), classes[:5])
    vectors = seeding.step_targets(0, "mse", 9, 4, 3)
    assert vectors.shape == (9, 4, 3)
    np.testing.assert_array_equal(seeding.step_targets(0, "mse", 5, 4, 3), vectors[:5])
