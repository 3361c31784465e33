# The config check and the small helpers the rules share. Result paths live in
# bptt.pipeline.paths, the grid's jobs and points in bptt.pipeline.grid.
import os
import pathlib
import sys

import yaml

from snakemake.utils import validate

from snakemake.logging import logger

from bptt.core import activations, cells
from bptt.pipeline import (
    clipping_grid,
    codehash,
    configcheck,
    estimate,
    grid,
    paths,
    resources,
    study_grid,
    training_grid,
)


def check_config(config, schema_file):
    """Validate `config` in place: numbers read as meant, defaults filled in, or a clear error.

    Every problem is listed (key, bad value, what is allowed) before any job is
    planned, so an invalid config never writes or removes anything.
    """
    schema_path = pathlib.Path(workflow.basedir) / schema_file
    # libyaml: every job's own Snakemake reads the schema too.
    schema = yaml.load(schema_path.read_text(), Loader=yaml.CSafeLoader)
    config.update(configcheck.normalise(dict(config), schema))
    found = [
        line
        for path in workflow.configfiles
        for line in configcheck.duplicate_keys(pathlib.Path(path).read_text(), path)
    ]
    found += configcheck.problems(config, schema)
    if not found:
        # Fills in the schema's defaults; cannot fail after the check.
        validate(config, str(schema_path))
        found = configcheck.cross_problems(config)
        found += configcheck.training_problems(config)
        found += configcheck.memory_problems(config, estimate.machine_bytes())
        # The targets are not known to the workflow while it is parsed: the command line's words are
        # checked instead (only those shaped like a training record's path count).
        found += configcheck.target_problems(config, sys.argv[1:])
        found += clipping_grid.problems(config)
        found += configcheck.model_problems(
            config["trainability"]["models"], "trainability.models"
        )
        found += configcheck.study_problems(config)
    if found:
        raise WorkflowError(
            "config is invalid (config.yaml, --configfile or --config):\n  "
            + "\n  ".join(found)
            + "\nFix the value(s) above and run again; nothing was run, written or removed."
        )
    # Written 1 or 1.0, a number gives the same param, so the same rerun decision.
    config["grid"]["radius"] = [float(r) for r in config["grid"]["radius"]]
    for key in ("input_scale", "regime_tolerance"):
        config[key] = float(config[key])


def warn_if_costly(config):
    """Say at planning time, before any job starts, when the experiments would take long here.

    Only in the Snakemake the user started: a cluster job's own Snakemake would time the estimate
    again (a second or two per job) to print a warning nobody reads.
    """
    if not workflow.is_main_process:
        return
    try:
        cores = workflow.cores
    except WorkflowError:  # a dry run without --cores sets no total
        cores = os.cpu_count()
    message = estimate.warning(config, cores)
    if message:
        logger.warning(message)


def code_hash(*entries, **options):
    """A params callable: `codehash.code_hash(*entries, **options)`, computed once per process, and
    only if a job of the rule is in the DAG (a cluster job's own Snakemake then hashes its rule's
    code alone, not every rule's: about a second per job under load)."""
    hashed = []

    def once(wildcards):
        if not hashed:
            hashed.append(codehash.code_hash(*entries, **options))
        return hashed[0]

    return once


def cluster_notes(plans, run_here):
    """What a cluster run says before its first submission, given the experiment jobs' `plans` and
    whether they `run_here`: that they do (if this run has any to run), and, if any job is submitted
    to SLURM without an account, what the plugin's warning about it means."""
    notes = []
    if workflow.local_exec:
        return notes
    needrun = list(workflow.dag.needrun_jobs())
    if run_here and any(job.rule.name == "experiment" for job in needrun):
        notes.append(
            f"bptt: the {len(plans)} experiment jobs are estimated at"
            f" {sum(p.seconds for p in plans.values()):.0f} s of work in all, each below a"
            f" submission's start-up ({resources.CHEAP_SECONDS:g} s): they run here, as a local"
            " rule, not through the cluster (docs/cluster.md)."
        )
    submitted = any(not job.is_local for job in needrun)
    if (
        submitted
        and workflow.executor_plugin.name == "slurm"
        and not os.environ.get("BPTT_SLURM_ACCOUNT")
    ):
        notes.append(
            "bptt: no SLURM account given (BPTT_SLURM_ACCOUNT). The plugin will try to guess one with sacct;"
            " on a cluster without accounting it warns that it could not, and submits without -A, which"
            " such a cluster accepts."
        )
    return notes


def register_groups(plans):
    """Record each group of `plans` (job -> resources.JobPlan) as a group of rule experiment's.

    Jobs of one group that do not depend on each other are separate components, each its own
    submission unless --group-components joins them; the profile's count for "experiment"
    applies to every group recorded here (as Snakemake records "grid_{x}" for a group "grid_x").
    """
    for plan in plans.values():
        if plan.group is not None:
            workflow.parent_groupids[plan.group] = "experiment"


def job_plan(wildcards):
    """The resources.JobPlan of the experiment job of `wildcards`."""
    return JOB_PLANS[(wildcards.cell, wildcards.activation, int(wildcards.seq_len))]


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


def grid_lists(*keys):
    """The grid's lists named by `keys`, numbers spelled canonically (1 and 1.0 give "1")."""
    spell = {"radius": grid.canonical_number, "gate_bias": grid.gate_bias_text}
    return {k: [spell.get(k, str)(v) for v in config["grid"][k]] for k in keys}


def job_benchmarks():
    """The benchmark file of every experiment, training, clipping and trainability job."""
    return (
        [paths.run_benchmark(*job) for job in grid.jobs(config["grid"])]
        + [
            paths.train_benchmark(*job)
            for job in training_grid.jobs(config["training"])
        ]
        + [
            paths.clipping_benchmark(*job)
            for job in clipping_grid.jobs(config["clipping"])
        ]
        + [
            paths.STUDY_BENCHMARK.format(task=task, seq_len=n, group=group, run=run)
            for task, n, group, run in study_grid.jobs(config["trainability"])
        ]
        + [
            paths.BUDGET_BENCHMARK.format(task=task, group=group)
            for task, group in study_grid.budget_jobs(config["trainability"])
        ]
    )


wildcard_constraints:
    cell="|".join(cells.KINDS),
    activation="|".join(activations.NAMES),
    seq_len=paths.SEQ_LEN_PATTERN,
