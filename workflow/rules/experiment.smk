# One job per cell, activation and sequence length: all its points (radius, recurrent_init,
# gate_bias) and seeds as one stack of networks. Every value the job uses arrives through a
# wildcard or the `settings` param, and the code it runs through the `code` param (a content
# hash, so an edit that is reverted reruns nothing). A cell's settings hold only the values
# that apply to it, so editing gate_bias reruns the gated cells' jobs alone.
# On a cluster, each job's memory and time limit and the group sharing its submission come from
# the planning-time cost estimate (bptt.pipeline.resources; docs/cluster.md). A grid that is not
# worth one submission runs where Snakemake runs: the rule is then local and in no group.


JOB_PLANS = resources.plan(config)
RUN_HERE = resources.run_here(JOB_PLANS)
if not RUN_HERE:
    register_groups(JOB_PLANS)


rule experiment:
    output:
        paths.RUN,
    log:
        paths.RUN_LOG,
    benchmark:
        paths.RUN_BENCHMARK
    group:
        None if RUN_HERE else lambda wildcards: job_plan(wildcards).group
    localrule: RUN_HERE
    threads: 1
    resources:
        mem_mb=lambda wildcards: job_plan(wildcards).mem_mb,
        runtime=lambda wildcards: job_plan(wildcards).runtime,
        # Longest first: SLURM starts a pending job of lower nice first (docs/cluster.md).
        slurm_extra=lambda wildcards: f"--nice={job_plan(wildcards).nice}",
        # The SLURM profile caps cpus_per_task at 1 (scoped local, so that a group asks for one
        # CPU); a local rule's jobs count against that cap too, which would run them one at a time.
        cpus_per_task=0 if RUN_HERE else 1,
    params:
        settings=lambda wildcards: cli(
            **grid.job_settings(
                {**config["grid"], **grid_lists("radius", "gate_bias")}, wildcards.cell
            ),
            seeds=config["seeds"],
            batch_size=config["batch_size"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
            input_scale=config["input_scale"],
            loss=config["loss"],
            loss_at=config["loss_at"],
            num_classes=config["num_classes"],
            jacobian_batch=config["jacobian_batch"],
        ),
        code=code_hash("bptt.pipeline.experiment"),
    shell:
        "python -m bptt.pipeline.experiment"
        " --cell {wildcards.cell} --activation {wildcards.activation}"
        " --seq-len {wildcards.seq_len} {params.settings} --output {output:q} > {log:q} 2>&1"
