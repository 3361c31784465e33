import numpy as np
import pytest

from bptt.core import activations

Z = np.concatenate([np.linspace(-6, -1e-3, 200), np.linspace(1e-3, 6, 200)])


def test_registry_names():
    assert activations.NAMES == ("tanh", "sigmoid", "relu", "linear")
    for name in activations.NAMES:
        assert activations.get(name).name == name


@pytest.mark.parametrize("name", activations.NAMES)
def test_derivative_matches_central_differences(name):
    a = activations.get(name)
    eps = 1e-6
    fd = (a.f(Z + eps) - a.f(Z - eps)) / (2 * eps)
    np.testing.assert_allclose(a.df(Z), fd, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "name, log_slope",
    [
        # log f'(z) in closed form, with no rounding of f(z) to its bound in between.
        ("tanh", lambda z: np.log(4.0) - 2 * np.abs(z) - 2 * np.log1p(np.exp(-2 * np.abs(z)))),
        ("sigmoid", lambda z: -np.abs(z) - 2 * np.log1p(np.exp(-np.abs(z)))),
    ],
)
def test_saturated_slopes_keep_full_precision_where_the_output_has_rounded_to_its_bound(name, log_slope):
    a = activations.get(name)
    z = np.array([-a.saturates_beyond, -300.0, -40.0, -20.0, 20.0, 40.0, 300.0, a.saturates_beyond])
    slope = a.df(z)
    np.testing.assert_allclose(slope, np.exp(log_slope(z)), rtol=1e-13)
    assert (slope >= np.finfo(float).tiny).all()  # still a normal number at saturates_beyond
    # The slope written from the output, 1 - y^2 or y (1 - y), is 0 at z = 40 already.
    y = a.f(np.array([40.0]))
    assert (1 - y * y if name == "tanh" else y * (1 - y))[0] == 0.0


@pytest.mark.parametrize("name", activations.NAMES)
def test_gamma_bound_is_the_supremum_of_the_derivative(name):
    a = activations.get(name)
    z = np.linspace(-20, 20, 400_001)  # contains 0, where tanh' and sigmoid' peak
    sup = a.df(z).max()
    assert sup == pytest.approx(a.gamma_bound, rel=1e-12)


@pytest.mark.parametrize("name", activations.NAMES)
def test_out_argument_writes_in_place_and_matches(name):
    a = activations.get(name)
    z = np.random.default_rng(0).standard_normal((3, 4))
    want = a.f(z.copy())
    buf = z.copy()
    assert a.f(buf, out=buf) is buf
    np.testing.assert_array_equal(buf, want)


def test_sigmoid_saturates_without_warnings_and_keeps_small_values_exact():
    sigmoid = activations.get("sigmoid")
    with np.errstate(all="raise"):
        y = sigmoid.f(np.array([-1e4, 0.0, 1e4]))
        np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])
        z = np.array([-40.0, -300.0, -700.0])
        y, dy = sigmoid.f(z), sigmoid.df(z)
    # sigma(z) = e^z / (1 + e^z); its derivative keeps the same precision.
    np.testing.assert_allclose(y, np.exp(z) / (1 + np.exp(z)), rtol=1e-13)
    np.testing.assert_allclose(dy, np.exp(z) / (1 + np.exp(z)) ** 2, rtol=1e-13)


@pytest.mark.parametrize("bad", ["Tanh", "softplus", "", None, 3])
def test_unknown_activation_names_the_allowed_ones(bad):
    with pytest.raises(ValueError, match=r"activation must be one of \('tanh', 'sigmoid', 'relu', 'linear'\)"):
        activations.get(bad)
