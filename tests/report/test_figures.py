"""Every figure function on small synthetic data: it draws what its data says, deterministically."""

import numpy as np
import pytest
import synthetic

from bptt.report import data, figures


def line_data(figure, style="-"):
    """(x, y) of every line of the given style drawn in the figure's axes."""
    return [
        (line.get_xdata(), line.get_ydata())
        for ax in figure.axes
        for line in ax.get_lines()
        if line.get_linestyle() == style
    ]


def panel(figure, title):
    return next(ax for ax in figure.axes if ax.get_title() == title)


def test_lag_profiles_draw_the_medians_and_the_elman_references_only(main, tables):
    figure = figures.lag_profiles(main.gradients, tables.theory)
    assert len([ax for ax in figure.axes if ax.get_title()]) == 12
    rnn = panel(figure, "Elman RNN, tanh")
    longest = main.gradients[
        (main.gradients.seq_len == main.gradients.seq_len.max())
        & (main.gradients.cell == "rnn")
        & (main.gradients.activation == "tanh")
        & (main.gradients.radius == 0.5)
    ]
    expected = longest.groupby("lag")["log10_grad_h"].median()
    assert any(
        np.allclose(line.get_ydata(), expected.to_numpy()) for line in rnn.get_lines() if line.get_linestyle() == "-"
    )
    # The dash-dotted mean-field line has the predicted slope log10(0.75 rho) per step.
    slopes = {
        round(float(np.polyfit(x, y, 1)[0]), 6)
        for x, y in [(l.get_xdata(), l.get_ydata()) for l in rnn.get_lines() if l.get_linestyle() == "-."]
    }
    assert round(np.log10(0.75 * 0.5), 6) in slopes
    # A gated panel: no Pascanu bound, and the gated mean-field rate at its gate bias (here 0), where the
    # gated theory covers the activation (tanh, not relu).
    lstm = panel(figure, "LSTM, tanh")
    assert {line.get_linestyle() for line in lstm.get_lines()} == {"-", "-."}
    gated = {
        round(float(np.polyfit(l.get_xdata(), l.get_ydata(), 1)[0]), 6)
        for l in lstm.get_lines()
        if l.get_linestyle() == "-."
    }
    want = synthetic.GATED_MEANFIELD * synthetic.decay("lstm", "tanh", 0.5, 0.0, ("orthogonal", "0"))
    assert round(np.log10(want), 6) in gated
    assert {line.get_linestyle() for line in panel(figure, "LSTM, relu").get_lines()} == {"-"}


def test_a_lag_some_seed_could_not_measure_is_a_gap_not_a_median_of_the_others(main, tables):
    gradients = main.gradients.copy()
    longest = gradients["seq_len"] == gradients["seq_len"].max()
    point = longest & (gradients.cell == "rnn") & (gradients.activation == "tanh") & (gradients.radius == 0.5)
    lag = 7
    gradients.loc[point & (gradients.lag == lag) & (gradients.seed == gradients.seed.min()), "log10_grad_h"] = np.nan
    rnn = panel(figures.lag_profiles(gradients, tables.theory), "Elman RNN, tanh")
    expected = gradients[point].groupby("lag")["log10_grad_h"].median()  # skips the NaN: the jump the figure avoids
    [line] = [
        line
        for line in rnn.get_lines()
        if line.get_linestyle() == "-" and np.allclose(line.get_ydata()[:lag], expected.to_numpy()[:lag])
    ]
    assert np.isnan(line.get_ydata()[lag]) and np.isfinite(np.delete(line.get_ydata(), lag)).all()


def test_weight_contributions_plots_the_dW_column(main):
    figure = figures.weight_contributions(main.gradients)
    drawn = np.concatenate([y for _, y in line_data(figure)])
    longest = main.gradients[main.gradients.seq_len == main.gradients.seq_len.max()]
    finite = longest["log10_dW_hh_contrib"][np.isfinite(longest["log10_dW_hh_contrib"])]
    assert np.nanmax(drawn) == pytest.approx(finite.max())


def test_end_to_end_uses_sequence_length_on_x(main):
    figure = figures.end_to_end(main.summary)
    xs = {tuple(x) for x, _ in line_data(figure) if len(x) > 1}
    assert tuple(sorted(main.summary.seq_len.unique())) in xs


def test_phase_diagram_marks_pascanu_and_the_edge_of_chaos_in_the_elman_panel_only(main, tables):
    figure = figures.phase_diagram(main.summary, tables.theory)
    panels = [ax for ax in figure.axes if ax.get_title() in {"Elman RNN", "LSTM", "GRU"}]
    assert [ax.get_title() for ax in panels] == ["Elman RNN", "LSTM", "GRU"]
    image = panels[0].get_images()[0].get_array()
    runs = main.summary[(main.summary.seq_len == main.summary.seq_len.max()) & (main.summary.cell == "rnn")]
    tanh = runs[runs.activation == "tanh"].groupby("radius")["decay_rate"].median()
    assert np.allclose(image[0], figures.STEPS * np.log10(tanh.to_numpy()))
    # Colour is the size of the effect, centred on 0: a rate of 0.84 (10^-7.6 over 100 steps) is deep blue.
    norm = panels[0].get_images()[0].norm
    assert norm(0.0) == pytest.approx(0.5)
    assert norm(100 * np.log10(0.84)) < 0.2 and norm(-100 * np.log10(0.84)) > 0.8
    assert "decades" in figure.axes[-1].get_ylabel() and f"over {figures.STEPS} steps" in figure.axes[-1].get_ylabel()
    # Every number and label in the squares is at least 9 px on the page at 1280 px.
    sizes = [figures.page_px(text.get_fontsize(), figure.get_figwidth()) for ax in panels for text in ax.texts]
    assert len(sizes) >= 3 * 4 * 4 and min(sizes) >= 9
    # Pascanu's factor reaches 1 between radius 0.9 and 1.1 for tanh, relu and linear (3 rows of two
    # stubs); mean field's edge of chaos lies inside the grid for tanh (1/0.75), relu (sqrt 2) and
    # linear (1): three triangles; the sigmoid's (1/0.22) is named at the edge.
    stubs = [line for line in panels[0].get_lines() if line.get_marker() in ("None", None, "")]
    assert len(stubs) == 2 * 3
    assert len([line for line in panels[0].get_lines() if line.get_marker() == "^"]) == 3
    assert any(r"$\rho_c$=4.5→" in text.get_text() for text in panels[0].texts)
    assert all(not ax.get_lines() for ax in panels[1:])


def test_eigenvalue_plane_has_a_panel_per_init_and_radius(tables):
    eigenvalues = tables.eigenvalues
    figure = figures.eigenvalue_plane(eigenvalues)
    assert len(figure.axes) == 2 * eigenvalues.radius.nunique()
    points = sum(len(ax.collections[0].get_offsets()) for ax in figure.axes)
    assert points == len(eigenvalues)
    titles = [ax.get_title() for ax in figure.axes]
    assert "gaussian, ρ = 1\n‖U‖₂ = 2.00" in titles and "orthogonal, ρ = 1\n‖U‖₂ = 1.00" in titles
    # With the grid's initialisations, one the runs never use is titled as a contrast, not as a run.
    titles = [ax.get_title() for ax in figures.eigenvalue_plane(eigenvalues, ["orthogonal", "identity"]).axes]
    assert "gaussian (not run), ρ = 1\n‖U‖₂ = 2.00" in titles and "orthogonal, ρ = 1\n‖U‖₂ = 1.00" in titles


def test_rate_hierarchy_draws_bound_gamma_rate_and_mean_field_per_elman_activation(main, tables):
    figure = figures.rate_hierarchy(main.gradients, main.summary, tables.theory)
    tanh = panel(figure, "Elman RNN, tanh")
    lines = {line.get_label(): line for line in tanh.get_lines()}
    radii = np.array([0.5, 0.9, 1.1, 2.0])
    assert np.allclose(lines[figures.PASCANU_FACTOR].get_ydata(), radii)  # gamma_f = 1 for tanh
    assert np.allclose(lines["measured rate"].get_ydata(), 0.7 * radii)
    mean_field = lines["mean field √χ₁"]
    assert np.allclose(mean_field.get_ydata(), 0.75 * mean_field.get_xdata())


def test_remedies_draw_one_line_per_variant(tables):
    figure = figures.remedies(data.survival(tables.gradients))
    assert [ax.get_title() for ax in figure.axes] == ["Elman RNN, ReLU", "LSTM, tanh", "GRU, tanh"]
    assert len([l for l in panel(figure, "LSTM, tanh").get_lines() if l.get_marker() == "o"]) == 3
    assert len([l for l in panel(figure, "Elman RNN, ReLU").get_lines() if l.get_marker() == "o"]) == 2


def test_svg_is_deterministic_text_without_a_date(main):
    first = figures.to_svg(figures.end_to_end(main.summary))
    second = figures.to_svg(figures.end_to_end(main.summary))
    assert first == second
    assert "<dc:date>" not in first
    assert "<text" in first  # svg.fonttype none: text stays text


def test_radius_colours_put_one_in_black_and_sides_apart():
    palette = figures.radius_colours([0.5, 1.0, 2.0])
    assert palette[1.0] == (0, 0, 0, 1)
    blue, red = palette[0.5], palette[2.0]
    assert blue[2] > blue[0] and red[0] > red[2]


def test_overflowed_runs_do_not_break_the_figures():
    t = synthetic.tables(radii=(0.5, 1.0, 200.0), seq_lens=(150,), cells=("rnn",), activations=("linear",), seeds=(0,))
    assert t.summary["overflow"].any() and np.isinf(t.gradients["log10_grad_h"]).any()
    for figure in (figures.lag_profiles(t.gradients, t.theory), figures.phase_diagram(t.summary, t.theory)):
        assert figures.to_svg(figure).startswith("<?xml")


def test_an_exact_zero_left_after_the_lag_is_a_marker_on_the_floor_not_a_line_to_it(tables):
    survival = data.survival(tables.gradients)
    row = (
        (survival["cell"] == "rnn")
        & (survival["activation"] == "relu")
        & (survival["radius"] == survival["radius"].min())
    )
    survival.loc[row, "log10_survival"] = -np.inf
    figure = figures.remedies(survival)
    ax = figure.axes[0]
    floor = [line for line in ax.lines if line.get_marker() == "v" and len(line.get_xdata())]
    assert sorted(y for line in floor for y in line.get_ydata()) == [-figures.LOG10_LIMIT] * int(row.sum())
    for line in (line for line in ax.lines if line.get_marker() == "o"):  # the variants' lines skip the zero
        smallest = np.argmin(line.get_xdata())
        assert np.isnan(line.get_ydata()[smallest]) and np.isfinite(line.get_ydata()[smallest + 1 :]).all()
    assert "exactly 0" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_rate_hierarchy_sets_each_gated_cell_beside_its_prediction(main, tables):
    figure = figures.rate_hierarchy(main.gradients, main.summary, tables.theory)
    lstm = panel(figure, "LSTM, tanh, b = 0")
    lines = {line.get_label(): line for line in lstm.get_lines()}
    radii = np.array([0.5, 0.9, 1.1, 2.0])
    model = np.array([synthetic.decay("lstm", "tanh", r, 0.0, ("orthogonal", "0")) for r in radii])
    assert np.allclose(lines["measured rate"].get_ydata(), model)
    assert np.allclose(lines["measured, H = 512"].get_ydata(), 0.95 * model + np.where(radii < 1, 0.001, 0.02))
    curve = lines["static mean field"]
    assert len(curve.get_xdata()) > len(radii)  # the smooth curve between the grid's radii
    want = 0.95 * model + np.where(radii > 1, 0.019, 0.0)  # synthetic: the dynamical prediction closes the gap
    assert np.allclose(lines["dynamical"].get_xdata(), radii) and np.allclose(lines["dynamical"].get_ydata(), want)
    assert not any(ax.get_title().startswith("LSTM, relu") for ax in figure.axes)  # no theory for relu


def test_remedies_draw_the_predicted_curve_of_each_numeric_gate_bias(tables):
    figure = figures.remedies(data.survival(tables.gradients), tables.theory)
    lstm = panel(figure, "LSTM, tanh")
    predicted = [l for l in lstm.get_lines() if l.get_linestyle() == "-." and len(l.get_xdata())]
    assert len(predicted) == 2  # gate biases 0 and 1; chrono has no single rate
    lag = int(data.survival(tables.gradients)["lag"].iloc[0])
    x, y = predicted[0].get_xdata(), predicted[0].get_ydata()
    want = [lag * np.log10(0.95 * synthetic.decay("lstm", "tanh", r, 0.0, ("orthogonal", "0"))) for r in x]
    assert np.allclose(y, want)
