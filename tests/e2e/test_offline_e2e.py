"""The offline pipeline end to end, checked by probing the result (tiny size, short story)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from s2v_tui.domain.events import RunFinished
from s2v_tui.domain.shot import Stage
from s2v_tui.engine.engine import Engine
from s2v_tui.media.probe import probe
from s2v_tui.media.subtitles import read_srt
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.opening import import_music
from tests.conftest import STORY_EN, STORY_ZH, make_settings, new_project

pytestmark = pytest.mark.e2e


def _mean_colour(path: Path, at_seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= at_seconds:
                return frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
    raise AssertionError("no frame at that time")


def _stream_line(path: Path) -> str:
    """ffmpeg's own description of the video stream (its colour tags included)."""
    import subprocess

    from s2v_tui.media.ffmpeg import ffmpeg_exe

    report = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return next(line for line in report.splitlines() if "Video:" in line)


@pytest.mark.parametrize(("script", "language"), [(STORY_ZH, "zh"), (STORY_EN, "en")])
async def test_offline_render_is_a_real_narrated_video(tmp_path: Path, script: str, language: str) -> None:
    settings = make_settings()  # all offline: rule splitter, painter, Ken-Burns, espeak-ng
    folder = ProjectFolder(tmp_path / "p").lock()
    project = new_project(script, language=language)
    events = [e async for e in Engine(folder, settings).run(project)]
    summary = events[-1]
    assert isinstance(summary, RunFinished) and summary.status == "done", summary.failures
    final = Path(summary.final_path or "")
    info = probe(final)
    assert len(info.video) == 1 and len(info.audio) == 1
    video = info.video[0]
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 160, 288, 10)
    # Tagged as painted — BT.601 matrix, limited range, BT.709 primaries and transfer — through the join.
    assert "yuv420p(tv, smpte170m/bt709/bt709" in _stream_line(final)

    voices = [float(s.stages[Stage.VOICE].asset.meta["duration"]) for s in project.shots]  # type: ignore[union-attr]
    segments = [s.stages[Stage.SEGMENT].asset for s in project.shots]
    expected = sum(max(v + settings.render.tail_seconds, settings.render.min_shot_seconds) for v in voices)
    assert abs(info.duration - expected) < 0.1 * len(voices) + 0.1  # duration ≈ narration + tails
    assert all(v > 0.5 for v in voices)  # espeak really spoke

    # Every subtitle cue sits inside its own shot's time window.
    cues = read_srt(Path(summary.srt_path or ""))
    assert cues
    bounds, start = [], 0.0
    for segment in segments:
        assert segment is not None
        bounds.append((start, start + float(segment.meta["duration"])))
        start += float(segment.meta["duration"])
    for cue in cues:
        assert any(lo - 0.01 <= cue.start < cue.end <= hi + 0.01 for lo, hi in bounds), cue

    # Each shot was normalised, so the film is at the target loudness without a final pass.
    from s2v_tui.media.loudness import measure_file

    loudness = await measure_file(final)
    assert loudness is not None and abs(loudness - settings.render.loudness_lufs) < 1.5

    # Shots look different from each other (different scenery/palette per shot).
    colours = [_mean_colour(final, lo + 0.2) for lo, _ in bounds]
    assert max(float(np.abs(a - b).sum()) for a in colours for b in colours) > 20
    folder.unlock()


async def test_music_is_mixed_under_the_voice_and_the_film_is_normalised(tmp_path: Path) -> None:
    import subprocess

    from s2v_tui.media.ffmpeg import ffmpeg_exe
    from s2v_tui.media.loudness import measure_file

    music = tmp_path / "bed.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=3",
                    "-ac", "2", str(music)], check=True)
    settings = make_settings(backends={"storyboard": "fake", "keyframe": "fake", "clip": "fake"})
    folder = ProjectFolder(tmp_path / "p").lock()
    project = new_project()
    import_music(folder, project, music)  # music lives inside the project (copied in, as --music does)
    assert project.music.path and project.music.path.startswith("assets/music/")
    events = [e async for e in Engine(folder, settings).run(project)]
    summary = events[-1]
    assert isinstance(summary, RunFinished) and summary.status == "done", summary.failures
    final = Path(summary.final_path or "")
    assert probe(final).audio[0].channels == 2  # the stereo bed is in the mix
    loudness = await measure_file(final)
    assert loudness is not None and abs(loudness - settings.render.loudness_lufs) < 1.5
    folder.unlock()
