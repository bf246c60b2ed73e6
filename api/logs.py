"""JSON log lines on stdout, each tagged with the request it was written for.

gunicorn.conf.py passes `logging_config()` to gunicorn, which applies it in the master
before the workers start, so the service's, gunicorn's and uvicorn's lines share one
format. Nothing here runs at import.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

#: The fields every line has, in this order; `extra=` fields follow them.
FIELDS = ("time", "level", "logger", "message", "request_id", "operationId")

#: Logger names whose lines come from the libraries, for `logging_config` to route.
SERVER_LOGGERS = ("gunicorn.error", "uvicorn.error")


@dataclass
class RequestContext:
    """The ids that the log lines written during one request carry."""

    request_id: str
    #: The ASGI scope's `extensions`, where Connexion's routing records the operation.
    scope_extensions: dict[str, Any]
    #: The operationId of a route served outside Connexion, such as /metrics.
    fixed_operation_id: str | None = None

    @property
    def operation_id(self) -> str | None:
        """Return the spec's operationId of the matched operation, or None before routing."""
        if self.fixed_operation_id is not None:
            return self.fixed_operation_id
        routing = self.scope_extensions.get("connexion_routing")
        resolved = routing.get("operation_id") if routing else None
        # Connexion records the resolved handler, `api.handlers.health.get_health`; the
        # spec's operationIds have no dots, so the last part is the operationId.
        return resolved.rpartition(".")[2] if resolved else None


#: Set by the request middleware for the duration of each request.
current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)


class RequestContextFilter(logging.Filter):
    """Add `request_id` and `operationId` of the current request (or None) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request.get()
        record.request_id = context.request_id if context else None
        record.operationId = context.operation_id if context else None
        return True


class JsonLineFormatter(JsonFormatter):
    """python-json-logger's formatter with RFC 3339 UTC times and this service's field names."""

    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message", "request_id", "operationId"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn adds a copy of some messages with terminal colour codes.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """Return a `logging.config.dictConfig` dictionary: JSON lines on stdout at `level`.

    gunicorn's and uvicorn's error loggers get the same handler and do not propagate,
    because uvicorn's worker copies gunicorn's handlers onto its own logger. Their
    access loggers get none: the service writes one line per request itself.
    """
    level = level.upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"invalid log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContextFilter}},
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request"],
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            **{
                name: {"level": level, "handlers": ["stdout"], "propagate": False}
                for name in SERVER_LOGGERS
            },
            "gunicorn.access": {"handlers": [], "propagate": False},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
