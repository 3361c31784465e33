# Small helpers shared by the rules: config validation, the grid, canonical
# point names, and the code each rule depends on.
import os
import pathlib
import sys

import yaml

from snakemake.utils import validate

from bptt.core import activations, cells
from bptt.pipeline import codehash, configcheck, paths


def check_config(config, schema_file):
    """Validate `config` in place: defaults filled in, numbers normalised, or a clear error.

    Every problem is listed (key, bad value, what is allowed) before any job is
    planned, so an invalid config never writes or removes anything.
    """
    schema_path = pathlib.Path(workflow.basedir) / schema_file
    found = configcheck.problems(config, yaml.safe_load(schema_path.read_text()))
    if found:
        raise WorkflowError(
            "config is invalid (config.yaml, --configfile or --config):\n  "
            + "\n  ".join(found)
            + "\nFix the value(s) above and run again; nothing was run, written or removed."
        )
    # Fills in the schema's defaults; cannot fail after the check above.
    validate(config, str(schema_path))
    # Written 1 or 1.0, a number gives the same param, so the same rerun decision.
    grid = config["grid"]
    grid["radius"] = [float(r) for r in grid["radius"]]
    grid["seq_len"] = [int(t) for t in grid["seq_len"]]
    for key in ("input_scale", "forget_bias", "regime_tolerance"):
        config[key] = float(config[key])


# Jobs run `python` from the environment running Snakemake (the project's
# .venv), as if it were activated, whatever the caller's PATH. Not a param:
# moving the checkout reruns nothing.
envvars:
    "PATH",


os.environ["PATH"] = os.pathsep.join(
    [str(pathlib.Path(sys.executable).parent), os.environ["PATH"]]
)


def cli(**settings):
    """Command-line flags "--name value ..." for `settings` (a list gives its values in turn).

    Rules pass their settings as one such string param, never as one param
    per value: Snakemake compares the *set* of a job's param values, so with
    batch_size=2, hidden_size=3, changing batch_size to 3 would go unseen;
    a string that names every value cannot hide a change.
    """
    flags = []
    for name, value in settings.items():
        values = value if isinstance(value, list) else [value]
        flags.append(" ".join([f"--{name.replace('_', '-')}", *map(str, values)]))
    return " ".join(flags)


# Timings of one grid point's job: written by rule experiment, read by the report.
EXPERIMENT_BENCHMARK = (
    "benchmarks/experiment/{cell}/{activation}/rho{radius}_T{seq_len}.tsv"
)
GRADIENTS = "results/gradients.parquet"
SUMMARY = "results/summary.parquet"


wildcard_constraints:
    cell="|".join(cells.KINDS),
    activation="|".join(activations.NAMES),
    radius=paths.RADIUS_PATTERN,
    seq_len=paths.SEQ_LEN_PATTERN,


def report_files():
    """Templates, CSS, equations and references of the report, relative to the workdir."""
    return sorted(str(p) for p in pathlib.Path("report").rglob("*") if p.is_file())


def experiment_benchmarks(grid):
    """Benchmark file of every experiment job."""
    return [
        EXPERIMENT_BENCHMARK.format(
            cell=c, activation=a, radius=paths.canonical_number(r), seq_len=t
        )
        for c, a, r, t in paths.points(grid)
    ]
