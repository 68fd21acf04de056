"""The original service's three endpoints, same paths and fields (`/api/v1/…`).

Without `Prefer: respond-async` a POST waits for its operation, as the original did (the operation
goes on if the client hangs up: POST the same request again to get its result). With it, the answer
is 202 at once, status "Running", with `Location: /api/v1/operations/<id>`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from s2v_tui.serve import preparers
from s2v_tui.serve.auth import require_token
from s2v_tui.serve.jsonbody import TolerantJSONRoute
from s2v_tui.serve.operation import Operation
from s2v_tui.serve.schemas import (
    CreateStoryboardRequest,
    CreateStoryboardResponse,
    ErrorBody,
    RegenerateShotRequest,
    RegenerateShotResponse,
    RenderVideoRequest,
    RenderVideoResponse,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (401, "missing or wrong bearer token"), (404, "unknown story or shot"),
        (409, "same operation_id with another body, or the story is busy with another operation"),
        (413, "request body too large"), (422, "validation error"),
        (502, "a provider failed; `message` says how (the result fields show what was made)"),
        (503, "queue full; see Retry-After"))}
ASYNC = {202: {"description": "accepted (Prefer: respond-async): status Running, Location names the operation"}}
router = APIRouter(prefix="/api/v1", route_class=TolerantJSONRoute, dependencies=[Depends(require_token)],
                   tags=["original API"])


def wants_async(prefer: str | None) -> bool:
    return any(part.strip().lower().startswith("respond-async") for part in (prefer or "").replace(";", ",").split(","))


FAILED_AS = {"cancelled": (409, "CANCELLED"), "interrupted": (409, "INTERRUPTED")}


async def answer(request: Request, op: Operation, prefer: str | None) -> JSONResponse:
    service, views = request.app.state.service, request.app.state.views
    location = f"/api/v1/operations/{op.id}"
    if wants_async(prefer) and op.record.active and op.rejected is None:
        return JSONResponse(views.pending(op), status_code=202,
                            headers={"Location": location, "Preference-Applied": "respond-async"})
    await service.wait(op)
    if op.rejected is not None:
        raise op.rejected
    body = await views.result(op)
    record = op.record
    if record.state == "done":
        return JSONResponse(body, headers={"Location": location})
    status, code = FAILED_AS.get(record.state, (502, "PROVIDER_ERROR"))
    if record.error is not None and record.error.code == "bad_input" and record.state == "failed":
        status, code = 422, "VALIDATION_ERROR"
    body.update(code=code, message=record.detail or "the operation failed",
                hint=record.error.hint if record.error else None)
    return JSONResponse(body, status_code=status, headers={"Location": location})


@router.post("/storyboard/create", response_model=CreateStoryboardResponse, responses={**ASYNC, **ERRORS})
async def create_storyboard(body: CreateStoryboardRequest, request: Request,
                            prefer: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Storyboard the script and make a keyframe per shot (`image_url`); `video_url` stays null."""
    op = await request.app.state.service.submit(
        "storyboard", body, preparers.create(request.app.state.settings, body),
        user_id=body.user_id, story_id=body.story_id)
    return await answer(request, op, prefer)


@router.post("/shot/regenerate", response_model=RegenerateShotResponse, responses={**ASYNC, **ERRORS})
async def regenerate_shot(body: RegenerateShotRequest, request: Request,
                          prefer: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Replace the given fields of one shot (the first non-empty of detail/details/prompt is the new
    detail) and rebuild only that shot's keyframe — a new picture even when no text changed."""
    op = await request.app.state.service.submit(
        "regenerate", body, preparers.regenerate(request.app.state.settings, body),
        user_id=body.user_id, story_id=body.story_id, shot_id=body.shot_id)
    return await answer(request, op, prefer)


@router.post("/video/render", response_model=RenderVideoResponse, responses={**ASYNC, **ERRORS})
async def render_video(body: RenderVideoRequest, request: Request,
                       prefer: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Build everything missing or stale and join the film. A `shots` list first becomes the story's
    shot list (known ids keep their work). Any failed shot makes the status Failed, naming why."""
    op = await request.app.state.service.submit(
        "render", body, preparers.render(request.app.state.settings, body),
        user_id=body.user_id, story_id=body.story_id)
    return await answer(request, op, prefer)
