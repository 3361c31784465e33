"""Audit your own network: python -m bptt.audit --config config.yaml --output results/audit.parquet

Reads the `audit:` section of the config (or --settings-json, as rule audit passes it), measures every
model in it and writes the table whole, atomically. A bad file, key, shape or setting prints one line
naming it and what is allowed, and exits with status 2 without writing anything.
"""

import argparse
import json
import pathlib
import sys

import yaml

from bptt.audit import AuditError, run
from bptt.pipeline import tables


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.audit", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=pathlib.Path, help="a config.yaml with an audit: section")
    source.add_argument("--settings-json", help="the audit section itself, as JSON")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("results/audit.parquet"))
    args = parser.parse_args(argv)
    try:
        if args.config is not None:
            if not args.config.is_file():
                raise AuditError(f"{args.config}: no such config file")
            settings = (yaml.safe_load(args.config.read_text()) or {}).get("audit")
        else:
            settings = json.loads(args.settings_json)
        table = run.audit(settings)
    except AuditError as err:
        print(f"audit: {err}", file=sys.stderr)
        return 2
    tables.write(table, str(args.output))
    models = sorted(set(table.column("model").to_pylist()))
    print(f"wrote {args.output}: {table.num_rows} rows for {len(models)} model(s): {', '.join(models)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
