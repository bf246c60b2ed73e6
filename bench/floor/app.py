"""The smallest Connexion FlaskApp: Connexion's defaults and one endpoint that does nothing.

Served by the same gunicorn command as the service, it shows what the framework alone
costs per request, next to the service's own `GET /health`.
"""

from __future__ import annotations

from pathlib import Path

import connexion


def create_app() -> connexion.FlaskApp:
    app = connexion.FlaskApp(__name__, specification_dir=Path(__file__).parent)
    app.add_api("floor.yaml")
    return app


def get_status() -> dict[str, str]:
    return {"status": "ok"}
