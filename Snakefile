# bptt: exact BPTT gradient norms over a grid of cells, activations, spectral
# radii and sequence lengths. Run `snakemake` (profiles/default is picked up
# automatically); edit config.yaml and run it again.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


check_config(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/experiment.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        GRADIENTS,
        SUMMARY,
        REPORT,


onsuccess:
    print("\nbptt: done. Outputs (open the .html in a browser):")
    for path in rules.all.input:
        print(f"  {pathlib.Path(path).resolve()}")
    print("Per-point tables: results/runs/, logs: logs/, job timings: benchmarks/.")
