# One job per grid point: all seeds of the point, vectorised over the batch.
# Every value the job uses arrives through a wildcard or the `settings` param,
# and the code it runs through the `code` param (a content hash, so an edit
# that is reverted reruns nothing).


rule experiment:
    output:
        paths.POINT,
    log:
        "logs/experiment/{cell}/{activation}/rho{radius}_T{seq_len}.log",
    benchmark:
        EXPERIMENT_BENCHMARK
    params:
        settings=lambda wildcards: cli(
            seeds=config["seeds"],
            batch_size=config["batch_size"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
            recurrent_init=config["recurrent_init"],
            input_scale=config["input_scale"],
            loss=config["loss"],
            num_classes=config["num_classes"],
            # The LSTM's alone: editing it reruns the lstm points only.
            forget_bias=config["forget_bias"] if wildcards.cell == "lstm" else 0.0,
        ),
        code=codehash.code_hash("bptt.pipeline.experiment"),
    shell:
        "python -m bptt.pipeline.experiment"
        " --cell {wildcards.cell} --activation {wildcards.activation}"
        " --radius {wildcards.radius} --seq-len {wildcards.seq_len}"
        " {params.settings} --output {output:q} > {log:q} 2>&1"
