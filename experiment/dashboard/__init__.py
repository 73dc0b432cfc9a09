"""The researcher dashboard: ``init_app`` adds its (login-only) blueprint."""

from experiment.dashboard.blueprint import init_app

__all__ = ["init_app"]
