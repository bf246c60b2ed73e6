"""Invalid input to a legacy operation gets 422, as the original FastAPI service sent it.

Connexion's request validators and the service's functions raise 400 problems. This
ASGI middleware sits after Connexion's routing, where the request's operation is
known, and re-raises those problems as 422 for operations that `api.handlers.legacy`
handles. `/v1` operations keep their 400s.
"""

from __future__ import annotations

from connexion.exceptions import ProblemException
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import UnprocessableContent
from .handlers import legacy

#: Connexion's routing stores the resolved operation, `<controller module>.<operationId>`.
ROUTING_CONTEXT = "connexion_routing"
LEGACY_PREFIX = f"{legacy.__name__}."


class LegacyInputErrors:
    """Re-raise 400 problems of legacy operations as 422 problems."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_legacy_operation(scope):
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except ProblemException as exc:
            if exc.status != 400:
                raise
            raise UnprocessableContent(str(exc.detail), headers=exc.headers) from exc


def is_legacy_operation(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
    operation_id = routing.get("operation_id") or ""
    return bool(operation_id.startswith(LEGACY_PREFIX))
