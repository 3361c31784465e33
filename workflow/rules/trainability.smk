# The trainability study (docs/training.md): one job per task, length, stack (cell kind and
# activation) and run (study, or perturbed for the robustness test); one budget-check job per task
# and stack, reading the study's records; then one collect step. As in the other rules, every value
# a job uses arrives through a wildcard or the `settings` param, and its code through `code`.


rule trainability:
    input:
        # Up the ladder: a job reads the study's record of the rung below (none for the first rung).
        previous=lambda wildcards: study_grid.previous(
            config["trainability"],
            wildcards.task,
            int(wildcards.seq_len),
            wildcards.group,
        ),
    output:
        paths.STUDY_RUN,
    log:
        paths.STUDY_LOG,
    benchmark:
        paths.STUDY_BENCHMARK
    wildcard_constraints:
        task="|".join(tasks.NAMES),
        group=paths.GROUP_PATTERN,
        run="|".join(paths.STUDY_RUNS),
    threads: 1
    params:
        settings=lambda wildcards: cli(
            **study_grid.job_settings(
                config["trainability"], wildcards.task, wildcards.group, wildcards.run
            )
        ),
        previous=lambda wildcards, input: (
            cli(previous=input.previous) if input.previous else ""
        ),
        code=code_hash("bptt.pipeline.trainability"),
    shell:
        "python -m bptt.pipeline.trainability --task {wildcards.task}"
        " --seq-len {wildcards.seq_len} --group {wildcards.group} {params.settings}"
        " {params.previous}"
        " --output {output:q} > {log:q} 2>&1"


rule budget_check:
    input:
        lambda wildcards: [
            paths.study_path(wildcards.task, n, wildcards.group, "study")
            for n in config["trainability"]["tasks"][wildcards.task]["seq_len"]
        ],
    output:
        paths.BUDGET_RUN,
    log:
        paths.BUDGET_LOG,
    benchmark:
        paths.BUDGET_BENCHMARK
    wildcard_constraints:
        task="|".join(tasks.NAMES),
        group=paths.GROUP_PATTERN,
    threads: 1
    params:
        settings=lambda wildcards: cli(
            **study_grid.budget_settings(
                config["trainability"], wildcards.task, wildcards.group
            )
        ),
        code=code_hash("bptt.pipeline.budget_check"),
    shell:
        "python -m bptt.pipeline.budget_check --task {wildcards.task}"
        " --group {wildcards.group} {params.settings} --records {input:q}"
        " --output {output:q} > {log:q} 2>&1"


rule collect_trainability:
    input:
        runs=[paths.study_path(*job) for job in study_grid.jobs(config["trainability"])],
        budget=[
            paths.budget_path(*job)
            for job in study_grid.budget_jobs(config["trainability"])
        ],
    output:
        table=paths.TRAINABILITY,
        summary=paths.TRAINABILITY_SUMMARY,
    log:
        paths.TRAINABILITY_COLLECT_LOG,
    benchmark:
        paths.TRAINABILITY_COLLECT_BENCHMARK
    threads: 1
    params:
        code=code_hash("bptt.pipeline.collect_trainability"),
    shell:
        "python -m bptt.pipeline.collect_trainability --runs {input.runs:q}"
        " --budget {input.budget:q} --table {output.table:q}"
        " --summary {output.summary:q} > {log:q} 2>&1"
