"""Section 5 of the report (a loss at every step): numbers and sentences from tables whose answers are known."""

import re

import numpy as np
import pytest
from synthetic import EVERY_STEP_RATE, every_step, tables
from test_render import page

from bptt.report import every_step as section
from bptt.report import intervals, render


def test_the_numbers_recover_the_rates_and_lags_built_into_the_tables():
    numbers = section.cell_numbers(every_step(seq_len=60)[1]).set_index("cell")
    for cell, rate in EVERY_STEP_RATE.items():
        assert numbers.loc[cell, "rate"] == pytest.approx(rate, rel=1e-12)
        # ||G_tau|| / max = rate**tau: below 1e-3 from the first tau with tau log10(rate) < -3.
        first = int(np.floor(-3 / np.log10(rate))) + 1
        assert numbers.loc[cell, "negligible_from"] == first
        assert numbers.loc[cell, "tail_share"] == pytest.approx(sum(rate**tau for tau in range(first, 59)), rel=1e-12)
        assert numbers.loc[cell, "total_spread"] == pytest.approx(0.1 * 59 / 60, rel=1e-12)


def test_a_part_that_never_falls_below_the_threshold_is_said_so():
    _, lags = every_step(cells=("rnn",), seq_len=8)  # 0.6**6 = 0.047: never below 1e-3 before tau = 7
    (sentence,) = section.findings(lags, tables(seq_lens=(8,)).summary.iloc[:0])
    assert "Elman RNN (tanh, ρ = 1, T = 8; one network, so no spread over networks): a single term L_t keeps a" in (
        sentence
    )
    assert "stays above 0.001 of the largest part up to the longest lag measured" in sentence


def test_one_network_per_cell_names_the_spread_of_the_grids_seeds_at_its_point():
    _, lags = every_step(cells=("rnn", "lstm"), seq_len=20)
    summary = tables(radii=(1.0,), seq_lens=(20,), seeds=(0, 1, 2), jitter=0.1, activations=("tanh",)).summary
    rnn, lstm = section.findings(lags, summary)
    same = summary[(summary.cell == "rnn") & (summary.recurrent_init == "orthogonal")]["decay_rate"]
    rate = intervals.bracket(same.median(), same.min(), same.max())
    assert f"one network, so no spread over networks: the same point's fitted rate is {rate} over the grid's 3 " in rnn
    assert "over the grid's 3 seeds)" in lstm  # gate bias 0 only, not 1 or chrono


def test_a_single_step_gives_no_sentence_and_figures_still_draw():
    pairs, lags = every_step(cells=("gru",), seq_len=1)
    assert section.findings(lags, tables().summary) == []
    section.heatmaps(pairs)
    section.lag_figure(lags)


def test_no_network_drawn_gives_figures_that_say_so_and_no_sentence():
    pairs, lags = (t.iloc[:0] for t in every_step(cells=("rnn",)))
    assert section.findings(lags, tables().summary) == []
    for figure in (section.heatmaps(pairs), section.lag_figure(lags)):
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        assert any("no network stayed within float64" in t for t in texts)


def test_the_blank_cells_lie_where_the_caption_says(tables, config):
    # Where the drawn array is blank, in the plot's own coordinates (x = k, y = t), decides the side.
    pairs, _ = every_step(seq_len=6)
    sides = set()
    for ax in section.heatmaps(pairs).axes:
        if not ax.get_images():
            continue  # the colour bar
        assert ax.get_xlabel().startswith("$k$") and ax.get_ylabel() in ("", "$t$ (the loss term)")
        image = ax.get_images()[0]
        drawn = np.ma.filled(image.get_array().astype(float), np.nan)
        left, right, bottom, top = image.get_extent()
        rows, columns = drawn.shape
        y = bottom + (np.arange(rows) + 0.5) * (top - bottom) / rows
        if image.origin == "upper":
            y = y[::-1]
        x = left + (np.arange(columns) + 0.5) * (right - left) / columns
        k, t = np.meshgrid(x, y)
        blank = np.isnan(drawn)
        assert blank.any() and (~blank).any()
        sides |= {"below" if (k[blank] > t[blank]).all() else "above" if (k[blank] < t[blank]).all() else "mixed"}
        assert np.isfinite(drawn[k <= t]).all()
    (side,) = sides
    html = page(tables, config)
    letter = render.LETTERS["every_step_pairs"]
    caption = re.search(rf'<figure id="figure-{letter}">.*?<figcaption>(.*?)</figcaption>', html, re.S).group(1)
    corner = {"below": "lower right", "above": "upper left"}[side]
    assert f"{side} the diagonal" in caption.lower() and corner in caption
    assert {"below": "above", "above": "below"}[side] + " the diagonal" not in caption.lower()
