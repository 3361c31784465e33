"""Render the report: collected tables in, one self-contained HTML page (and the SVGs) out.

Figures are embedded as base64 data URIs, the CSS is inlined and equations are MathML, so the
page makes no request of any kind and needs no script. Jinja autoescapes every string; only
the generated SVG/MathML and the project's own CSS are marked safe.
"""

import base64
import datetime
import multiprocessing
import pathlib
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from bptt.pipeline import grid, inputs, tables
from bptt.report import data, every_step, figures, findings, mathml, provenance, trainability, training


class Tables(NamedTuple):
    """The collected Parquet tables the report reads, as DataFrames."""

    gradients: pd.DataFrame
    summary: pd.DataFrame
    eigenvalues: pd.DataFrame
    theory: pd.DataFrame
    training: pd.DataFrame
    training_summary: pd.DataFrame
    cliff_surface: pd.DataFrame
    cliff_paths: pd.DataFrame
    every_step_pairs: pd.DataFrame
    every_step_lags: pd.DataFrame
    trainability: pd.DataFrame
    trainability_summary: pd.DataFrame


SCHEMAS = {
    "gradients": tables.GRADIENTS,
    "summary": tables.SUMMARY,
    "eigenvalues": tables.EIGENVALUES,
    "theory": tables.THEORY,
    "training": tables.TRAINING,
    "training_summary": tables.TRAINING_SUMMARY,
    "cliff_surface": tables.CLIFF_SURFACE,
    "cliff_paths": tables.CLIFF_PATHS,
    "every_step_pairs": tables.EVERY_STEP_PAIRS,
    "every_step_lags": tables.EVERY_STEP_LAGS,
    "trainability": tables.TRAINABILITY,
    "trainability_summary": tables.TRAINABILITY_SUMMARY,
}


# Tables that may be empty: rule every_step leaves out a network that leaves float64 (its log says so).
MAY_BE_EMPTY = ("every_step_pairs", "every_step_lags")


def read_table(path: pathlib.Path, schema, *, may_be_empty: bool = False) -> pd.DataFrame:
    """The Parquet file at `path`, checked to have `schema`'s columns; a clear error otherwise.

    A file that cannot be read is moved aside so the next run rebuilds it (`bptt.pipeline.inputs`).
    """

    def load(p):
        table = pd.read_parquet(p)
        missing = [c for c in schema.names if c not in table.columns]
        if missing:
            raise ValueError(f"it lacks the column(s) {', '.join(missing)}: written by another version of bptt")
        return table

    table = inputs.read(path, load)
    if table.empty and not may_be_empty:
        raise SystemExit(f"{path} has no rows; check the grid in config.yaml and rerun `snakemake`")
    return table


def read_tables(paths: dict[str, pathlib.Path]) -> Tables:
    return Tables(
        **{name: read_table(paths[name], schema, may_be_empty=name in MAY_BE_EMPTY) for name, schema in SCHEMAS.items()}
    )


def one_term(t: Tables) -> Tables:
    """With loss_at every, the norm figures and findings follow one loss term, as the fitted
    decay_rate does: log10_grad_h becomes log10_source_grad, the median over t of
    ||dL_t/dh_{t-lag}||. The norm of the summed loss's gradient does not decay (every step adds
    its own term); section 5 shows both."""
    if not (t.summary["loss_at"] == "every").any():
        return t
    return t._replace(gradients=t.gradients.assign(log10_grad_h=t.gradients["log10_source_grad"]))


def main_variant(t: Tables, config: dict) -> Tables:
    """The tables restricted to the runs the norm figures show (see `bptt.report.data.main_variant`)."""
    inits = config["grid"]["recurrent_init"]
    biases = [grid.gate_bias_text(b) for b in config["grid"]["gate_bias"]]
    return t._replace(
        gradients=data.main_variant(t.gradients, inits, biases), summary=data.main_variant(t.summary, inits, biases)
    )


def make_figures(t: Tables, config: dict, workers: int = 1) -> dict[str, str]:
    """SVG text of every figure, keyed by its letter in the report, drawn by `workers` processes.

    Drawing is most of the report's time (matplotlib's layout of a dozen figures), and each figure
    is independent of the others, so they are drawn side by side; the bytes do not depend on workers.
    """
    t = one_term(t)
    main = main_variant(t, config)
    drawings = {
        "a": (figures.lag_profiles, main.gradients, t.theory),
        "b": (figures.phase_diagram, main.summary, t.theory),
        "c": (figures.end_to_end, main.summary),
        "d": (figures.weight_contributions, main.gradients),
        "e": (figures.eigenvalue_plane, t.eigenvalues),
        "f": (figures.rate_hierarchy, main.gradients, main.summary, t.theory),
        "g": (figures.remedies, data.survival(t.gradients)),
        "j": (training.gradient_traces, t.training, t.training_summary, *traced_run(t)),
        "k": (training.cliff_figure, t.cliff_surface, t.cliff_paths),
        "l": (every_step.heatmaps, t.every_step_pairs),
        "m": (every_step.lag_figure, t.every_step_lags),
        "n": (trainability.bridge_figure, t.trainability_summary, config["trainability"]["models"]),
        "o": (trainability.ladder_figure, t.trainability, config["trainability"]["models"]),
    }
    if workers <= 1:
        return {letter: _svg(drawing) for letter, drawing in drawings.items()}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(drawings, pool.map(_svg, drawings.values())))


def _svg(drawing: tuple) -> str:
    """figures.to_svg of drawing[0](*drawing[1:])."""
    return figures.to_svg(drawing[0](*drawing[1:]))


def traced_run(t: Tables) -> tuple[str, int]:
    """The task and length whose gradient-norm traces the report shows: the first task (adding where it
    runs), at its longest length, where spikes and clipping matter most."""
    tasks = list(dict.fromkeys(t.training_summary["task"]))
    task = "adding" if "adding" in tasks else tasks[0]
    return task, int(t.training_summary.loc[t.training_summary["task"] == task, "seq_len"].max())


def make_findings(t: Tables, config: dict) -> dict:
    """The generated sentences and the summary table."""
    t = one_term(t)
    main = main_variant(t, config)
    transitions = data.transitions(main.summary)
    survival = data.survival(main.gradients)
    every = data.survival(t.gradients)
    radius_one = data.nearest(every["radius"].unique(), 1.0)
    return {
        "theory": findings.theory_sentences(
            data.theory_against_measurement(main.summary, t.theory), config["hidden_size"]
        ),
        "critical": findings.critical_sentences(data.critical_radii(t.theory, transitions))
        if (transitions["cell"] == "rnn").any()
        else [],
        "remedies": findings.remedy_sentences(data.remedy_survival(every, radius_one), radius_one),
        "remedy_lag": int(every["lag"].iloc[0]),
        "training": training.findings(t.training, t.training_summary, t.cliff_paths),
        "every_step": every_step.findings(t.every_step_lags),
        "trainability": trainability.findings(t.trainability, t.trainability_summary, config["trainability"]["models"]),
        "traced": traced_run(t),
        "regimes": findings.regime_sentences(data.regime_counts(t.summary)),
        "transitions": findings.transition_sentences(transitions),
        "survival": findings.survival_sentences(survival),
        "pascanu": findings.pascanu_sentences(data.pascanu_counts(main.summary)),
        "normality": findings.normality_sentence(data.norm_ratios(t.eigenvalues)),
        "table": findings.summary_table(main.summary, survival, transitions),
    }


def citations(references: dict) -> tuple:
    """(cite, cited): cite(*keys) returns links numbered in order of first use; cited() the list.

    An unknown key raises a ValueError naming it, so the page never shows a dangling citation.
    """
    order: list[str] = []

    def cite(*keys: str) -> Markup:
        for key in keys:
            if key not in references:
                raise ValueError(f"the report cites {key!r}, which report/references.yaml lacks; add it there")
            if key not in order:
                order.append(key)
        links = (Markup('<a href="#ref-{0}">{1}</a>').format(k, order.index(k) + 1) for k in keys)
        return Markup('<span class="cite">[') + Markup(", ").join(links) + Markup("]</span>")

    def cited() -> list[dict]:
        return [{"key": k, "number": i + 1, **references[k]} for i, k in enumerate(order)]

    return cite, cited


def render(
    t: Tables,
    *,
    config: dict,
    report_dir: pathlib.Path,
    benchmarks: list[pathlib.Path],
    benchmark_root: pathlib.Path,
    repo_root: pathlib.Path,
    svgs: dict[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """The report's HTML. report_dir holds templates/, style.css, equations.yaml, references.yaml;
    benchmarks are the run's Snakemake benchmark files inside the folder benchmark_root."""
    report_dir = pathlib.Path(report_dir)
    svgs = svgs if svgs is not None else make_figures(t, config)
    equations = yaml.safe_load((report_dir / "equations.yaml").read_text())
    cite, cited = citations(yaml.safe_load((report_dir / "references.yaml").read_text()))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(report_dir / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        css=Markup((report_dir / "style.css").read_text()),
        eq={k: mathml.block(v) for k, v in equations["block"].items()},
        m={k: mathml.inline(v) for k, v in equations["inline"].items()},
        cite=cite,
        cited=cited,
        figures={k: data_uri(v) for k, v in svgs.items()},
        log10_limit=figures.LOG10_LIMIT,
        findings=make_findings(t, config),
        grid=grid_description(t.summary),
        config=config,
        config_text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None),
        commit=provenance.git_commit(repo_root),
        versions=provenance.package_versions(),
        date=provenance.build_date(now),
        run_times=provenance.run_times(benchmarks, benchmark_root).to_dict("records"),
    )


def grid_description(summary: pd.DataFrame) -> dict:
    """The grid as the data shows it: the values of each axis and the number of runs."""
    return {
        "cells": data.ordered(summary["cell"], data.CELL_NAMES),
        "activations": data.ordered(summary["activation"], data.ACTIVATION_ORDER),
        "radii": sorted(summary["radius"].unique()),
        "seq_lens": sorted(summary["seq_len"].unique()),
        "seeds": sorted(summary["seed"].unique()),
        "runs": len(summary),
        "longest": int(summary["seq_len"].max()),
    }


def data_uri(svg: str) -> str:
    """An SVG as a base64 data URI for an <img> element."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
