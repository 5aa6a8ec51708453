"""The web app (Starlette): HIBP v3-compatible API, breachwatch's own API, pages, metrics.

`create_app(services)` builds it; `app_factory` suits `uvicorn --factory breachwatch.web:app_factory`."""

from .app import ROUTE_MODULES, app_factory, create_app

__all__ = ["ROUTE_MODULES", "app_factory", "create_app"]
