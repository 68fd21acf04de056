"""A workflow is validated once per host: the first shot finds out, the others learn the answer.

One bad workflow used to print the same 400 once per shot, after uploading each shot's keyframe, and
each shot was retried. Here `check` first holds the rendered graph against the host's node schemas
(`precheck`: model files, ranges, missing inputs or nodes — no upload, nothing queued). Then
`first_submission` holds the host's lock over the first upload + `/prompt` of the workflow there, so
the server's own validation happens once: a 400 is remembered and every later shot on that host learns
it without touching the host. A refusal is raised as `Refused`; the backend leaves that host out for
the job while other hosts may still take it, and when every host has refused it raises one
`WorkflowRejectedError` naming them all (`error`) — permanent, so the engine does not retry it.
One gate per backend (one workflow) and event loop, so its answers last as long as the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from s2v_tui.backends.comfy.client import ComfyHost
from s2v_tui.backends.comfy.precheck import precheck
from s2v_tui.backends.comfy.validation import Rejection, rejected
from s2v_tui.domain.errors import WorkflowRejectedError


class Refused(Exception):  # noqa: N818 - control flow inside the backend; users see WorkflowRejectedError
    def __init__(self, host: str, rejection: Rejection) -> None:
        super().__init__(rejection.text)
        self.host, self.rejection = host, rejection


class WorkflowGate:
    def __init__(self, source: str) -> None:
        self.source = source
        """The workflow file, named in the hint."""
        self.refused: dict[str, Rejection] = {}
        """Hosts whose `/prompt` refused the workflow (a precheck finding is per shot, so not kept here)."""
        self.accepted: set[str] = set()
        self._told: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def error(self, rejections: dict[str, Rejection]) -> WorkflowRejectedError:
        return rejected(rejections, self.source)

    async def check(self, host: ComfyHost, graph: dict[str, Any], skip: Collection[tuple[str, str]]) -> None:
        """Raise the host's remembered refusal, or what the node schemas say is wrong with this graph."""
        if host.url in self.refused:
            raise Refused(host.url, self.refused[host.url])
        schemas = await host.node_schemas(node["class_type"] for node in graph.values())
        body = precheck(graph, schemas, skip) if schemas is not None else None
        if body is not None:
            raise Refused(host.url, Rejection.of(body))

    @asynccontextmanager
    async def first_submission(self, host: ComfyHost) -> AsyncIterator[None]:
        """Run the body (upload + `/prompt`) alone if the host has not accepted this workflow yet."""
        if host.url in self.accepted:
            yield
            return
        async with self._locks.setdefault(host.url, asyncio.Lock()):
            if host.url in self.refused:
                raise Refused(host.url, self.refused[host.url])
            yield

    def first_refusal(self, url: str) -> bool:
        """True the first time a refusal by this host is reported (so it is said once per run)."""
        first = url not in self._told
        self._told.add(url)
        return first

    def accept(self, host: ComfyHost) -> None:
        self.accepted.add(host.url)

    def refuse(self, host: ComfyHost, rejection: Rejection) -> NoReturn:
        self.refused[host.url] = rejection
        raise Refused(host.url, rejection)
