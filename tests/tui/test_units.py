"""The studio's Textual-free parts: counting events, row statuses, the project library, preview decoding,
the engine thread, the fallback image renderer, and the guarded textual-image import."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from rich.cells import cell_len

from s2v_tui.domain.errors import BadInputError
from s2v_tui.domain.events import (
    ErrorInfo,
    RunFinished,
    RunStarted,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
)
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Stage
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.tui.engine_thread import EngineLoop
from s2v_tui.tui.library import ProjectLibrary
from s2v_tui.tui.previews import load_preview
from s2v_tui.tui.session import StudioSession
from s2v_tui.tui.shot_columns import clip_cells, fit
from s2v_tui.tui.shot_rows import shot_rows
from s2v_tui.tui.tally import RunTally
from tests.conftest import STORY_EN
from tests.tui.conftest import studio_settings


def test_tally_counts_cached_rebuilt_failed_and_running_fractions() -> None:
    tally = RunTally("render", whole_project=True, final=True)
    tally.apply(RunStarted(project_id="p", project_dir="/p", shots=2, to_build={"keyframe": 1}, cached={"keyframe": 1}))
    tally.apply(StageFinished(shot_id="shot_01", stage="keyframe", cached=True))
    tally.apply(StageStarted(shot_id="shot_02", stage="keyframe", backend="fake"))
    tally.apply(StageProgress(shot_id="shot_02", stage="keyframe", fraction=0.5))
    keyframe = tally.stages["keyframe"]
    assert (keyframe.total, keyframe.cached, keyframe.progress) == (2, 1, 1.5)
    tally.apply(StageFailed(shot_id="shot_02", stage="keyframe", error=ErrorInfo(code="backend", message="no")))
    assert keyframe.label() == "2/2 · 1 cached · 1 failed" and not keyframe.running
    assert tally.stages["final"].total == 1 and tally.total == 2 * 4 + 1
    tally.apply(RunFinished(status="partial", seconds=1.5))
    assert tally.status == "partial" and tally.seconds == 1.5


def test_rows_prefer_live_progress_then_the_plan(rendered_project: Path) -> None:
    project = ProjectFolder(rendered_project).load()
    settings = studio_settings()
    shot = project.shots[0]
    rows = shot_rows(project, settings.render, None, {(shot.id, "clip"): "running:40"})
    assert rows[0].statuses == {"keyframe": "done", "voice": "done", "clip": "running:40", "segment": "done"}
    assert rows[0].duration != "auto"  # voiced shots show their real length


def test_cells_are_measured_in_terminal_columns() -> None:
    assert clip_cells("海边的小镇下起了雪", 8) == "海边的…"  # CJK characters are two columns wide
    assert fit("ab", 4) == "ab  " and fit("灯笼", 3) == "灯…"
    assert cell_len(fit("老人提着红灯笼走上山顶", 11)) == 11


def test_library_creates_unique_ids_and_deletes_only_project_folders(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import s2v_tui.domain.ids as ids

    class Frozen(datetime):  # both projects are made "in the same second", whatever the machine's load
        @classmethod
        def now(cls, tz: object = None) -> Frozen:  # type: ignore[override]
            return cls(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(ids, "datetime", Frozen)
    settings = studio_settings(projects_dir=str(tmp_path / "projects"))
    library = ProjectLibrary(settings)
    story = tmp_path / "lamp.en.txt"
    story.write_text(STORY_EN, encoding="utf-8")
    first, second = library.create_from_script(story), library.create_from_script(story)
    first.unlock(), second.unlock()
    assert first.path != second.path and second.path.name.startswith(first.path.name)
    blank = library.create_blank("小灯笼")
    blank.unlock()
    assert blank.load().language == "zh" and not blank.load().shots
    outside = tmp_path / "precious"
    outside.mkdir()
    with pytest.raises(BadInputError):
        library.delete("../precious")
    with pytest.raises(BadInputError):
        library.delete("precious")
    assert outside.is_dir()
    library.delete(first.path.name)
    assert not first.path.exists() and second.path.exists()
    with pytest.raises(BadInputError):
        library.create_blank("   ")


def test_previews_decode_keyframes_motion_plans_and_videos(rendered_project: Path, tmp_path: Path) -> None:
    project = ProjectFolder(rendered_project).load()
    shot = project.shots[0]
    keyframe = rendered_project / shot.stages[Stage.KEYFRAME].asset.path  # type: ignore[union-attr]
    plan = rendered_project / shot.stages[Stage.CLIP].asset.path  # type: ignore[union-attr]
    motion = load_preview(shot.id, keyframe, plan, "motion", project.format)
    assert motion.keyframe and motion.first and motion.last and not motion.notes
    assert motion.first.size == motion.last.size and motion.first.tobytes() != motion.last.tobytes()  # it moves
    segment = rendered_project / shot.stages[Stage.SEGMENT].asset.path  # type: ignore[union-attr]
    video = load_preview(shot.id, keyframe, segment, "video", project.format)
    assert video.first is not None and video.last is not None and not video.notes
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    bad = load_preview(shot.id, None, broken, "video", project.format)
    assert bad.keyframe is None and len(bad.notes) == 2  # says what is missing, never raises


async def test_engine_loop_streams_items_errors_and_cancellation() -> None:
    engine = EngineLoop()
    try:
        async def numbers(n: int, fail: bool = False):  # type: ignore[no-untyped-def]
            for i in range(n):
                await asyncio.sleep(0)
                yield i
            if fail:
                raise BadInputError("boom")

        assert [i async for i in engine.stream(lambda: numbers(5))] == [0, 1, 2, 3, 4]
        with pytest.raises(BadInputError):
            async for _ in engine.stream(lambda: numbers(2, fail=True)):
                pass
        cleaned = asyncio.Event()
        here = asyncio.get_running_loop()

        async def endless():  # type: ignore[no-untyped-def]
            try:
                while True:
                    await asyncio.sleep(0.01)
                    yield 1
            finally:
                here.call_soon_threadsafe(cleaned.set)

        async for _ in engine.stream(endless):
            break  # leaving early cancels the producer on the engine loop, which cleans up
        await asyncio.wait_for(cleaned.wait(), 5)
    finally:
        engine.close()


async def test_session_cancel_reaches_the_engine_thread(storyboarded_project: Path) -> None:
    session = StudioSession.open(storyboarded_project, studio_settings(fake={"latency": 1.0}))
    try:
        events: list = []
        async for event in session.run():
            # Stages that started before the cancel landed still report: cancel once, at the first.
            if isinstance(event, StageStarted) and not any(isinstance(e, StageStarted) for e in events):
                assert session.cancel()
            events.append(event)
        assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"
        assert not session.busy and not session.cancel()
    finally:
        await session.aclose()
    assert ProjectFolder(storyboarded_project).lock()  # released


def test_blank_project_language_follows_its_script(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p").lock()
    folder.save(Project(id="p", title="Lamp", language="en"))
    session = StudioSession(folder, folder.load(), studio_settings())
    session.set_script("夜晚，海边的小镇下起了雪。老人提着红灯笼走上山顶。")
    assert session.project.language == "zh" and session.dirty
    folder.unlock()


def test_block_image_never_fails_on_tiny_or_empty_sizes() -> None:
    from s2v_tui.tui.widgets.keyframe_preview import BlockImage

    image = BlockImage(Image.new("RGB", (90, 160), (200, 30, 30)))
    assert image._strips(0, 0) == [] and image._strips(1, 0) == []
    strips = image._strips(9, 8)
    assert 1 <= len(strips) <= 8 and all(strip.cell_length <= 9 for strip in strips)
    assert BlockImage(None)._strips(10, 10) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")
def test_a_zero_column_terminal_falls_back_to_our_renderer() -> None:
    """textual-image dies with ZeroDivisionError when imported on a 0-column PTY; we must not."""
    code = ("import sys; from s2v_tui.tui.widgets import keyframe_preview as k; "
            "print(k.TEXTUAL_IMAGE_ERROR, type(k.make_image('auto', None, classes='x')).__name__, file=sys.stderr)")
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 0, 0, 0))
    try:
        result = subprocess.run([sys.executable, "-c", code], stdin=terminal, stdout=terminal,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ZeroDivisionError") and last.endswith("BlockImage")
