"""Every problem of a config, in plain words: the key, the bad value, what is allowed.

`snakemake.utils.validate` stops at the first violation and prints it next to a dump of the
schema. The Snakefile calls `problems` first and stops with one line per problem; the
schema's `description` of the key says what is allowed. Before that, `normalise` reads
values the way a user means them: 2.0 for an integer setting is 2, and the text "1" that
Snakemake hands over for a nested `--config` value is the number 1. JSON Schema cannot
reject NaN or infinity (every comparison with NaN is false), so `problems` also reports any
number that is not finite. Keys of older versions get a message that says what to write.
"""

import collections
import math

import jsonschema
import numpy as np
import yaml

from bptt.core import cells
from bptt.pipeline import estimate, grid, paths

TYPE_NAMES = {
    "array": "a list",
    "object": "a mapping of keys to values",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
}

# Keys of earlier versions, and what to write instead.
RENAMED = {
    "forget_bias": "forget_bias was replaced by grid.gate_bias, a list of the LSTM's forget-gate and the GRU's "
    "update-gate biases: write `grid: {{gate_bias: [{value}]}}`",
    "recurrent_init": "recurrent_init is now grid.recurrent_init, a list: write `grid: {{recurrent_init: [{value}]}}`",
}


def key_name(path) -> str:
    """Dotted key of a path into the config: ("grid", "radius", 2) -> "grid.radius[2]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the config"


def _child(node: dict, part) -> dict:
    """The schema of item or key `part` of `node`: its items, its property, or its additionalProperties
    (the schema of the entries of a mapping whose keys are names, such as training.models)."""
    if isinstance(part, int):
        return node.get("items", {})
    extra = node.get("additionalProperties")
    return node.get("properties", {}).get(part, extra if isinstance(extra, dict) else {})


def _description(schema: dict, path) -> str:
    """Description of the deepest schema node along `path` that has one."""
    node, found = schema, schema.get("description", "")
    for part in path:
        node = _child(node, part)
        found = node.get("description", found)
    return found


def _same_value_key(value):
    """Items equal for JSON Schema's uniqueItems (1 and 1.0) share a key; their first spelling names it."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)


def _what_is_wrong(error: jsonschema.ValidationError) -> str:
    """The violated rule of one schema error, in words."""
    rule, value, bad = error.validator, error.validator_value, error.instance
    if rule == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        unknown = ", ".join(sorted(set(bad) - set(error.schema.get("properties", {}))))
        return f"unknown key(s) {unknown}; allowed keys: {allowed}"
    if rule == "type":
        return f"{bad!r} is not {TYPE_NAMES.get(value, value)}"
    if rule == "enum":
        return f"{bad!r} is not allowed; allowed values: {', '.join(map(str, value))}"
    if rule == "oneOf":
        return f"{bad!r} is not allowed"
    if rule == "minItems":
        return f"the list is empty; give at least {value} value(s)"
    if rule == "minProperties":
        return f"nothing is given; give at least {value} entry(ies)"
    if rule == "required":
        missing = ", ".join(k for k in value if k not in bad)
        return f"{missing} is missing"
    if rule == "pattern":
        return f"the name {bad!r} is not allowed"
    if rule == "uniqueItems":
        counts = collections.Counter(_same_value_key(v) for v in bad)
        twice = [repr(v) for v in bad if counts[_same_value_key(v)] > 1]
        return f"{bad!r} lists {' and '.join(dict.fromkeys(twice))} as the same value; give each value once"
    if rule in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        return f"{bad!r} is not allowed; it must be {sign[rule]} {value}"
    return f"{bad!r}: {error.message}"


def _non_finite(value, path=()):
    """Paths and values of every NaN or infinite float in a nested config."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, path + (index,))


def _types(node: dict) -> set[str]:
    """The JSON types a schema node allows (through oneOf as well; "type" may be a list, as audit's)."""
    kind = node.get("type", [])
    found = set(kind) if isinstance(kind, list) else {kind}
    for option in node.get("oneOf", []):
        found |= _types(option)
    return found


def _as_number(value, types: set[str]):
    """`value` as the number it spells, for an integer or number setting; unchanged otherwise."""
    if isinstance(value, str) and types & {"integer", "number"}:
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    return value


def _words(node: dict) -> set:
    """The words a schema node allows as constants (through oneOf as well), such as clip's "off"."""
    found = {node["const"]} if isinstance(node.get("const"), str) else set()
    for option in node.get("oneOf", []):
        found |= _words(option)
    return found


def normalise(config, schema: dict):
    """`config` with numbers read as meant (see the module docstring), following `schema`; an unquoted
    off, which YAML reads as false, is the word off where the schema allows it (clip: [off])."""
    if isinstance(config, dict):
        return {k: normalise(v, _child(schema, k)) for k, v in config.items()}
    if isinstance(config, list):
        return [normalise(v, schema.get("items", {})) for v in config]
    if config is False and "off" in _words(schema):
        return "off"
    return _as_number(config, _types(schema))


def duplicate_keys(text: str, name: str) -> list[str]:
    """One line per key given twice in one mapping of the YAML `text` (the file `name`): YAML loaders
    keep the last silently, so an edit to the first would change nothing."""
    lines = []

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key, value in node.value:
                here = path + (key.value,)
                if key.value in seen:
                    lines.append(
                        f"{name}: {key_name(here)} is given twice (lines {seen[key.value]} and "
                        f"{key.start_mark.line + 1}); the last would silently win. Keep one."
                    )
                seen[key.value] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    walk(yaml.compose(text, Loader=yaml.CSafeLoader), ())  # libyaml: a tenth of the pure-Python time
    return lines


def cross_problems(config: dict) -> list[str]:
    """Problems between keys of a config valid key by key (defaults filled in): a cell of the grid
    that gets no point, a jacobian_batch larger than the batch, a loss at every step without a sequence
    to measure its per-lag gradients on."""
    g = config["grid"]
    lines = []
    if config["jacobian_batch"] > config["batch_size"]:
        lines.append(
            f"jacobian_batch: {config['jacobian_batch']} exceeds batch_size {config['batch_size']}; "
            "give at most batch_size sequences (0 for none)."
        )
    if config["loss_at"] == "every" and config["jacobian_batch"] == 0:
        lines.append(
            "jacobian_batch: 0 with loss_at: every leaves no sequence to measure the per-lag gradients on "
            "(they use the first jacobian_batch sequences); give jacobian_batch >= 1, or loss_at: last."
        )
    return lines + [
        f"grid: {cell} gets no grid point from recurrent_init {g['recurrent_init']} and gate_bias {g['gate_bias']} "
        f"(identity applies to rnn only, chrono to lstm only). Add a value that applies to {cell},"
        " or remove it from grid.cell."
        for cell in g["cell"]
        if cell in grid.GATED and not grid.variants(cell, g["recurrent_init"], g["gate_bias"])
    ]


def model_problems(models: dict, key: str) -> list[str]:
    """One line per model of `models` (a section's named networks, defaults filled in) that the core
    refuses to build, in the core's words (identity for a gated cell, a gate bias for rnn, ...)."""
    lines = []
    for name, spec in models.items():
        try:
            cells.make(
                spec["cell"],
                input_size=1,
                hidden_size=1,
                activation=spec["activation"],
                radius=spec["radius"],
                rng=np.random.default_rng(0),
                recurrent_init=spec["recurrent_init"],
                gate_bias=spec["gate_bias"],
                chrono_t_max=3,
            )
        except ValueError as error:
            lines.append(f"{key}.{name}: {error}. Change the value, or the cell.")
    return lines


def memory_problems(config: dict, machine_bytes: int) -> list[str]:
    """One line per section (the grid's experiments, training) of a valid config (defaults filled in)
    with jobs whose estimated peak memory (`bptt.pipeline.estimate`) exceeds `machine_bytes`: such a
    job would take the machine down."""
    sections = {
        "grid": (
            estimate.experiments_peak_bytes(config),
            "seeds x batch_size x seq_len x hidden_size (and seq_len^2 x jacobian_batch with loss_at: every)",
        ),
        "training": (
            estimate.training_peak_bytes(config["training"]),
            "steps, seeds x (batch_size, eval_batch_size) x seq_len x hidden_size and recall's num_classes",
        ),
    }
    lines = []
    for section, (peaks, grows) in sections.items():
        over = {job: peak for job, peak in peaks.items() if peak > machine_bytes}
        if over:
            job, peak = max(over.items(), key=lambda item: item[1])
            lines.append(
                f"{section}: {len(over)} job(s) would need more memory than this machine's "
                f"{machine_bytes / 2**30:.1f} GiB, the largest {peak / 2**30:.3g} GiB ({', '.join(map(str, job))}); "
                f"it grows with {grows}. Make them smaller."
            )
    return lines


def target_problems(config: dict, targets) -> list[str]:
    """One line per training target among `targets` (paths given on the command line) whose task or
    model the config's training section (defaults filled in) does not define, naming those it does."""
    lines = []
    for target in targets:
        found = paths.train_run_keys(target)
        for key in ("task", "model") if found else ():
            defined = config["training"][f"{key}s"]
            if found[key] not in defined:
                lines.append(
                    f"{target}: the config's training section has no {key} {found[key]!r}; "
                    f"its {key}s: {', '.join(defined)}. Ask for one of those, or add it to training.{key}s."
                )
    return lines


def training_problems(config: dict, section: str = "training") -> list[str]:
    """`model_problems` of a valid config's training (or trainability) section (defaults filled in)."""
    return model_problems(config[section]["models"], f"{section}.models")


def study_problems(config: dict) -> list[str]:
    """The trainability section's cross-key problems: perturbed rungs that no task's ladder has."""
    study = config["trainability"]
    ladders = {int(n) for task in study["tasks"].values() for n in task["seq_len"]}
    return [
        f"trainability.perturbation.seq_len: {n} is not allowed. Allowed: lengths of the tasks' ladders "
        f"({', '.join(map(str, sorted(ladders)))})."
        for n in study["perturbation"]["seq_len"]
        if n not in ladders
    ]


def problems(config: dict, schema: dict) -> list[str]:
    """One line per problem of `config` against `schema`; empty if it is valid."""
    lines = [
        f"{key}: {RENAMED[key].format(value=config[key])}."
        for key in RENAMED
        if key in config and key not in schema.get("properties", {})
    ]
    current = {k: v for k, v in config.items() if k not in RENAMED or k in schema.get("properties", {})}
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(current), key=lambda e: key_name(e.absolute_path))
    lines += [
        f"{key_name(e.absolute_path)}: {_what_is_wrong(e)}. Allowed: {_description(schema, e.absolute_path)}."
        for e in errors
    ]
    lines += [
        f"{key_name(path)}: {value!r} is not a finite number. Allowed: {_description(schema, path)}."
        for path, value in _non_finite(current)
    ]
    return lines
