"""Request validators that report a spec violation as one short sentence naming the field.

Connexion 3's own validators check requests against the spec, then put jsonschema's
whole report, schema dump included, into the problem's `detail`. These subclasses keep
Connexion's checks and replace the messages. They also turn bodies that Connexion
cannot decode (invalid UTF-8, NaN, deep nesting) into 400s, where Connexion fails
with a 500. `create_app` passes `VALIDATOR_MAP` to `add_api`.
"""

from __future__ import annotations

import functools
import json
import logging
import typing as t
from urllib.parse import unquote_to_bytes

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import (
    BadRequestProblem,
    ExtraParameterProblem,
    UnsupportedMediaTypeProblem,
)
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import relevance
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

log = logging.getLogger(__name__)

#: The maximum length, in characters, of a rejected value quoted in a message.
MAX_QUOTED_VALUE = 40

TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a JSON array",
}


def describe(error: ValidationError, field: str | None) -> str:
    """Describe in one sentence which field broke which rule of the spec.

    `field` names the parameter, or is None for a request body, whose field is
    then read from the error's path.
    """
    schema = error.schema if isinstance(error.schema, dict) else {}
    path = ".".join(str(part) for part in error.absolute_path)
    name = field or path
    subject = f"'{name}'" if name else "The request body"
    quoted = _quoted_value(error.instance, schema, name)
    rule = error.validator_value

    # A schema may state a rule in words, which read better than its regex or anyOf.
    if error.validator in ("pattern", "anyOf", "oneOf") and "x-error-message" in schema:
        return str(schema["x-error-message"])
    if error.validator == "required":
        missing = [key for key in rule if key not in error.instance]
        return f"'{_join(path, missing[0])}' is required."
    if error.validator == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        unknown = sorted(key for key in error.instance if key not in allowed)
        names = ", ".join(f"'{_join(path, key)}'" for key in unknown)
        return (
            f"The field {names} is not allowed."
            if len(unknown) == 1
            else (f"The fields {names} are not allowed.")
        )
    if error.validator == "type":
        expected = " or ".join(TYPE_NAMES.get(kind, kind) for kind in _as_list(rule))
        return f"{subject} must be {expected}{quoted}."
    if error.validator == "enum":
        options = ", ".join(_render(option) for option in rule)
        if len(rule) == 1:
            return f"{subject} must be {options}{quoted}."
        return f"{subject} must be one of {options}{quoted}."
    if error.validator == "minimum":
        bound = "greater than" if schema.get("exclusiveMinimum") is True else "at least"
        return f"{subject} must be {bound} {rule}{quoted}."
    if error.validator == "maximum":
        bound = "less than" if schema.get("exclusiveMaximum") is True else "at most"
        return f"{subject} must be {bound} {rule}{quoted}."
    if error.validator == "minLength":
        if rule == 1:
            return f"{subject} must not be empty."
        return f"{subject} must have at least {rule} characters."
    if error.validator == "maxLength":
        return f"{subject} must have at most {rule} characters."
    if error.validator == "pattern":
        return f"{subject} must match the pattern {rule}."
    return f"{subject} is invalid: {_truncate(error.message)}."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _as_list(value: t.Any) -> list[t.Any]:
    return value if isinstance(value, list) else [value]


def _quoted_value(value: t.Any, schema: dict[str, t.Any], name: str) -> str:
    """Return `, not <value>` for the message, or nothing for secrets and structures."""
    if schema.get("format") == "password" or "password" in name or "secret" in name:
        return ""
    if isinstance(value, (dict, list)):
        return ""
    return f", not {_truncate(_render(value))}"


def _render(value: t.Any) -> str:
    """Return a value as a message shows it: strings in single quotes, the rest as JSON."""
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)


def _truncate(text: str) -> str:
    if len(text) <= MAX_QUOTED_VALUE:
        return text
    return text[: MAX_QUOTED_VALUE - 1] + "…"


def _reject_constant(constant: str) -> t.NoReturn:
    raise ValueError(f"{constant} is not a JSON number")


#: Parameter validators by the id of their schema. Each entry keeps its schema alive, so
#: the id cannot be reused by another schema. The spec's parameters are a fixed set; the
#: cap only guards against schemas made per request.
_PARAMETER_VALIDATORS: dict[int, tuple[dict[str, t.Any], Draft4Validator]] = {}
MAX_PARAMETER_VALIDATORS = 256


def _schema_validator(schema: dict[str, t.Any]) -> Draft4Validator:
    """Return a validator for a parameter schema, built once instead of once per request."""
    entry = _PARAMETER_VALIDATORS.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    if len(_PARAMETER_VALIDATORS) < MAX_PARAMETER_VALIDATORS:
        _PARAMETER_VALIDATORS[id(schema)] = (schema, validator)
    return validator


class ReadableParameterValidator(ParameterValidator):
    """Validates path, query and header parameters, and that the path is UTF-8."""

    def validate(self, scope: Scope) -> None:
        # Starlette decodes the path with errors="replace", so an invalid byte such as
        # %FF would otherwise reach the handlers as U+FFFD.
        raw_path = scope.get("raw_path") or b""
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestProblem(
                detail="The URL path is not valid UTF-8 after percent-decoding."
            ) from None
        super().validate(scope)

    def validate_request(self, request: t.Any) -> None:
        try:
            super().validate_request(request)
        except ExtraParameterProblem:
            unknown = self.validate_query_parameter_list(
                request, security_params=self.security_query_params
            )
            raise BadRequestProblem(detail=_unknown("query parameter", unknown)) from None

    @staticmethod
    def validate_parameter(
        parameter_type: str,
        value: t.Any,
        param: dict[str, t.Any],
        param_name: str | None = None,
    ) -> str | None:
        """Check one parameter against its schema; return the message for a violation."""
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                return f"The {parameter_type} parameter '{param['name']}' is required."
            return None
        schema = param.get("schema", param)
        error = max(_schema_validator(schema).iter_errors(value), key=relevance, default=None)
        return describe(error, param["name"]) if error else None


class ReadableJSONBodyValidator(JSONRequestBodyValidator):
    """Validates JSON request bodies: UTF-8 only (RFC 8259), strict JSON, clear messages."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        _check_body_present(Headers(scope=scope), self._required, "application/json")
        if self._encoding.lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaTypeProblem(
                detail=f"JSON must be encoded as UTF-8, not {self._encoding!r}."
            )
        return await super().wrap_receive(receive, scope=scope)

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequestProblem(
                detail=f"The request body is not valid UTF-8 at byte {exc.start}."
            ) from None
        if not text:
            return None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise BadRequestProblem(
                detail=f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}."
            ) from None
        except ValueError as exc:  # NaN or Infinity, which JSON does not have
            raise BadRequestProblem(detail=f"The request body is not valid JSON: {exc}.") from None
        except RecursionError:
            raise BadRequestProblem(detail="The request body is nested too deeply.") from None

    @functools.cached_property
    def _validator(self) -> t.Any:
        # Connexion builds a new validator at every access; the schema never changes.
        return super()._validator

    def _validate(self, body: t.Any) -> dict[str, t.Any] | None:
        if body is None:
            raise BadRequestProblem(detail="The request body must be a JSON object, not null.")
        _raise_first_error(self._validator, body)
        return None


class ReadableFormValidator(FormDataValidator):
    """Validates form-encoded request bodies with clear messages."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        _check_body_present(
            Headers(scope=scope), self._required, "application/x-www-form-urlencoded"
        )
        return await super().wrap_receive(receive, scope=scope)

    @functools.cached_property
    def _validator(self) -> t.Any:
        # Connexion builds a new validator at every access; the schema never changes.
        return super()._validator

    def _validate(self, body: t.Any) -> dict[str, t.Any] | None:
        if self._strict_validation:
            allowed = set(self._schema.get("properties", {}))
            unknown = {key for key in body if key not in allowed}
            if unknown:
                raise BadRequestProblem(detail=_unknown("form field", unknown))
        _raise_first_error(self._validator, body)
        return None


def _check_body_present(headers: Headers, required: bool, media_type: str) -> None:
    """Reject a missing body, and a body without a Content-Type that Connexion would guess."""
    has_body = headers.get("content-length", "0") != "0"
    if has_body and "content-type" not in headers:
        raise UnsupportedMediaTypeProblem(
            detail=f"The request body needs the header Content-Type: {media_type}."
        )
    if required and not has_body:
        raise BadRequestProblem(detail=f"A request body of type {media_type} is required.")


def _unknown(kind: str, names: t.Iterable[str]) -> str:
    listed = sorted(names)
    plural = "s" if len(listed) > 1 else ""
    return f"Unknown {kind}{plural} " + ", ".join(repr(name) for name in listed) + "."


def _raise_first_error(validator: t.Any, body: t.Any) -> None:
    # jsonschema's relevance prefers the error nearest the root, such as a missing
    # field over a wrong type inside another one. Unlike best_match, this does not
    # descend into an anyOf, whose branches each tell only part of the rule.
    error = max(validator.iter_errors(body), key=relevance, default=None)
    if error is not None:
        message = describe(error, None)
        log.info("rejected request body: %s", message)
        raise BadRequestProblem(detail=message)


#: Passed to `add_api`: Connexion's validators with the readable ones in their place.
VALIDATOR_MAP: dict[str, t.Any] = {
    "parameter": ReadableParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": ReadableJSONBodyValidator,
            "application/x-www-form-urlencoded": ReadableFormValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
}
