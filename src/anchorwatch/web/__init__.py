"""The web app and the JSON API (DESIGN 3.4): a thin layer over the same
functions the CLI calls.  ``create_app`` builds it; ``anchorwatch serve`` runs
it."""

from anchorwatch.web.app import create_app

__all__ = ["create_app"]
