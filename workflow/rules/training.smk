# Training experiments: one job per task, model, sequence length and clip setting, all seeds
# side by side (bptt.pipeline.train), then one collect step that also computes Pascanu's cliff.
# As in the other rules, every value a job uses arrives through a wildcard or the `settings`
# param, and its code through the `code` param; a job's settings hold only what applies to it
# (its model's entry, its task's settings), so editing one model reruns that model's jobs alone.
from bptt.pipeline import training_grid
from bptt.train import tasks


rule train:
    output:
        paths.TRAIN_RUN,
    log:
        paths.TRAIN_LOG,
    benchmark:
        paths.TRAIN_BENCHMARK
    wildcard_constraints:
        task="|".join(tasks.NAMES),
        model=paths.MODEL_PATTERN,
        clip=paths.CLIP_PATTERN,
    threads: 1
    params:
        settings=lambda wildcards: cli(
            **training_grid.job_settings(
                config["training"], wildcards.task, wildcards.model
            )
        ),
        code=code_hash("bptt.pipeline.train"),
    shell:
        "python -m bptt.pipeline.train"
        " --task {wildcards.task} --model {wildcards.model} --seq-len {wildcards.seq_len}"
        " --clip {wildcards.clip} {params.settings} --output {output:q} > {log:q} 2>&1"


rule collect_training:
    input:
        [paths.train_run_path(*job) for job in training_grid.jobs(config["training"])],
    output:
        training=paths.TRAINING,
        summary=paths.TRAINING_SUMMARY,
        cliff_surface=paths.TRAINING_CLIFF_SURFACE,
        cliff_paths=paths.TRAINING_CLIFF_PATHS,
    log:
        paths.TRAINING_COLLECT_LOG,
    benchmark:
        paths.TRAINING_COLLECT_BENCHMARK
    threads: 1
    params:
        settings=cli(solved_fraction=config["training"]["solved_fraction"]),
        code=code_hash("bptt.pipeline.collect_training"),
    shell:
        "python -m bptt.pipeline.collect_training {params.settings}"
        " --runs {input:q} --training {output.training:q} --summary {output.summary:q}"
        " --cliff-surface {output.cliff_surface:q} --cliff-paths {output.cliff_paths:q}"
        " > {log:q} 2>&1"
