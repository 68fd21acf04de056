"""The FastAPI application: routes, one error shape, and the service's life cycle.

    app = create_app(settings)          # uvicorn runs it (`s2v serve`); tests drive it in-process

Errors: 422 `{"code": "VALIDATION_ERROR", "errors": [...]}` as the original (without echoing the
input, which the original also logged), 404 unknown story/shot/operation, 409 conflicts, 413 body too
large, 503 queue full (Retry-After), 502 provider failure with the provider's plain message (already
redacted by the engine), 500 a bug — logged, never returned as `str(exc)`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from s2v_tui import __version__
from s2v_tui.backends.registry import BackendSet
from s2v_tui.config import Settings
from s2v_tui.domain.errors import S2VError, redact
from s2v_tui.serve import routes_compat, routes_read, static
from s2v_tui.serve.errors import BusyError, error_body, http_status
from s2v_tui.serve.links import Links
from s2v_tui.serve.service import Service
from s2v_tui.serve.views import Views

log = logging.getLogger("s2v.serve")
HTTP_CODES = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """loc/msg/type of each error; never the input (a whole script) nor pydantic's ctx objects."""
    return [{"loc": list(error.get("loc", ())), "msg": redact(str(error.get("msg", ""))), "type": error.get("type")}
            for error in exc.errors()]


def create_app(settings: Settings, *, backends: BackendSet | None = None) -> FastAPI:
    service = Service(settings, backends)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    # FastAPIOffline: the same FastAPI app, with /docs and /redoc served from files in the wheel (FastAPI's
    # own pages load their scripts from a CDN and stay blank on a machine without the internet).
    app = FastAPIOffline(title="s2v — Story2Video service", version=__version__, lifespan=lifespan,
                  description="The original Story2Video model service's API over the s2v engine, plus async "
                              "operations, events, idempotency and story reads.")
    app.state.settings = settings
    app.state.service = service
    app.state.links = Links(settings)
    app.state.views = Views(settings, service, app.state.links)
    app.include_router(routes_compat.router)
    app.include_router(routes_read.router)
    app.include_router(static.router)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")  # type: ignore[union-attr]
        return JSONResponse({"code": "VALIDATION_ERROR", "message": f"{where}: {first['msg']}" if where else
                             str(first["msg"]), "errors": errors}, status_code=422)

    @app.exception_handler(S2VError)
    async def on_s2v_error(request: Request, exc: S2VError) -> JSONResponse:
        status, _ = http_status(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(error_body(exc), status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path,
                  redact(f"{type(exc).__name__}: {exc}"), exc_info=exc)
        return JSONResponse({"code": "INTERNAL_ERROR", "message": "internal error; it is in the server's log",
                             "hint": "this is a bug in s2v; please report it with the log"}, status_code=500)

    return app
