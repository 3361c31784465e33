"""The collected tables the report reads: one registry for the report rule and the renderer.

Each entry names a table (its command-line flag is `flag(name)`), where the pipeline writes it
(`bptt.pipeline.paths`), the name of its schema in `bptt.pipeline.tables`, and whether it may have
no rows. The report rule takes its inputs from here and `bptt.report.render` reads them from here,
so a new table is added once. Standard library only (the Snakefile imports it); the schemas are
named rather than imported, so planning a run does not load pyarrow.
"""

from typing import NamedTuple

from bptt.pipeline import paths


class Input(NamedTuple):
    path: str  # relative to the working directory
    schema: str  # the name of its pyarrow schema in bptt.pipeline.tables
    may_be_empty: bool = False
    optional: bool = False  # read only when the config asks for it; None in the report's tables otherwise


INPUTS = {
    "gradients": Input(paths.GRADIENTS, "GRADIENTS"),
    "summary": Input(paths.SUMMARY, "SUMMARY"),
    "eigenvalues": Input(paths.EIGENVALUES, "EIGENVALUES"),
    "theory": Input(paths.THEORY, "THEORY"),
    "training": Input(paths.TRAINING, "TRAINING"),
    "training_summary": Input(paths.TRAINING_SUMMARY, "TRAINING_SUMMARY"),
    "cliff_surface": Input(paths.TRAINING_CLIFF_SURFACE, "CLIFF_SURFACE"),
    "cliff_paths": Input(paths.TRAINING_CLIFF_PATHS, "CLIFF_PATHS"),
    # Rule every_step leaves out a network that leaves float64 (its log says so): possibly none.
    "every_step_pairs": Input(paths.EVERY_STEP_PAIRS, "EVERY_STEP_PAIRS", may_be_empty=True),
    "every_step_lags": Input(paths.EVERY_STEP_LAGS, "EVERY_STEP_LAGS", may_be_empty=True),
    "clipping": Input(paths.CLIPPING, "CLIPPING"),
    "clipping_traces": Input(paths.CLIPPING_TRACES, "CLIPPING_TRACES"),
    "trainability": Input(paths.TRAINABILITY, "TRAINABILITY"),
    "trainability_summary": Input(paths.TRAINABILITY_SUMMARY, "TRAINABILITY_SUMMARY"),
    # Only with an audit: section in config.yaml (the report's "Your models"); optional inputs come last.
    "audit": Input(paths.AUDIT, "AUDIT", optional=True),
}


def flag(name: str) -> str:
    """The command-line flag of `bptt.report` that takes table `name`: "--every-step-pairs"."""
    return "--" + name.replace("_", "-")
