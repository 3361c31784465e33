# The report: eigenvalues of the recurrent matrices (rule spectrum), mean-field predictions
# (rule theory) and the seed's loss at every step drawn for one network per cell (rule
# every_step), then one self-contained HTML page and its SVG figures (rule report). As in the
# other rules, code arrives as a content hash param; for the report it also covers the
# templates, CSS and text in report/, so editing a template reruns only the report. The report's own files are found beside the
# Snakefile, whatever the working directory (--directory), through an environment variable:
# like PATH (see the Snakefile), it is not a param, so moving the checkout reruns nothing.
import json
import shlex

from bptt.pipeline import report_inputs

REPORT_DIR = pathlib.Path(workflow.basedir) / "report"
os.environ["BPTT_WORKFLOW_DIR"] = workflow.basedir


envvars:
    "BPTT_WORKFLOW_DIR",


rule spectrum:
    output:
        paths.EIGENVALUES,
    log:
        paths.SPECTRUM_LOG,
    benchmark:
        paths.SPECTRUM_BENCHMARK
    threads: 1
    params:
        settings=cli(
            **grid_lists("radius"),
            seeds=config["seeds"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
        ),
        code=code_hash("bptt.pipeline.spectrum"),
    shell:
        "python -m bptt.pipeline.spectrum {params.settings}"
        " --output {output:q} > {log:q} 2>&1"


rule theory:
    output:
        paths.THEORY,
    log:
        paths.THEORY_LOG,
    benchmark:
        paths.THEORY_BENCHMARK
    threads: 1
    params:
        settings=cli(
            activation=config["grid"]["activation"],
            **grid_lists("radius"),
            input_scale=config["input_scale"],
            cell=config["grid"]["cell"],
            **grid_lists("gate_bias"),
        ),
        code=code_hash("bptt.pipeline.theory"),
    shell:
        "python -m bptt.pipeline.theory {params.settings}"
        " --output {output:q} > {log:q} 2>&1"


rule every_step:
    output:
        pairs=paths.EVERY_STEP_PAIRS,
        lags=paths.EVERY_STEP_LAGS,
    log:
        paths.EVERY_STEP_LOG,
    benchmark:
        paths.EVERY_STEP_BENCHMARK
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
        code=code_hash("bptt.pipeline.every_step"),
    shell:
        "python -m bptt.pipeline.every_step {params.settings}"
        " --pairs {output.pairs:q} --lags {output.lags:q} > {log:q} 2>&1"


rule report:
    input:
        **{
            name: table.path
            for name, table in report_inputs.INPUTS.items()
            if not table.optional
        },
        audit=paths.AUDIT if config.get("audit") else [],  # "Your models", with an audit: section
        benchmarks=job_benchmarks()
        + [
            paths.SPECTRUM_BENCHMARK,
            paths.THEORY_BENCHMARK,
            paths.EVERY_STEP_BENCHMARK,
        ],
    output:
        html=report(
            paths.REPORT,
            caption="../../report/snakemake_caption.rst",
            category="Report",
        ),
        figures=directory(paths.FIGURES),
    log:
        paths.REPORT_LOG,
    benchmark:
        paths.REPORT_BENCHMARK
    threads: 2  # the figures are drawn side by side (the report runs last, on its own)
    params:
        # One flag per table of bptt.pipeline.report_inputs, as python -m bptt.report takes them.
        tables=lambda wildcards, input: " ".join(
            f"{report_inputs.flag(name)} {shlex.quote(input[name])}"
            for name in report_inputs.INPUTS
            if input.get(name)
        ),
        config_json=json.dumps(config, sort_keys=True),
        # The folder of the benchmark files, whose subfolders name the rules.
        benchmark_root=lambda wildcards, input: os.path.commonpath(input.benchmarks),
        code=code_hash(
            "bptt.report.__main__",
            files=sorted(p for p in REPORT_DIR.rglob("*") if p.is_file()),
            root=REPORT_DIR.parent,
        ),
    shell:
        "python -m bptt.report {params.tables}"
        " --config-json {params.config_json:q}"
        " --benchmarks {input.benchmarks:q} --benchmark-root {params.benchmark_root:q}"
        ' --report-dir "$BPTT_WORKFLOW_DIR/report" --repo "$BPTT_WORKFLOW_DIR"'
        " --figures {output.figures:q} --workers {threads}"
        " --output {output.html:q} > {log:q} 2>&1"
