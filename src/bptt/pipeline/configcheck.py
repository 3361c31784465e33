"""Every problem of a config, in plain words: the key, the bad value, what is allowed.

`snakemake.utils.validate` stops at the first violation and prints it next to
a dump of the schema. The Snakefile calls `problems` first and stops with one
line per problem; the schema's `description` of the key says what is allowed.
JSON Schema cannot reject NaN or infinity (every comparison with NaN is false),
so `problems` also reports any number that is not finite.
"""

import collections
import math

import jsonschema

TYPE_NAMES = {
    "array": "a list",
    "object": "a mapping of keys to values",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
}


def key_name(path) -> str:
    """Dotted key of a path into the config: ("grid", "radius", 2) -> "grid.radius[2]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the config"


def _description(schema: dict, path) -> str:
    """Description of the deepest schema node along `path` that has one."""
    node, found = schema, schema.get("description", "")
    for part in path:
        node = node.get("items" if isinstance(part, int) else "properties", {})
        node = node if isinstance(part, int) else node.get(part, {})
        found = node.get("description", found)
    return found


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
    if rule == "minItems":
        return f"the list is empty; give at least {value} value(s)"
    if rule == "uniqueItems":
        twice = [v for v, n in collections.Counter(map(repr, bad)).items() if n > 1]
        return f"{bad!r} lists {', '.join(twice)} more than once; give each value once"
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


def problems(config: dict, schema: dict) -> list[str]:
    """One line per problem of `config` against `schema`; empty if it is valid."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: key_name(e.absolute_path))
    lines = [
        f"{key_name(e.absolute_path)}: {_what_is_wrong(e)}. "
        f"Allowed: {_description(schema, e.absolute_path)}."
        for e in errors
    ]
    lines += [
        f"{key_name(path)}: {value!r} is not a finite number. "
        f"Allowed: {_description(schema, path)}."
        for path, value in _non_finite(config)
    ]
    return lines
