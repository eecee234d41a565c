"""Event payloads shaped like GitHub's, built from the webhook schemas in the contract.

Webhook schemas require dozens of fields; rather than hand-typing a partial payload that would
not validate, every required field is generated from the schema, the fields a test cares about
are laid over it, and the result is validated against the schema before it is used.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

from tests.support.github_server import load_description

_FORMATS = {
    "date-time": "2026-11-23T10:00:00Z",
    "uri": "https://example.com/x",
    "uri-template": "https://example.com/x{/y}",
    "email": "dev@example.com",
}


class Webhooks:
    def __init__(self, contract: Path) -> None:
        self.components = load_description(contract)["components"]

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def instance(self, schema: dict[str, Any]) -> Any:
        schema = self._resolve(schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.instance(part)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.instance(schema[key][0])
        if "enum" in schema:
            return next((v for v in schema["enum"] if v is not None), None)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            result = {}
            for name in schema.get("required", []):
                sub = self._resolve(properties.get(name, {}))
                result[name] = None if sub.get("nullable") and sub.get("type") == "object" else self.instance(sub)
            return result
        if kind == "array":
            return [self.instance(schema["items"]) for _ in range(schema.get("minItems", 0))]
        if kind == "string":
            return _FORMATS.get(schema.get("format", ""), "x")
        if kind in ("integer", "number"):
            return max(1, schema.get("minimum", 1))
        if kind == "boolean":
            return False
        return None

    def event(self, name: str, overlay: dict[str, Any]) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/webhook-{name}"}
        payload = _merge(self.instance(schema), overlay)
        errors = list(OAS30Validator({**schema, "components": self.components}).iter_errors(payload))
        assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
        return payload


def _merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = copy.deepcopy(base)
        for key, value in overlay.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return copy.deepcopy(overlay)
