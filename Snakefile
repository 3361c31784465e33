# bptt: exact BPTT gradient norms over a grid of cells, activations, spectral radii and
# sequence lengths. Run `snakemake` (profiles/default is picked up automatically); edit
# config.yaml and run it again: only what the edit affects is recomputed.
import os
import pathlib
import sys

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


check_config(config, "workflow/schemas/config.schema.yaml")
warn_if_costly(config)


# Jobs run `python` from the environment running Snakemake (the project's .venv), as if it
# were activated, whatever the caller's PATH. Not a param: moving the checkout reruns nothing.
envvars:
    "PATH",


os.environ["PATH"] = os.pathsep.join(
    [str(pathlib.Path(sys.executable).parent), os.environ["PATH"]]
)


# On a cluster these run where Snakemake runs: seconds of work each, less than a submission costs.
localrules:
    all,
    collect,
    spectrum,
    every_step,
    theory,
    report,
    collect_training,
    collect_clipping,
    collect_trainability,


include: "workflow/rules/experiment.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/clipping.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/trainability.smk"


rule all:
    default_target: True
    input:
        paths.GRADIENTS,
        paths.SUMMARY,
        paths.REPORT,
        paths.TRAINING,
        paths.TRAINING_SUMMARY,
        paths.TRAINING_CLIFF_SURFACE,
        paths.TRAINING_CLIFF_PATHS,
        paths.CLIPPING,
        paths.CLIPPING_TRACES,
        [paths.AUDIT] if config.get("audit") else [],
        paths.TRAINABILITY,
        paths.TRAINABILITY_SUMMARY,


onstart:
    for note in cluster_notes(JOB_PLANS, RUN_HERE):
        print(note)


onsuccess:
    # What this run was asked for: rule all's files, or the outputs of the command line's targets.
    built = sorted(
        {
            str(f)
            for job in workflow.dag.targetjobs
            for f in (job.output or job.input)
        }
    )
    html = (
        " (open the .html in a browser)"
        if any(p.endswith(".html") for p in built)
        else ""
    )
    print(f"\nbptt: done. Outputs{html}:")
    for path in built:
        print(f"  {pathlib.Path(path).resolve()}")
    print("Per-job records: results/runs/, logs: logs/, job timings: benchmarks/.")
