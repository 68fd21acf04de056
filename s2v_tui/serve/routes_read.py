"""What the original never had: operations to poll, stream and cancel, and the stories themselves
(what its Go backend kept in a database of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from s2v_tui.domain.events import Event, RunFinished, RunStarted
from s2v_tui.engine.final_stage import FINAL_MP4, FINAL_SRT
from s2v_tui.serve.auth import require_token
from s2v_tui.serve.routes_compat import ERRORS
from s2v_tui.serve.schemas import Id, OperationView, StoryList, StoryView
from s2v_tui.workspace.stories_by_id import NotFoundError

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)],
                   responses={status: ERRORS[status] for status in (401, 404, 422)})


@router.get("/operations/{operation_id}", response_model=OperationView, tags=["operations"])
async def get_operation(operation_id: Id, request: Request, user_id: Annotated[Id | None, Query()] = None) -> OperationView:
    """Status, per-stage progress, and once finished the result (with fresh links) or the error."""
    op = request.app.state.service.get(operation_id)
    _check_owner(op.record.user_id, user_id, operation_id)
    return await request.app.state.views.operation(op)


def _public(event: Event) -> Event:
    """The event as a client may see it: paths inside the story's project folder (the engine reports
    absolute ones, which would show the server's file system; a story is named by its ids)."""
    if isinstance(event, RunStarted):
        return event.model_copy(update={"project_dir": "."})
    if isinstance(event, RunFinished):
        return event.model_copy(update={"final_path": FINAL_MP4 if event.final_path else None,
                                        "srt_path": FINAL_SRT if event.srt_path else None})
    return event


@router.get("/operations/{operation_id}/events", response_class=EventSourceResponse, tags=["operations"])
async def operation_events(operation_id: Id, request: Request, user_id: Annotated[Id | None, Query()] = None,
                           last_event_id: Annotated[str | None, Header()] = None) -> AsyncIterator[ServerSentEvent]:
    """The engine's typed events as Server-Sent Events (`event:` is the event type, `data:` its JSON,
    `id:` its sequence number, so a reconnect with Last-Event-ID resumes); a final `operation` event
    carries the operation's view, then the stream ends."""
    op = request.app.state.service.get(operation_id)
    _check_owner(op.record.user_id, user_id, operation_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    async for sequence, event in request.app.state.service.follow(op, after):
        yield ServerSentEvent(raw_data=_public(event).model_dump_json(), event=event.type, id=str(sequence))
    view = await request.app.state.views.operation(op)
    yield ServerSentEvent(raw_data=view.model_dump_json(), event="operation")


@router.post("/operations/{operation_id}/cancel", response_model=OperationView, tags=["operations"])
async def cancel_operation(operation_id: Id, request: Request, user_id: Annotated[Id | None, Query()] = None) -> OperationView:
    """Stop the operation cleanly (finished work is kept; POST its request again to continue). A
    finished operation is left as it is."""
    op = request.app.state.service.get(operation_id)
    _check_owner(op.record.user_id, user_id, operation_id)
    await request.app.state.service.cancel(operation_id)
    return await request.app.state.views.operation(op)


@router.get("/stories", response_model=StoryList, tags=["stories"])
async def list_user_stories(request: Request, user_id: Annotated[Id, Query()]) -> StoryList:
    return await request.app.state.views.stories(user_id)


@router.get("/stories/{story_id}", response_model=StoryView, tags=["stories"])
async def get_story(story_id: Id, request: Request, user_id: Annotated[Id, Query()]) -> StoryView:
    """The story with its shots, their links and per-stage state, and its operations."""
    return await request.app.state.views.story(user_id, story_id)


def _check_owner(owner: str, asked: str | None, operation_id: str) -> None:
    if asked is not None and asked != owner:
        raise NotFoundError(f"operation {operation_id!r} not found for user {asked!r}")
