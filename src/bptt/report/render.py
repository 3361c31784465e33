"""Render the report: collected tables in, one self-contained HTML page (and the SVGs) out.

Figures are embedded as base64 data URIs, the CSS is inlined and equations are MathML, so the
page makes no request of any kind and needs no script. Jinja autoescapes every string; only
the generated SVG/MathML and the project's own CSS are marked safe.
"""

import base64
import collections
import datetime
import math
import multiprocessing
import pathlib
import string
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

import jinja2
import matplotlib.figure
import pandas as pd
import pyarrow as pa
import yaml
from markupsafe import Markup

from bptt.pipeline import grid, inputs, report_inputs, tables
from bptt.report import (
    audit,
    clipping,
    data,
    every_step,
    figures,
    findings,
    mathml,
    provenance,
    summary,
    trainability,
    training,
)

# The collected Parquet tables the report reads, as DataFrames: one field per table of
# bptt.pipeline.report_inputs, in its order (t.gradients, t.summary, ...).
Tables = collections.namedtuple(
    "Tables",
    list(report_inputs.INPUTS),
    defaults=[None] * sum(entry.optional for entry in report_inputs.INPUTS.values()),
)


def schema(name: str) -> pa.Schema:
    """The schema of report input `name`, from bptt.pipeline.tables."""
    return getattr(tables, report_inputs.INPUTS[name].schema)


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
    """Every report input, from `paths` (name -> file)."""
    return Tables(
        **{
            name: read_table(paths[name], schema(name), may_be_empty=entry.may_be_empty)
            for name, entry in report_inputs.INPUTS.items()
            if paths.get(name) is not None or not entry.optional
        }
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


class Figure(NamedTuple):
    """One figure of the page: its id (what the template and cross-references name), the function
    that draws it, the arguments it takes from the tables (all, and those of the main variant) and the config, and
    its title, the caption's first sentence ({remedy_lag} and the like filled from the findings)."""

    id: str
    draw: Callable[..., matplotlib.figure.Figure]
    inputs: Callable[[Tables, Tables, dict], tuple]
    title: str


# In the page's order: the letters (a), (b), ... follow from it.
FIGURES = (
    Figure(
        "lag_profiles",
        figures.lag_profiles,
        lambda t, m, c: (m.gradients, t.theory),
        "The error signal against the lag",
    ),
    Figure(
        "phase_diagram", figures.phase_diagram, lambda t, m, c: (m.summary, t.theory), "Phase diagram of the decay rate"
    ),
    Figure(
        "end_to_end",
        figures.end_to_end,
        lambda t, m, c: (m.summary,),
        "End-to-end gradient ratio against sequence length",
    ),
    Figure(
        "weight_contributions",
        figures.weight_contributions,
        lambda t, m, c: (m.gradients,),
        "Each step's contribution to the recurrent-weight gradient",
    ),
    Figure(
        "eigenvalues",
        figures.eigenvalue_plane,
        lambda t, m, c: (t.eigenvalues, c["grid"]["recurrent_init"]),
        "Eigenvalues of the recurrent matrix",
    ),
    Figure(
        "rate_hierarchy",
        figures.rate_hierarchy,
        lambda t, m, c: (m.gradients, m.summary, t.theory),
        "What bounds the per-step factor, and what sets it",
    ),
    Figure(
        "every_step_pairs",
        every_step.heatmaps,
        lambda t, m, c: (t.every_step_pairs,),
        "Every loss term at every earlier state",
    ),
    Figure(
        "every_step_lags",
        every_step.lag_figure,
        lambda t, m, c: (t.every_step_lags,),
        "One term, the sum, and the weight gradient by dependency length",
    ),
    Figure(
        "remedies",
        figures.remedies,
        lambda t, m, c: (data.survival(t.gradients), t.theory),
        "The gradient left after {remedy_lag} steps, by remedy",
    ),
    Figure(
        "trainability_bridge",
        trainability.bridge_figure,
        lambda t, m, c: (t.trainability_summary, c["trainability"]["models"]),
        "The bridge: timescale at initialisation against the longest length learned",
    ),
    Figure(
        "trainability_ladder",
        trainability.ladder_figure,
        lambda t, m, c: (t.trainability, c["trainability"]["models"]),
        "Success along the ladder",
    ),
    Figure(
        "gradient_traces",
        training.gradient_traces,
        lambda t, m, c: (t.training, t.training_summary, *traced_run(t)),
        "Gradient norms during training",
    ),
    Figure("cliff", training.cliff_figure, lambda t, m, c: (t.cliff_surface, t.cliff_paths), "Pascanu's cliff"),
    Figure(
        "clipping_divergence",
        clipping.divergence_figure,
        lambda t, m, c: (t.clipping,),
        "Divergence against the learning rate, with and without clipping",
    ),
    Figure(
        "clipping_traces",
        clipping.trace_figure,
        lambda t, m, c: (t.clipping, t.clipping_traces),
        "A spike, and the step that clipping bounded",
    ),
)
LETTERS = {figure.id: letter for figure, letter in zip(FIGURES, string.ascii_lowercase, strict=False)}


def make_figures(t: Tables, config: dict, workers: int = 1) -> dict[str, str]:
    """SVG text of every figure of FIGURES, keyed by its id, drawn by `workers` processes.

    Drawing is most of the report's time (matplotlib's layout of a dozen figures), and each figure
    is independent of the others, so they are drawn side by side; the bytes do not depend on workers.
    """
    t = one_term(t)
    main = main_variant(t, config)
    drawings = {figure.id: (figure.draw, *figure.inputs(t, main, config)) for figure in FIGURES}
    # "Your models": one unlettered figure per audited model, only when there is an audit.
    for i, model in enumerate(audit.models(t.audit) if t.audit is not None else []):
        drawings[f"audit-{i}"] = (audit.figure, t.audit[t.audit["model"] == model])
    if workers <= 1:
        return {name: _svg(drawing) for name, drawing in drawings.items()}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(drawings, pool.map(_svg, drawings.values())))


def _svg(drawing: tuple) -> str:
    """figures.to_svg of drawing[0](*drawing[1:])."""
    return figures.to_svg(drawing[0](*drawing[1:]))


class Traced(NamedTuple):
    """The training run whose gradient-norm traces the report shows."""

    task: str
    seq_len: int


def traced_run(t: Tables) -> Traced:
    """The task and length whose gradient-norm traces the report shows: the first task (adding where it
    runs), at its longest length, where spikes and clipping matter most."""
    tasks = list(dict.fromkeys(t.training_summary["task"]))
    task = "adding" if "adding" in tasks else tasks[0]
    return Traced(task, int(t.training_summary.loc[t.training_summary["task"] == task, "seq_len"].max()))


def make_findings(t: Tables, config: dict) -> dict:
    """The generated sentences and the summary table."""
    t = one_term(t)
    main = main_variant(t, config)
    transitions = data.transitions(main.summary)
    every = data.survival(t.gradients)
    radius_one = data.nearest(every["radius"].unique(), 1.0)
    variants = data.main_variants(
        config["grid"]["recurrent_init"], [grid.gate_bias_text(b) for b in config["grid"]["gate_bias"]]
    )
    return {
        "in_short": [item._asdict() for item in summary.findings(t, main, config)],
        "theory": findings.theory_sentences(
            data.theory_against_measurement(main.summary, t.theory), config["hidden_size"]
        ),
        "gated_theory": findings.gated_theory_sentences(
            data.gated_theory_against_measurement(t.summary, t.theory), config["hidden_size"]
        ),
        "critical": findings.critical_sentences(data.critical_radii(t.theory, transitions))
        if (transitions["cell"] == "rnn").any()
        else [],
        "remedies": findings.remedy_sentences(data.curve_shapes(t.summary), radius_one, variants),
        "remedy_lag": int(every["lag"].iloc[0]),
        "training": training.findings(t.training, t.training_summary, t.cliff_paths),
        "every_step": every_step.findings(t.every_step_lags, t.summary),
        "trainability": trainability.findings(t.trainability, t.trainability_summary, config["trainability"]["models"]),
        "traced": traced_run(t),
        "clipping": clipping.findings(t.clipping, t.clipping_traces),
        "clipping_table": clipping.rate_table(t.clipping),
        "regimes": findings.regime_sentences(data.regime_counts(t.summary)),
        "transitions": findings.transition_sentences(transitions),
        "survival": findings.survival_sentences(data.curve_shapes(main.summary), radius_one),
        "pascanu": findings.pascanu_sentences(data.pascanu_counts(main.summary)),
        "normality": findings.normality_sentence(data.norm_ratios(t.eigenvalues)),
        "table": findings.summary_table(main.summary, transitions),
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
    found = typeset(make_findings(t, config), equations.get("plain", {}))
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
        figures={
            figure.id: {
                "letter": LETTERS[figure.id],
                "title": figure.title.format(**found),
                "src": data_uri(svgs[figure.id]),
            }
            for figure in FIGURES
        }
        | {name: {"src": data_uri(svg)} for name, svg in svgs.items() if name.startswith("audit-")},
        log10_limit=figures.LOG10_LIMIT,
        phase_steps=figures.STEPS,
        log10=math.log10,
        findings=found,
        grid=grid_description(t.summary),
        config=config,
        config_text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None),
        commit=provenance.git_commit(repo_root),
        versions=provenance.package_versions(),
        date=provenance.build_date(now),
        run_times=provenance.run_times(benchmarks, benchmark_root).to_dict("records"),
        audit=[
            typeset(audit.findings(t.audit, model), equations.get("plain", {})) | {"figure": f"audit-{i}"}
            for i, model in enumerate(audit.models(t.audit) if t.audit is not None else [])
        ],
    )


def typeset(value, plain: dict[str, str]):
    """`value` with every string in it, in dicts and lists, as Markup with `plain`'s notations set as MathML
    (`bptt.report.mathml.typeset`): the generated sentences write h_k, L_t and the like in plain text."""
    if isinstance(value, str):
        return mathml.typeset(value, plain)
    if isinstance(value, dict):
        return {key: typeset(item, plain) for key, item in value.items()}
    if isinstance(value, list):
        return [typeset(item, plain) for item in value]
    return value


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
