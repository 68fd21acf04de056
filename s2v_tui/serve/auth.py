"""Who may call the service: anyone on loopback when no token is set (the default, bound to
127.0.0.1); with `[serve] token` every API request must carry `Authorization: Bearer <token>`, and
`s2v serve` refuses to listen beyond loopback without one (the original bound 0.0.0.0, no auth)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from s2v_tui.serve.errors import UnauthorizedError

bearer = HTTPBearer(auto_error=False, description="[serve] token / S2V_SERVE_TOKEN")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_ok(request: Request, presented: str | None) -> bool:
    token = request.app.state.settings.serve.token
    if token is None:
        return True
    return presented is not None and hmac.compare_digest(presented.encode(), token.get_secret_value().encode())


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    if not token_ok(request, credentials.credentials if credentials else None):
        raise UnauthorizedError("a valid bearer token is required",
                                hint='send "Authorization: Bearer <token>" (the [serve] token of this server)')
