"""`s2v serve [--host H] [--port P] [--config FILE] [--backend STAGE=NAME]…`

Listens on 127.0.0.1:12345 by default (`SERVICE_PORT` honoured, as the original); any other address
needs a token (`[serve] token` / `S2V_SERVE_TOKEN`) or the server refuses to start. OpenAPI docs at
/docs and /redoc.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from s2v_tui.backends.http import scrub_library_logs
from s2v_tui.config import STAGES
from s2v_tui.domain.errors import ExitCode, S2VError
from s2v_tui.serve.auth import is_loopback

SHUTDOWN_GRACE = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2v serve", description="The Story2Video HTTP API over the s2v engine.")
    parser.add_argument("--host", help="address to listen on (default [serve] host: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default [serve] port / SERVICE_PORT: 12345)")
    parser.add_argument("--config", type=Path, help="config.toml to use (default: $S2V_CONFIG_FILE or ./config.toml)")
    parser.add_argument("--backend", action="append", default=[], metavar="STAGE=NAME",
                        help=f"backend for a stage ({', '.join(STAGES)}), e.g. --backend keyframe=fake")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def run_serve(argv: list[str]) -> int:
    from s2v_tui.cli import _merge_settings, _overrides

    args = _parser().parse_args(argv)
    if args.config:
        os.environ["S2V_CONFIG_FILE"] = str(args.config)
    try:
        overrides = _overrides(argparse.Namespace(backend=args.backend, allow_partial=False))
        serve = {key: value for key, value in (("host", args.host), ("port", args.port)) if value is not None}
        if serve:
            overrides["serve"] = serve
        settings = _merge_settings(overrides)
    except S2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    host, port = settings.serve.host, settings.serve.port
    if not is_loopback(host) and settings.serve.token is None:
        print(f"error: refusing to listen on {host} without a token: anyone who can reach it could spend "
              "your provider credits and read every story — set [serve] token or S2V_SERVE_TOKEN "
              "(or listen on 127.0.0.1)", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    import uvicorn

    from s2v_tui.serve.app import create_app

    try:
        app = create_app(settings)
    except S2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    scrub_library_logs("uvicorn", "uvicorn.error", "uvicorn.access", "s2v.serve")
    print(f"s2v serve: http://{host}:{port}/api/v1 (docs: /docs), projects in {settings.projects_dir}",
          file=sys.stderr, flush=True)
    # Waiting POSTs and event streams may stay open for as long as a render takes: on SIGTERM give them
    # a few seconds, then stop (running operations become "interrupted", resumable by the same request).
    config = uvicorn.Config(app, host=host, port=port, log_level=args.log_level, access_log=True,
                            timeout_graceful_shutdown=SHUTDOWN_GRACE)
    service = app.state.service

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            # Interrupt the operations first: POSTs waiting for them answer "interrupted" (resumable)
            # instead of being cut off when the connections close.
            if service.loop is not None and not self.should_exit:
                service.loop.call_soon_threadsafe(service.interrupt)
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    server = Server(config)
    server.run()
    return int(ExitCode.OK) if server.started else int(ExitCode.ERROR)
