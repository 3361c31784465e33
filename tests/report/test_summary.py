"""The page's opening findings: each number equals what the tables give, each links its figure, and a
finding whose tables are missing is left out rather than faked."""

import re

import pytest
import synthetic

from bptt.report import clipping, data, intervals, render, summary, trainability


@pytest.fixture(scope="module")
def jittered():
    """Three seeds that differ, so every range is a real one."""
    return synthetic.tables(seeds=(0, 1, 2), jitter=0.05)


def test_the_elman_rate_is_the_median_and_range_over_seeds_at_three_radii(jittered, config):
    main = render.main_variant(jittered, config)
    finding = summary.elman_rate(main.summary)
    points = data.point_medians(main.summary)
    tanh = points[(points.cell == "rnn") & (points.activation == "tanh")].set_index("radius")
    for radius in (0.5, 1.1, 2.0):  # the smallest, the one nearest 1 and the largest
        p = tanh.loc[radius]
        rate = intervals.bracket(10**p.log10_decay, 10**p.log10_decay_low, 10**p.log10_decay_high)
        assert f"{rate} at ρ = {radius:g}" in finding.text
    assert "median [range] over 3 seeds" in finding.text and finding.figure == "phase_diagram"


def test_the_theory_finding_sets_prediction_grid_and_one_large_network_side_by_side(jittered, config):
    main = render.main_variant(jittered, config)
    finding = summary.elman_theory(main.summary, jittered.theory, config["hidden_size"])
    points = data.theory_against_measurement(main.summary, jittered.theory)
    relu = points[(points.activation == "relu") & (points.radius == 1.1)].iloc[0]
    measured = intervals.bracket(relu["median"], relu["min"], relu["max"])
    assert f"relu {relu.rate:.3g}, {measured}, {relu.large_h_rate:.3g}" in finding.text
    assert "one network of 512 units (one draw: no spread)" in finding.text


def test_the_remedies_finding_quotes_the_share_kept_by_every_variant(jittered, config):
    variants = data.main_variants(config["grid"]["recurrent_init"], ["0", "1", "chrono"])
    finding = summary.remedies(data.curve_shapes(jittered.summary), 1.1, variants)
    runs = jittered.summary[(jittered.summary.seq_len == 120) & (jittered.summary.radius == 1.1)]
    for cell, activation, column, variant, words in [
        ("lstm", "tanh", "gate_bias", "0", "with gate bias 0"),
        ("lstm", "tanh", "gate_bias", "chrono", "with chrono"),
        ("gru", "tanh", "gate_bias", "1", "with gate bias 1"),
        ("rnn", "relu", "recurrent_init", "identity", "with the identity initialisation"),
        ("rnn", "relu", "recurrent_init", "orthogonal", "with the orthogonal initialisation"),
    ]:
        kept = runs[(runs.cell == cell) & (runs.activation == activation) & (runs[column] == variant)]["log10_kept"]
        assert f"{intervals.decades(kept.median(), kept.min(), kept.max())} {words}" in finding.text
    assert "kept 100 steps back" in finding.text and finding.figure == "remedies"


def test_learning_quotes_the_bridge_and_its_bootstrap_interval(jittered):
    b = trainability.bridge(jittered.trainability)
    finding = summary.learning(jittered.trainability)
    assert f"Spearman's rank correlation {intervals.bracket(b['rho'], b['low'], b['high'])}" in finding.text
    assert "(95 % bootstrap interval over seeds)" in finding.text and f"across {b['points']} (model, task)" in (
        finding.text
    )
    # With the per-model table, the budget check's clause follows, the same as beside the figure.
    with_budget = summary.learning(jittered.trainability, jittered.trainability_summary)
    clause = trainability.budget_clause(jittered.trainability_summary, jittered.trainability)
    assert clause and with_budget.text == finding.text + clause


def test_clipping_quotes_the_widening_of_each_model(jittered):
    finding = summary.clipped(jittered.clipping)
    rates = clipping.divergence_rates(jittered.clipping)
    ranges = clipping.largest_stable(rates).set_index(["model", "clip"])
    for model, name in clipping.labels(jittered.clipping).items():
        sweep = sorted(rates.loc[rates["model"] == model, "learning_rate"].unique())
        widening = clipping.widening(ranges.loc[(model, "off")], ranges.loc[(model, "10")], sweep)
        assert f"{name}: {widening}" in finding.text


def test_missing_or_empty_study_tables_leave_their_findings_out(jittered, config):
    empty = jittered._replace(trainability=jittered.trainability.iloc[:0], clipping=None)
    figures = [f.figure for f in summary.findings(empty, render.main_variant(empty, config), config)]
    assert "trainability_bridge" not in figures and "clipping_divergence" not in figures
    assert summary.learning(jittered.trainability.drop(columns="timescale_init")) is None
    everything = summary.findings(jittered, render.main_variant(jittered, config), config)
    assert [f.figure for f in everything] == [
        "phase_diagram",
        "rate_hierarchy",
        "remedies",
        "trainability_bridge",
        "clipping_divergence",
    ]
    assert {f.figure for f in everything} <= set(render.LETTERS)


def test_the_page_opens_with_the_findings_each_linking_its_figure(jittered, config):
    from test_render import page

    html = page(jittered, config)
    opening = html.split('<section id="abstract"')[1].split("</section>")[0]
    for figure in ("phase_diagram", "rate_hierarchy", "remedies", "trainability_bridge", "clipping_divergence"):
        letter = render.LETTERS[figure]
        assert f'<a href="#figure-{letter}">Figure ({letter})</a>' in opening
    assert opening.count("<li>") == 5


def test_no_plain_text_notation_is_left_outside_mathml(jittered, config):
    from test_render import page

    html = page(jittered, config)
    text = re.sub(r"<math.*?</math>|<pre.*?</pre>|<style>.*?</style>", "", html, flags=re.S)
    for raw in ("h_k", "L_t", "σ_max", "γ_f", "G_τ", "∂h_last"):
        assert raw not in text, raw
