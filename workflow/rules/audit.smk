# The audit of the user's own trained networks (config.yaml's audit: section, docs/audit.md):
# `snakemake audit` runs it alone. The model, input and target files are inputs, so replacing
# one reruns the audit; the section itself arrives as a JSON param.
import json


def audit_files(settings):
    """Every file the audit section names: weights, inputs, targets, a head's second file."""
    files = []
    for model in (settings or {}).get("models") or []:
        head = model.get("head") or {}
        files += [model["weights"], model["inputs"]]
        files += [head[k] for k in ("weights", "targets") if k in head]
    return sorted(set(files))


rule audit:
    input:
        audit_files(config.get("audit")),
    output:
        paths.AUDIT,
    log:
        paths.AUDIT_LOG,
    benchmark:
        paths.AUDIT_BENCHMARK
    threads: 1
    params:
        settings=json.dumps(config.get("audit") or {}, sort_keys=True),
        code=codehash.code_hash("bptt.audit.__main__"),
    shell:
        "python -m bptt.audit --settings-json {params.settings:q}"
        " --output {output:q} > {log:q} 2>&1"
