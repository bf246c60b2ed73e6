"""Read infra/*.tf with python-hcl2 into plain dictionaries that tests can index."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

#: hcl2 keeps the quotes of string literals; a value of exactly one quoted literal.
_QUOTED = re.compile(r'^"(.*)"$', re.DOTALL)
#: An expression that is one reference, such as ${local.container_port}.
_REFERENCE = re.compile(r"^\$\{(local|var)\.([A-Za-z0-9_]+)\}$")
#: The same inside tostring(), such as ${tostring(var.web_concurrency)}.
_TOSTRING = re.compile(r"^\$\{tostring\((local|var)\.([A-Za-z0-9_]+)\)\}$")


@dataclass
class Configuration:
    """The blocks of one Terraform folder, merged across its files."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[(kind, name)]

    def resolve(self, value: Any) -> Any:
        """Replace a lone `${local.x}` or `${var.x}` by the local's value or the variable's default."""
        if isinstance(value, str) and _TOSTRING.match(value):
            inner = self.resolve(_TOSTRING.sub(r"${\1.\2}", value))
            # Terraform's tostring() writes booleans in lowercase.
            return str(inner).lower() if isinstance(inner, bool) else str(inner)
        if isinstance(value, str):
            match = _REFERENCE.match(value)
            if match and match.group(1) == "local":
                return self.resolve(self.locals[match.group(2)])
            if match:
                return self.resolve(self.variables[match.group(2)].get("default"))
        return value


def _plain(value: Any) -> Any:
    """Strip hcl2's quotes from literals and keys, and drop its bookkeeping keys."""
    if isinstance(value, dict):
        return {
            _plain(key): _plain(item)
            for key, item in value.items()
            if key not in ("__comments__", "__is_block__")
        }
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        match = _QUOTED.match(value)
        return match.group(1) if match else value
    return value


def load(folder: Path) -> Configuration:
    configuration = Configuration()
    for path in sorted(folder.glob("*.tf")):
        with path.open() as file:
            parsed = _plain(hcl2.load(file))
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    configuration.resources[(kind, name)] = body
        for block in parsed.get("locals", []):
            configuration.locals.update(block)
        for block in parsed.get("variable", []):
            configuration.variables.update(block)
        for block in parsed.get("output", []):
            configuration.outputs.update(block)
    return configuration
