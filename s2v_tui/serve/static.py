"""`/static/<user>/<story>/<path>`: a story's pictures, clips and film, served with HTTP Range so
players can seek. Only files the story's project names as its assets are served — never
project.json, operation records, scratch or anything outside the folder (the original exposed its
whole output folder, logs and raw LLM dumps included). With a token set, a request needs the bearer
token or the signature the link was made with."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials

from s2v_tui.domain.project import Project
from s2v_tui.media.kenburns import MEDIA_TYPE as MOTION_PLAN
from s2v_tui.serve.auth import bearer, token_ok
from s2v_tui.serve.errors import UnauthorizedError
from s2v_tui.serve.links import STATIC
from s2v_tui.serve.schemas import Id
from s2v_tui.workspace.stories_by_id import NotFoundError, load_story

router = APIRouter(tags=["files"])


def served_files(project: Project) -> dict[str, str]:
    """Project-relative path → media type of every file a link may point to."""
    assets = [state.asset for shot in project.shots for state in shot.stages.values()]
    assets += [project.render.state.asset, project.render.srt]
    return {asset.path: asset.media_type for asset in assets if asset is not None}


@router.get(STATIC + "/{user_id}/{story_id}/{path:path}", include_in_schema=False)
async def static_file(user_id: Id, story_id: Id, path: str, request: Request, exp: Annotated[str | None, Query()] = None,
                      sig: Annotated[str | None, Query()] = None) -> FileResponse:
    credentials: HTTPAuthorizationCredentials | None = await bearer(request)
    signed = request.app.state.links.signer.valid(request.url.path, exp, sig)
    if not signed and not token_ok(request, credentials.credentials if credentials else None):
        raise UnauthorizedError("this link needs a valid signature or the bearer token",
                                hint="ask the API for a fresh link (links expire)")
    folder, project = await asyncio.to_thread(load_story, request.app.state.settings, user_id, story_id)
    media_type = served_files(project).get(path)
    if media_type is None or media_type == MOTION_PLAN:
        raise NotFoundError(f"{path!r} is not a file of story {story_id!r}")
    file = folder.resolve(path)  # refuses links on the way
    if not file.is_file():
        raise NotFoundError(f"{path!r} of story {story_id!r} is not on disk (yet)")
    return FileResponse(file, media_type=media_type)
