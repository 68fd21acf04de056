"""Offline render benchmark: a 10-shot story at 720x1280, 30 fps, measured against the x264 floor.

Prints three ratios (issue targets in brackets):
  full render / x264 floor        [≤ 2.0]  floor = encoding the same number of frames of one still
                                           image with the same x264 settings, measured in this run
  one-shot re-render / full render [≤ 0.15] after editing one shot's `detail` (and, for comparison,
                                           its `narration`, which also rebuilds the sound track)
It also re-encodes the finished film's frames with x264 alone: moving pictures cost x264 about twice
what a still does, which is the part of the gap to the floor no pipeline can remove.
  peak RSS                         [≤ 400 MB] this process and, separately, its largest child (ffmpeg)

Usage (from the repo root):  python benchmarks/render_offline.py [--story examples/lighthouse.en.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2v_tui.config import load_settings  # noqa: E402
from s2v_tui.domain.events import RunFinished  # noqa: E402
from s2v_tui.domain.project import Project, VideoFormat, detect_language  # noqa: E402
from s2v_tui.engine.engine import Engine  # noqa: E402
from s2v_tui.media.ffmpeg import ffmpeg_exe  # noqa: E402
from s2v_tui.storage.project_store import ProjectFolder  # noqa: E402


async def render(folder: ProjectFolder, project: Project) -> tuple[float, RunFinished]:
    engine = Engine(folder, load_settings())
    started = time.perf_counter()
    last = None
    async for event in engine.run(project):
        last = event
    await engine.aclose()
    assert isinstance(last, RunFinished) and last.status == "done", last
    return time.perf_counter() - started, last


def x264_floor(frames: int, width: int, height: int, fps: int, still: Path, workdir: Path) -> float:
    """Encode `frames` frames of one still picture (converted once) with the segment encoder's settings."""
    argv = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(still), "-vf",
            f"scale={width}:{height},format=yuv420p,loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N",
            "-r", str(fps), "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            "-pix_fmt", "yuv420p", str(workdir / "floor.mp4")]
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def x264_on_film(film: Path, workdir: Path) -> float:
    """Re-encode the film's own frames (decoded on the fly) with the same settings: what x264 alone
    costs on moving pictures, for comparison with the still-image floor."""
    argv = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(film), "-an", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "23", "-pix_fmt", "yuv420p", str(workdir / "reencode.mp4")]
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--story", default="examples/lighthouse.en.txt")
    args = parser.parse_args()
    script = Path(args.story).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = ProjectFolder(workdir / "project").lock()
        project = Project(id="bench", title="bench", script=script, language=detect_language(script),
                          format=VideoFormat(width=720, height=1280, fps=30))
        full_seconds, summary = asyncio.run(render(folder, project))
        frames = sum(int(s.stages["segment"].asset.meta["frames"]) for s in project.shots)  # type: ignore[union-attr,index]
        # The still is the film's own first keyframe. This machine's speed drifts by ±20% from minute to
        # minute, so the floor is measured three times around the renders and the median is used.
        still = folder.resolve(project.shots[0].stages["keyframe"].asset.path)  # type: ignore[union-attr,index]
        floors = [x264_floor(frames, 720, 1280, 30, still, workdir)]

        project.shots[len(project.shots) // 2].detail += " A red kite flies over the scene."
        edit_seconds, edit_summary = asyncio.run(render(folder, project))
        floors.append(x264_floor(frames, 720, 1280, 30, still, workdir))
        narration_shot = project.shots[len(project.shots) // 2 + 1]
        narration_shot.narration = narration_shot.narration.rstrip(".") + ", and the wind dropped."
        voice_seconds, voice_summary = asyncio.run(render(folder, project))
        floors.append(x264_floor(frames, 720, 1280, 30, still, workdir))
        floor_seconds = sorted(floors)[1]
        film_seconds = x264_on_film(Path(voice_summary.final_path or ""), workdir)
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        folder.unlock()

    print(f"story: {args.story} — {len(project.shots)} shots, {frames} frames, {summary.duration:.1f} s of video")
    print(f"full render         {full_seconds:7.2f} s")
    print(f"x264 floor          {floor_seconds:7.2f} s   (same frame count, one still image, same settings;"
          f" median of {', '.join(f'{f:.2f}' for f in floors)})")
    print(f"x264 on the film    {film_seconds:7.2f} s   (its own moving frames re-encoded, same settings:"
          f" {film_seconds / floor_seconds:.2f}× the floor)")
    print(f"one-shot re-render  {edit_seconds:7.2f} s   (new detail; rebuilt: {edit_summary.built})")
    print(f"narration re-render {voice_seconds:7.2f} s   (new narration; rebuilt: {voice_summary.built})")
    print(f"ratio full / floor          {full_seconds / floor_seconds:5.2f}   target ≤ 2.0")
    print(f"ratio re-render / full      {edit_seconds / full_seconds:5.3f}   target ≤ 0.15"
          f"   (after a narration edit: {voice_seconds / full_seconds:.3f})")
    print(f"peak RSS: s2v process {self_rss:.0f} MB, largest child (ffmpeg) {child_rss:.0f} MB   target ≤ 400 MB")


if __name__ == "__main__":
    main()
