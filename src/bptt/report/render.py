"""Render the report: collected tables in, one self-contained HTML page (and the SVGs) out.

Figures are embedded as base64 data URIs, the CSS is inlined and equations are MathML, so the
page makes no request of any kind and needs no script. Jinja autoescapes every string; only
the generated SVG/MathML and the project's own CSS are marked safe.
"""

import base64
import datetime
import pathlib

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from bptt.report import figures, findings, mathml, provenance

GRADIENT_COLUMNS = (
    "cell", "activation", "radius", "seq_len", "seed", "step", "lag", "log10_grad_h",
    "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step", "log10_pascanu_bound",
)
SUMMARY_COLUMNS = (
    "cell", "activation", "radius", "seq_len", "seed", "decay_rate", "timescale",
    "log10_end_to_end", "spectral_radius", "spectral_norm", "gamma_bound", "pascanu_bound",
    "regime", "overflow", "overflow_step",
)
EIGENVALUE_COLUMNS = ("init", "radius", "seed", "hidden_size", "index", "real", "imag", "spectral_norm")


def read_table(path: pathlib.Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The Parquet file at `path`, checked to have `columns`; a clear error otherwise."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `snakemake` first to produce it")
    table = pd.read_parquet(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; it was written by an older or "
            "different pipeline: rerun `snakemake` to regenerate it"
        )
    if table.empty:
        raise ValueError(f"{path} has no rows; check the grid in config.yaml and rerun `snakemake`")
    return table


def make_figures(gradients, summary, eigenvalues) -> dict[str, str]:
    """SVG text of every figure, keyed by its letter in the report."""
    return {
        "a": figures.to_svg(figures.lag_profiles(gradients)),
        "b": figures.to_svg(figures.phase_diagram(summary)),
        "c": figures.to_svg(figures.end_to_end(summary)),
        "d": figures.to_svg(figures.weight_contributions(gradients)),
        "e": figures.to_svg(figures.eigenvalue_plane(eigenvalues)),
        "f": figures.to_svg(figures.gamma_against_bound(gradients, summary)),
    }


def make_findings(gradients, summary, eigenvalues) -> dict:
    """The generated sentences and the summary table."""
    moves = findings.transitions(summary)
    kept = findings.survival(gradients)
    return {
        "transitions": findings.transition_sentences(moves),
        "survival": findings.survival_sentences(kept),
        "pascanu": findings.pascanu_sentences(summary),
        "regimes": findings.regime_sentence(summary),
        "normality": findings.normality_sentence(eigenvalues),
        "table": findings.summary_table(summary, kept, moves),
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
    gradients: pd.DataFrame,
    summary: pd.DataFrame,
    eigenvalues: pd.DataFrame,
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
    svgs = svgs if svgs is not None else make_figures(gradients, summary, eigenvalues)
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
        findings=make_findings(gradients, summary, eigenvalues),
        grid=grid_description(summary),
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
        "cells": findings.ordered(summary["cell"], findings.CELL_NAMES),
        "activations": findings.ordered(summary["activation"], findings.ACTIVATION_ORDER),
        "radii": sorted(summary["radius"].unique()),
        "seq_lens": sorted(summary["seq_len"].unique()),
        "seeds": sorted(summary["seed"].unique()),
        "runs": len(summary),
        "longest": int(summary["seq_len"].max()),
    }


def data_uri(svg: str) -> str:
    """An SVG as a base64 data URI for an <img> element."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
