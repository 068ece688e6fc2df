"""Swagger UI served by the service itself, so /docs works on a network with no internet."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs-assets"


def add_offline_docs(app: FastAPI) -> None:
    """Serves /docs with Swagger UI's script and stylesheet from /docs-assets.

    Every URL in the page is relative, so it works behind a reverse proxy that mounts the
    service under a prefix (such as /api/intake/)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        """Swagger UI for this service's OpenAPI document."""
        return get_swagger_ui_html(
            openapi_url="openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS_PATH[1:]}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH[1:]}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH[1:]}/favicon.png",
        )

    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")
