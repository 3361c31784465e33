"""Every figure function on small synthetic data: it draws what its data says, deterministically."""

import numpy as np
import pytest
import synthetic

from bptt.report import figures


def line_data(figure):
    """(x, y) of every solid line drawn in the figure's axes."""
    return [
        (line.get_xdata(), line.get_ydata())
        for ax in figure.axes
        for line in ax.get_lines()
        if line.get_linestyle() == "-"
    ]


def test_lag_profiles_has_a_panel_per_cell_and_activation_and_medians_of_the_data(tables):
    gradients, _ = tables
    figure = figures.lag_profiles(gradients)
    titles = {ax.get_title() for ax in figure.axes}
    assert {"Elman RNN, tanh", "LSTM, sigmoid", "GRU, linear"} <= titles
    assert len([ax for ax in figure.axes if ax.get_title()]) == 12
    panel = next(ax for ax in figure.axes if ax.get_title() == "Elman RNN, tanh")
    longest = gradients[(gradients.seq_len == gradients.seq_len.max()) & (gradients.cell == "rnn")
                        & (gradients.activation == "tanh") & (gradients.radius == 0.5)]
    expected = longest.groupby("lag")["log10_grad_h"].median()
    drawn = [line for line in panel.get_lines() if line.get_linestyle() == "-"]
    assert any(np.allclose(line.get_ydata(), expected.to_numpy()) for line in drawn)
    # The dashed reference is rho^lag from the lag-0 value: slope log10(0.5) per step.
    dashed = [line for line in panel.get_lines() if line.get_linestyle() == "--"]
    slopes = {round(float(np.polyfit(l.get_xdata(), l.get_ydata(), 1)[0]), 6) for l in dashed}
    assert round(np.log10(0.5), 6) in slopes


def test_weight_contributions_plots_the_dW_column(tables):
    gradients, _ = tables
    figure = figures.weight_contributions(gradients)
    drawn = np.concatenate([y for _, y in line_data(figure)])
    longest = gradients[gradients.seq_len == gradients.seq_len.max()]
    finite = longest["log10_dW_hh_contrib"][np.isfinite(longest["log10_dW_hh_contrib"])]
    assert np.nanmax(drawn) == pytest.approx(finite.max())


def test_end_to_end_uses_sequence_length_on_x(tables):
    _, summary = tables
    figure = figures.end_to_end(summary)
    xs = {tuple(x) for x, _ in line_data(figure) if len(x) > 1}
    assert tuple(sorted(summary.seq_len.unique())) in xs


def test_phase_diagram_colours_the_median_log_decay_and_marks_pascanu(tables):
    _, summary = tables
    figure = figures.phase_diagram(summary)
    panels = [ax for ax in figure.axes if ax.get_title() in {"Elman RNN", "LSTM", "GRU"}]
    assert [ax.get_title() for ax in panels] == ["Elman RNN", "LSTM", "GRU"]
    image = panels[0].get_images()[0].get_array()
    runs = summary[(summary.seq_len == summary.seq_len.max()) & (summary.cell == "rnn")]
    tanh = runs[runs.activation == "tanh"].groupby("radius")["decay_rate"].median()
    assert np.allclose(image[0], np.log10(tanh.to_numpy()))
    # Pascanu's bound gamma_f * rho reaches 1 between radius 0.9 and 1.1 (columns 1 and 2) for
    # tanh, relu and linear; never for sigmoid (gamma_f = 1/4, rho <= 2): three rows of stubs.
    stubs = [line.get_xdata()[0] for line in panels[0].get_lines()]
    assert len(stubs) == 2 * 3
    assert all(1 < x < 2 for x in stubs)


def test_eigenvalue_plane_has_a_panel_per_init_and_radius(eigenvalues):
    figure = figures.eigenvalue_plane(eigenvalues)
    assert len(figure.axes) == 2 * eigenvalues.radius.nunique()
    points = sum(len(ax.collections[0].get_offsets()) for ax in figure.axes)
    assert points == len(eigenvalues)
    # synthetic.eigenvalues gives Gaussian matrices a norm of twice their radius
    titles = [ax.get_title() for ax in figure.axes]
    assert "gaussian, ρ = 1\n‖U‖₂ = 2.00" in titles and "orthogonal, ρ = 1\n‖U‖₂ = 1.00" in titles


def test_gamma_against_bound_places_a_point_per_run(tables):
    gradients, summary = tables
    figure = figures.gamma_against_bound(gradients, summary)
    longest = summary[summary.seq_len == summary.seq_len.max()]
    xs = np.concatenate([line.get_xdata() for ax in figure.axes for line in ax.get_lines()
                         if line.get_marker() == "o"])
    assert sorted(xs) == pytest.approx(sorted(longest["pascanu_bound"]))


def test_svg_is_deterministic_text_without_a_date(tables):
    _, summary = tables
    first = figures.to_svg(figures.end_to_end(summary))
    second = figures.to_svg(figures.end_to_end(summary))
    assert first == second
    assert "<dc:date>" not in first
    assert "<text" in first  # svg.fonttype none: text stays text


def test_radius_colours_put_one_in_black_and_sides_apart():
    palette = figures.radius_colours([0.5, 1.0, 2.0])
    assert palette[1.0] == (0, 0, 0, 1)
    blue, red = palette[0.5], palette[2.0]
    assert blue[2] > blue[0] and red[0] > red[2]


def test_overflowed_runs_do_not_break_the_figures():
    gradients, summary = synthetic.tables(radii=(0.5, 1.0, 200.0), seq_lens=(150,), cells=("rnn",),
                                          activations=("linear",), seeds=(0,))
    assert summary["overflow"].any() and np.isinf(gradients["log10_grad_h"]).any()
    for figure in (figures.lag_profiles(gradients), figures.phase_diagram(summary)):
        assert figures.to_svg(figure).startswith("<?xml")
