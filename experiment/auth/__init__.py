"""Researcher accounts and logins: ``init_app`` adds the blueprint and Flask-Login."""

from experiment.auth.blueprint import init_app

__all__ = ["init_app"]
