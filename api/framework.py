"""Connexion 3's FlaskApp with its per-request set-up done once per worker.

For every request, Connexion 3.3 builds objects that depend only on the spec: the URI
parser and the parameter and body validators of the operation, and the decorator
chain around the handler (inspecting the handler's signature on the way); its bearer
check inspects the token function's signature twice. The classes here build each of
them once per operation and otherwise run Connexion's own code, so requests are
validated, authenticated and answered exactly as before. They also skip what the
service does not use: Swagger UI's router for paths that are not its own, response
validation when it is off, and indented JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import typing as t

import connexion
from connexion.apps.flask import FlaskOperation
from connexion.decorators import FlaskDecorator
from connexion.decorators.parameter import SyncParameterDecorator, prep_kwargs, unwrap_decorators
from connexion.exceptions import OAuthProblem, OAuthResponseProblem
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import WSGIRequest
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import NO_VALUE, BearerSecurityHandler
from connexion.utils import inspect_function_arguments, is_nullable
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from .wsgi_bridge import BufferedWSGIBridge

log = logging.getLogger(__name__)

#: Responses as compact JSON; Connexion's default indents them, which costs a pure-Python
#: encoder pass and about a third more bytes.
COMPACT_JSON = Jsonifier(json, separators=(",", ":"))

#: Argument names kept per operation, from parameter names (see `PreparedParameterDecorator`).
MAX_ARGUMENT_NAMES = 64

#: The only media type whose bodies Werkzeug reads files from.
MULTIPART = "multipart/form-data"

#: Body validators kept per operation, by media type and charset. The charset comes from
#: the client, so the number kept is capped; past the cap they are built per request.
MAX_BODY_VALIDATORS = 8


class PreparedRequestValidationOperation(RequestValidationOperation):
    """Connexion's request validation, with the operation's parser and validators kept."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        operation = self._operation
        uri_parser = operation._uri_parser_class(operation.parameters, operation.body_definition())
        self._parameter_validator = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._body_validators: dict[tuple[str, str], t.Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._parameter_validator.validate(scope)

        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        validator = self._body_validator(mime_type, encoding)
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)

        await self.next_app(scope, receive, send)

    def _body_validator(self, mime_type: str, encoding: str) -> t.Any:
        key = (mime_type, encoding)
        if key in self._body_validators:
            return self._body_validators[key]
        validator = self._make_body_validator(mime_type, encoding)
        if len(self._body_validators) < MAX_BODY_VALIDATORS:
            self._body_validators[key] = validator
        return validator

    def _make_body_validator(self, mime_type: str, encoding: str) -> t.Any:
        """Build the body validator as Connexion does per request, or None if there is none."""
        operation = self._operation
        schema = operation.body_schema(mime_type)
        if not schema:
            return None
        try:
            body_validator = self._validator_map["body"][mime_type]
        except KeyError:
            log.info(
                "Skipping validation. No validator registered for content type: %s.", mime_type
            )
            return None
        return body_validator(
            schema=schema,
            required=operation.request_body.get("required", False),
            nullable=is_nullable(operation.body_definition(mime_type)),
            encoding=encoding,
            strict_validation=self.strict_validation,
            uri_parser=operation.uri_parser_class(
                operation.parameters, operation.body_definition()
            ),
        )


class PreparedRequestValidationAPI(RequestValidationAPI):
    def make_operation(self, operation: t.Any) -> PreparedRequestValidationOperation:
        return PreparedRequestValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class PreparedRequestValidationMiddleware(RequestValidationMiddleware):
    api_cls = PreparedRequestValidationAPI


class SwaggerUIOnOwnPaths(SwaggerUIMiddleware):
    """Swagger UI and the spec, with other requests passed on without its router.

    Connexion matches every request against Swagger UI's routes before passing it on;
    here only paths that start like one of those routes are matched.
    """

    def __init__(self, app: t.Any, **kwargs: t.Any) -> None:
        super().__init__(app, **kwargs)
        self._prefixes: tuple[str, ...] = ()

    def add_api(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().add_api(*args, **kwargs)
        self._prefixes = tuple(sorted(_route_prefixes(self.router.routes)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _route_prefixes(routes: t.Iterable[BaseRoute], base: str = "") -> set[str]:
    """Return the literal start of every route's path, up to its first parameter."""
    prefixes = set()
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            prefixes |= _route_prefixes(route.routes, base + route.path)
        elif isinstance(route, (Mount, Route)):
            # A mount without routes serves everything under its path (static files).
            prefixes.add(base + route.path.split("{", 1)[0])
    return prefixes


#: An app's check of the claims that its token function returned. It raises to reject them.
ClaimsCheck = t.Callable[[dict[str, t.Any]], t.Awaitable[None]]

#: The key in the request scope's `extensions` of the `time.monotonic()` at which the
#: claims check began. The records that the check read are at least that recent.
CLAIMS_CHECKED_AT = "activity_recommender.claims_checked_at"


class PreparedBearerSecurityHandler(BearerSecurityHandler):
    """Connexion's bearer check, with the token function's signature inspected once,
    and the Authorization header read without building Starlette's `Headers`.

    `security_map` gives each app a subclass that also awaits the app's `check_claims`.
    """

    check_claims: t.ClassVar[ClaimsCheck | None] = None

    @staticmethod
    def get_auth_header_value(request: t.Any) -> tuple[str | None, str | None]:
        """Return the Authorization header's scheme (lowercase) and value, as Connexion does.

        ASGI servers send header names in lowercase, and Starlette's `Headers.get`
        returns the first one decoded as Latin-1.
        """
        for name, value in request.scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        else:
            return None, None
        if not authorization:
            return None, None
        try:
            auth_type, token = authorization.split(maxsplit=1)
        except ValueError:
            raise OAuthProblem(detail="Invalid authorization header") from None
        return auth_type.lower(), token

    def _generic_check(self, func: t.Callable[..., t.Any], exception_msg: str) -> t.Any:
        pass_scopes = self._accepts_kwarg(func, self.required_scopes_kw)
        pass_request = self._accepts_kwarg(func, self.request_kw)
        check_claims = type(self).check_claims

        async def wrapper(request: t.Any, *args: t.Any, required_scopes: t.Any = None) -> t.Any:
            kwargs = {}
            if pass_scopes:
                kwargs[self.required_scopes_kw] = required_scopes
            if pass_request:
                kwargs[self.request_kw] = request
            token_info = func(*args, **kwargs)
            while asyncio.iscoroutine(token_info):
                token_info = await token_info
            if token_info is NO_VALUE:
                return NO_VALUE
            if token_info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            if check_claims is not None:
                started = time.monotonic()
                await check_claims(token_info)
                request.scope.setdefault("extensions", {})[CLAIMS_CHECKED_AT] = started
            return token_info

        return wrapper


def security_map(check_claims: ClaimsCheck) -> dict[str, type[BearerSecurityHandler]]:
    """Return the `security_map` of an app whose valid tokens must also pass `check_claims`.

    The bearer scheme is the only one the spec uses. Connexion creates the handlers
    itself, so the app's check travels as an attribute of a class of its own.
    """
    handler = type(
        "AppBearerSecurityHandler",
        (PreparedBearerSecurityHandler,),
        {"check_claims": staticmethod(check_claims)},
    )
    return {"bearer": handler}


class PreparedParameterDecorator(SyncParameterDecorator):
    """Connexion's parameter decorator, with each parameter name's Python form kept, and
    files read from multipart bodies only.

    Connexion turns every parameter name into an argument name with three regular
    expressions on each request. The names come from the spec, so there are few of them,
    and the cache is capped. It also asks Werkzeug for the files of every request, which
    builds empty form and file dictionaries for a body that is not multipart.
    """

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        sanitize: t.Callable[[str], str] = self.sanitize_fn  # type: ignore[has-type]
        self.sanitize_fn = functools.lru_cache(maxsize=MAX_ARGUMENT_NAMES)(sanitize)

    def __call__(self, function: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Wrap `function` as Connexion's decorator does, but read files from multipart
        bodies only."""
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))

        @functools.wraps(function)
        def wrapper(request: WSGIRequest) -> t.Any:
            request_body = self._maybe_get_body(request, arguments=arguments, has_kwargs=has_kwargs)
            files = request.files() if request.mimetype == MULTIPART else {}
            kwargs = prep_kwargs(
                request,
                request_body=request_body,
                files=files,
                arguments=arguments,
                has_kwargs=has_kwargs,
                sanitize=self.sanitize_fn,
            )
            return function(**kwargs)

        return wrapper


class PreparedFlaskDecorator(FlaskDecorator):
    @property
    def _parameter_decorator_cls(self) -> type[SyncParameterDecorator]:
        return PreparedParameterDecorator


class PreparedFlaskOperation:
    """A Flask view for a Connexion operation, with the decorator chain built once.

    Connexion's `FlaskOperation` builds its decorators, and a URI parser, on every call.
    """

    def __init__(self, operation: FlaskOperation) -> None:
        self._decorator = PreparedFlaskDecorator(
            pythonic_params=operation.pythonic_params, jsonifier=operation.jsonifier
        )
        self._function = self._decorator.decorate(operation._fn)
        # Built at the first request, from Connexion's context for the operation.
        self._uri_parser: t.Any = None
        functools.update_wrapper(self, operation._fn)

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        # Flask passes the path parameters, which Connexion reads from the request instead.
        if self._uri_parser is None:
            self._uri_parser = self._decorator.uri_parser
        request = self._decorator.framework.get_request(uri_parser=self._uri_parser)
        return self._function(request)


def prepare(app: connexion.FlaskApp) -> None:
    """Build Connexion's middleware stack now, run Flask through `BufferedWSGIBridge`,
    and give Flask views that build their decorators once.

    Connexion builds the stack, and registers the Flask views, at the first request
    otherwise. Afterwards it accepts no more middleware or error handlers.
    """
    middleware = app.middleware
    if middleware.middleware_stack is None:
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    # The innermost layer of the stack runs Flask; it calls whatever `asgi_app` is.
    app._middleware_app.asgi_app = BufferedWSGIBridge(app.app.wsgi_app)

    views = app.app.view_functions
    for endpoint, view in list(views.items()):
        if isinstance(view, FlaskOperation):
            views[endpoint] = PreparedFlaskOperation(view)


def connexion_middlewares(validate_responses: bool) -> list[t.Any]:
    """Return Connexion's default middleware list with the prepared classes in place."""
    replacements = {
        SwaggerUIMiddleware: SwaggerUIOnOwnPaths,
        RequestValidationMiddleware: PreparedRequestValidationMiddleware,
    }
    layers = []
    for layer in ConnexionMiddleware.default_middlewares:
        if layer is ResponseValidationMiddleware and not validate_responses:
            continue
        layers.append(replacements.get(layer, layer))
    return layers
