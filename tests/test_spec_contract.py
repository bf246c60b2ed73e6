"""House rules of spec/openapi.yaml, and the legacy operations it must keep serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SPEC_PATH = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = "#/components/schemas/Problem"

#: Every operation of the original FastAPI service, by method and path, as its clients call them.
ORIGINAL_OPERATIONS = {
    ("get", "/"),
    ("post", "/token/"),
    ("put", "/token/generate"),
    ("get", "/token/root-test"),
    ("get", "/token/reg-test"),
    ("get", "/Activity/"),
    ("put", "/Activity/{name}"),
    ("get", "/ActivityProbability/"),
    ("get", "/Recommender/{gender}"),
    ("get", "/reset"),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return dict(yaml.safe_load(file))


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


def links_of(spec: dict[str, Any], operation_id: str) -> set[str]:
    """Return the operationIds that the operation's responses link to."""
    found = set()
    for _method, _path, operation in operations(spec):
        if operation["operationId"] == operation_id:
            for response in operation["responses"].values():
                for link in resolve(spec, response).get("links", {}).values():
                    found.add(link["operationId"])
    return found


def test_operations_have_id_summary_tags_and_handler(spec: dict[str, Any]) -> None:
    declared_tags = {tag["name"] for tag in spec["tags"]}
    for method, path, operation in operations(spec):
        label = f"{method.upper()} {path}"
        assert operation.get("operationId"), label
        assert operation.get("summary"), label
        assert operation.get("tags"), label
        assert set(operation["tags"]) <= declared_tags, label
        assert operation["x-openapi-router-controller"].startswith("api.handlers."), label


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _method, _path, operation in operations(spec)]
    assert len(ids) == len(set(ids))


def test_operations_document_4xx_problems(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        label = f"{method.upper()} {path}"
        client_errors = [code for code in operation["responses"] if code.startswith("4")]
        assert client_errors, label
        for code in client_errors:
            response = resolve(spec, operation["responses"][code])
            schema = response["content"]["application/problem+json"]["schema"]
            schema = resolve(spec, schema) if schema.get("$ref") != PROBLEM else schema
            refs = [schema.get("$ref")] + [part.get("$ref") for part in schema.get("allOf", [])]
            assert PROBLEM in refs, f"{label} {code}"


def test_legacy_operations_match_original(spec: dict[str, Any]) -> None:
    legacy = {
        (method, path)
        for method, path, operation in operations(spec)
        if "legacy" in operation["tags"]
    }
    assert legacy == ORIGINAL_OPERATIONS


def test_legacy_operations_are_deprecated_adapters(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if (method, path) in ORIGINAL_OPERATIONS:
            assert operation["tags"] == ["legacy"], path
            assert operation["deprecated"] is True, path
            assert operation["x-openapi-router-controller"] == "api.handlers.legacy", path


@pytest.mark.parametrize(
    ("source", "targets"),
    [
        # Create an activity, read it, add players, delete it.
        ("put_activity", {"get_activity", "add_players", "delete_activity"}),
        ("get_activity", {"add_players", "delete_activity"}),
        ("add_players", {"get_activity", "delete_activity"}),
        # Create a user, issue a token, delete the user.
        ("create_user", {"get_user", "create_user_token", "delete_user"}),
        ("create_user_token", {"delete_user"}),
        ("legacy_put_activity", {"legacy_list_activities", "delete_activity"}),
        ("legacy_generate_token", {"get_user", "delete_user"}),
    ],
)
def test_links_chain_the_stateful_scenarios(
    spec: dict[str, Any], source: str, targets: set[str]
) -> None:
    assert targets <= links_of(spec, source)
