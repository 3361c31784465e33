# The audit of the user's own trained networks (config.yaml's audit: section, docs/audit.md):
# `snakemake audit` runs it alone. The model, input and target files are inputs, so replacing
# one reruns the audit; the section itself arrives as a JSON param.
import json


rule audit:
    input:
        paths.audit_inputs(config.get("audit")),
    output:
        paths.AUDIT,
    log:
        paths.AUDIT_LOG,
    benchmark:
        paths.AUDIT_BENCHMARK
    threads: 1
    params:
        settings=json.dumps(config.get("audit") or {}, sort_keys=True),
        code=code_hash("bptt.audit.__main__"),
    shell:
        "python -m bptt.audit --settings-json {params.settings:q}"
        " --output {output:q} > {log:q} 2>&1"
