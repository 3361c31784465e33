# The report: eigenvalues of the recurrent matrices (rule spectrum), mean-field predictions
# (rule theory) and the seed's loss at every step drawn for one network per cell (rule
# every_step), then one self-contained HTML page and its SVG figures (rule report). As in the
# other rules, code arrives as a content hash param; for the report it also covers the
# templates, CSS and text in report/, so editing a template reruns only the report. The report's own files are found beside the
# Snakefile, whatever the working directory (--directory), through an environment variable:
# like PATH (see the Snakefile), it is not a param, so moving the checkout reruns nothing.
import json

REPORT_DIR = pathlib.Path(workflow.basedir) / "report"
os.environ["BPTT_WORKFLOW_DIR"] = workflow.basedir


envvars:
    "BPTT_WORKFLOW_DIR",


rule spectrum:
    output:
        paths.EIGENVALUES,
    log:
        "logs/spectrum.log",
    benchmark:
        "benchmarks/spectrum.tsv"
    threads: 1
    params:
        settings=cli(
            **grid_lists("radius"),
            seeds=config["seeds"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
        ),
        code=codehash.code_hash("bptt.pipeline.spectrum"),
    shell:
        "python -m bptt.pipeline.spectrum {params.settings}"
        " --output {output:q} > {log:q} 2>&1"


rule theory:
    output:
        paths.THEORY,
    log:
        "logs/theory.log",
    benchmark:
        "benchmarks/theory.tsv"
    threads: 1
    params:
        settings=cli(
            activation=config["grid"]["activation"],
            **grid_lists("radius"),
            input_scale=config["input_scale"],
        ),
        code=codehash.code_hash("bptt.pipeline.theory"),
    shell:
        "python -m bptt.pipeline.theory {params.settings}"
        " --output {output:q} > {log:q} 2>&1"


rule every_step:
    output:
        pairs=paths.EVERY_STEP_PAIRS,
        lags=paths.EVERY_STEP_LAGS,
    log:
        "logs/every_step.log",
    benchmark:
        "benchmarks/every_step.tsv"
    threads: 1
    params:
        settings=cli(
            **{
                k: config["grid"][k]
                for k in ("cell", "activation", "recurrent_init", "seq_len")
            },
            **grid_lists("radius", "gate_bias"),
            batch_size=config["batch_size"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
            input_scale=config["input_scale"],
            loss=config["loss"],
            num_classes=config["num_classes"],
        ),
        code=codehash.code_hash("bptt.pipeline.every_step"),
    shell:
        "python -m bptt.pipeline.every_step {params.settings}"
        " --pairs {output.pairs:q} --lags {output.lags:q} > {log:q} 2>&1"


rule report:
    input:
        gradients=paths.GRADIENTS,
        summary=paths.SUMMARY,
        eigenvalues=paths.EIGENVALUES,
        theory=paths.THEORY,
        training=paths.TRAINING,
        training_summary=paths.TRAINING_SUMMARY,
        cliff_surface=paths.TRAINING_CLIFF_SURFACE,
        cliff_paths=paths.TRAINING_CLIFF_PATHS,
        every_step_pairs=paths.EVERY_STEP_PAIRS,
        every_step_lags=paths.EVERY_STEP_LAGS,
        trainability=paths.TRAINABILITY,
        trainability_summary=paths.TRAINABILITY_SUMMARY,
        benchmarks=job_benchmarks()
        + [
            "benchmarks/spectrum.tsv",
            "benchmarks/theory.tsv",
            "benchmarks/every_step.tsv",
        ],
    output:
        html=report(
            paths.REPORT,
            caption="../../report/snakemake_caption.rst",
            category="Report",
        ),
        figures=directory(paths.FIGURES),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    threads: 2  # the figures are drawn side by side (the report runs last, on its own)
    params:
        config_json=json.dumps(config, sort_keys=True),
        # The folder of the benchmark files, whose subfolders name the rules.
        benchmark_root=lambda wildcards, input: os.path.commonpath(input.benchmarks),
        code=codehash.code_hash(
            "bptt.report.__main__",
            files=sorted(p for p in REPORT_DIR.rglob("*") if p.is_file()),
            root=REPORT_DIR.parent,
        ),
    shell:
        "python -m bptt.report"
        " --gradients {input.gradients:q} --summary {input.summary:q}"
        " --eigenvalues {input.eigenvalues:q} --theory {input.theory:q}"
        " --training {input.training:q} --training-summary {input.training_summary:q}"
        " --cliff-surface {input.cliff_surface:q} --cliff-paths {input.cliff_paths:q}"
        " --every-step-pairs {input.every_step_pairs:q} --every-step-lags {input.every_step_lags:q}"
        " --trainability {input.trainability:q} --trainability-summary {input.trainability_summary:q}"
        " --config-json {params.config_json:q}"
        " --benchmarks {input.benchmarks:q} --benchmark-root {params.benchmark_root:q}"
        ' --report-dir "$BPTT_WORKFLOW_DIR/report" --repo "$BPTT_WORKFLOW_DIR"'
        " --figures {output.figures:q} --workers {threads}"
        " --output {output.html:q} > {log:q} 2>&1"
