"""Checks a JSON value against a schema of openapi.yaml, so tests hold responses to the spec."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import validators
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@functools.cache
def load_openapi() -> dict[str, Any]:
    """openapi.yaml, parsed once."""
    with OPENAPI_FILE.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def ecma_pattern(validator: Any, pattern: str, instance: object, schema: object) -> Iterator[Any]:
    """`pattern` as ECMA-262 reads it (OpenAPI's dialect): `$` matches only at the very end.

    Python's `$` also matches before a final newline, so jsonschema's own check would take
    'Sign Up\n' where every ECMA engine (and the function) refuses it.
    """
    if not isinstance(instance, str):
        return
    python = (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )
    if re.search(python, instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_EcmaValidator = validators.extend(OAS30Validator, {"pattern": ecma_pattern})


@functools.cache
def _validator(kind: str) -> Any:
    components = load_openapi()["components"]
    if kind not in components["schemas"]:
        known = ", ".join(sorted(components["schemas"]))
        raise LookupError(f"openapi.yaml has no schema {kind!r}; it has: {known}")
    # The components ride along in the root, so every '#/components/schemas/...' resolves.
    schema = {"components": components, "allOf": [{"$ref": f"#/components/schemas/{kind}"}]}
    OAS30Validator.check_schema(schema)
    return _EcmaValidator(schema, format_checker=oas30_format_checker)


def validate_against_openapi(kind: str, instance: object) -> None:
    """Raise jsonschema.ValidationError unless `instance` fits components.schemas[`kind`].

    `kind` is a schema name such as "ReportResponse", "Error", "Plan", "BlockKitPayload",
    "ReportNotPosted" or "Report". OpenAPI 3.0 `nullable` and formats (date, date-time) are
    honoured; the error raised is the most relevant one (jsonschema's best_match).
    """
    error = best_match(_validator(kind).iter_errors(instance))
    if error is not None:
        raise error
