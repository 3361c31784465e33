# Concatenate the grid points' tables and summarise each (point, seed).
# The grid reaches the job as params (the input list could outgrow a command
# line); bptt.layout names the files the same way for both sides.


rule collect:
    input:
        layout.point_paths(config["grid"]),
    output:
        gradients=GRADIENTS,
        summary=SUMMARY,
    log:
        "logs/collect.log",
    params:
        cell=config["grid"]["cell"],
        activation=config["grid"]["activation"],
        radius=[layout.canonical_number(r) for r in config["grid"]["radius"]],
        seq_len=config["grid"]["seq_len"],
        regime_tolerance=config["regime_tolerance"],
        code=provenance.code_hash("bptt.collect"),
    shell:
        "python -m bptt.collect"
        " --cell {params.cell} --activation {params.activation}"
        " --radius {params.radius} --seq-len {params.seq_len}"
        " --regime-tolerance {params.regime_tolerance}"
        " --gradients {output.gradients:q} --summary {output.summary:q} > {log:q} 2>&1"
