# Concatenate the grid points' records and summarise each (point, seed).
# The grid reaches the job as a param (the list of inputs could outgrow a
# command line); bptt.layout names the files the same way on both sides.


rule collect:
    input:
        layout.point_paths(config["grid"]),
    output:
        gradients=GRADIENTS,
        summary=SUMMARY,
    log:
        "logs/collect.log",
    benchmark:
        "benchmarks/collect.tsv"
    params:
        settings=cli(
            cell=config["grid"]["cell"],
            activation=config["grid"]["activation"],
            radius=[layout.canonical_number(r) for r in config["grid"]["radius"]],
            seq_len=config["grid"]["seq_len"],
            regime_tolerance=config["regime_tolerance"],
        ),
        code=provenance.code_hash("bptt.collect"),
    shell:
        "python -m bptt.collect {params.settings}"
        " --gradients {output.gradients:q} --summary {output.summary:q} > {log:q} 2>&1"
