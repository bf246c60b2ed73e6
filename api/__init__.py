"""Activity Recommender: a spec-first REST service that recommends activities."""

from .app import create_app

__all__ = ["create_app"]
