# Concatenate the jobs' records and summarise each (point, seed). The grid reaches the job as
# a param (the list of inputs could outgrow a command line); bptt.pipeline.paths names the
# files the same way on both sides.


rule collect:
    input:
        [paths.run_path(*job) for job in grid.jobs(config["grid"])],
    output:
        gradients=paths.GRADIENTS,
        summary=paths.SUMMARY,
    log:
        paths.COLLECT_LOG,
    benchmark:
        paths.COLLECT_BENCHMARK
    params:
        settings=cli(
            cell=config["grid"]["cell"],
            activation=config["grid"]["activation"],
            seq_len=config["grid"]["seq_len"],
            recurrent_init=config["grid"]["recurrent_init"],
            **grid_lists("radius", "gate_bias"),
            regime_tolerance=config["regime_tolerance"],
        ),
        code=code_hash("bptt.pipeline.collect"),
    shell:
        "python -m bptt.pipeline.collect {params.settings}"
        " --gradients {output.gradients:q} --summary {output.summary:q} > {log:q} 2>&1"
