# The clipping study (Pascanu et al. 2013): plain SGD on the adding problem at every learning rate of
# the sweep, one job per model and clip setting (bptt.pipeline.clipping; the seeds and their perturbed
# copies side by side), then one collect step. As in the other rules, every value a job uses arrives
# through a wildcard or the `settings` param, and its code through the `code` param.
from bptt.pipeline import clipping_grid


rule clip_run:
    output:
        paths.CLIPPING_RUN,
    log:
        paths.CLIPPING_LOG,
    benchmark:
        paths.CLIPPING_BENCHMARK
    wildcard_constraints:
        model=paths.MODEL_PATTERN,
        clip=paths.CLIP_PATTERN,
    threads: 1
    params:
        settings=lambda wildcards: cli(
            **clipping_grid.job_settings(config["clipping"], wildcards.model)
        ),
        code=code_hash("bptt.pipeline.clipping"),
    shell:
        "python -m bptt.pipeline.clipping --model {wildcards.model} --clip {wildcards.clip}"
        " {params.settings} --output {output:q} > {log:q} 2>&1"


rule collect_clipping:
    input:
        [
            paths.clipping_run_path(*job)
            for job in clipping_grid.jobs(config["clipping"])
        ],
    output:
        clipping=paths.CLIPPING,
        traces=paths.CLIPPING_TRACES,
    log:
        paths.CLIPPING_COLLECT_LOG,
    benchmark:
        paths.CLIPPING_COLLECT_BENCHMARK
    threads: 1
    params:
        settings=cli(divergence_factor=config["clipping"]["divergence_factor"]),
        code=code_hash("bptt.pipeline.collect_clipping"),
    shell:
        "python -m bptt.pipeline.collect_clipping {params.settings}"
        " --runs {input:q} --clipping {output.clipping:q} --traces {output.traces:q}"
        " > {log:q} 2>&1"
