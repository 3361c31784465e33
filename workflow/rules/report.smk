# The report: eigenvalues of the recurrent matrices (rule spectrum), then one
# self-contained HTML page and its SVG figures (rule report). As in the other
# rules, code arrives as a content hash param; for the report it also covers
# the templates, CSS and text in report/, so editing a template reruns only
# the report.
import json

EIGENVALUES = "results/eigenvalues.parquet"
REPORT = "results/report.html"
FIGURES = [f"results/figures/figure_{letter}.svg" for letter in "abcdef"]


rule spectrum:
    output:
        EIGENVALUES,
    log:
        "logs/spectrum.log",
    benchmark:
        "benchmarks/spectrum.tsv"
    params:
        settings=cli(
            radius=[paths.canonical_number(r) for r in config["grid"]["radius"]],
            seeds=config["seeds"],
            hidden_size=config["hidden_size"],
            input_size=config["input_size"],
        ),
        code=codehash.code_hash("bptt.pipeline.spectrum"),
    shell:
        "python -m bptt.pipeline.spectrum {params.settings}"
        " --output {output:q} > {log:q} 2>&1"


rule report:
    input:
        gradients=GRADIENTS,
        summary=SUMMARY,
        eigenvalues=EIGENVALUES,
        benchmarks=experiment_benchmarks(config["grid"]) + ["benchmarks/spectrum.tsv"],
    output:
        html=report(
            REPORT,
            caption="../../report/snakemake_caption.rst",
            category="Report",
        ),
        figures=FIGURES,
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    params:
        config_json=json.dumps(config, sort_keys=True),
        figure_dir=lambda wildcards, output: os.path.dirname(output.figures[0]),
        code=codehash.code_hash("bptt.report.__main__", files=report_files()),
    shell:
        "python -m bptt.report"
        " --gradients {input.gradients:q} --summary {input.summary:q}"
        " --eigenvalues {input.eigenvalues:q} --config-json {params.config_json:q}"
        " --benchmarks {input.benchmarks:q} --benchmark-root benchmarks"
        " --report-dir report --figures {params.figure_dir:q}"
        " --output {output.html:q} > {log:q} 2>&1"
