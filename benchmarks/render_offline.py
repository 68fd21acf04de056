"""Offline render benchmark: a 10-shot story at 720x1280, 30 fps, measured against the x264 floor.

Prints three ratios (issue targets in brackets):
  full render / x264 floor        [≤ 2.0]  floor = encoding the same number of frames of one still
                                           image with the same x264 settings, measured in this run
  one-shot re-render / full render [≤ 0.15] after editing one shot's `detail`
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

from PIL import Image  # noqa: E402

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


def x264_floor(frames: int, width: int, height: int, fps: int, workdir: Path) -> float:
    """Encode `frames` frames of a single still with the segment encoder's settings."""
    still = workdir / "still.png"
    Image.new("RGB", (width, height), (90, 120, 160)).save(still)
    argv = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(still), "-vf",
            f"loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,format=yuv420p", "-r", str(fps),
            "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            str(workdir / "floor.mp4")]
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
        floor_seconds = x264_floor(frames, 720, 1280, 30, workdir)

        project.shots[len(project.shots) // 2].detail += " A red kite flies over the scene."
        edit_seconds, edit_summary = asyncio.run(render(folder, project))
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        folder.unlock()

    print(f"story: {args.story} — {len(project.shots)} shots, {frames} frames, {summary.duration:.1f} s of video")
    print(f"full render         {full_seconds:7.2f} s")
    print(f"x264 floor          {floor_seconds:7.2f} s   (same frame count, one still image, same settings)")
    print(f"one-shot re-render  {edit_seconds:7.2f} s   (rebuilt: {edit_summary.built})")
    print(f"ratio full / floor          {full_seconds / floor_seconds:5.2f}   target ≤ 2.0")
    print(f"ratio re-render / full      {edit_seconds / full_seconds:5.3f}   target ≤ 0.15")
    print(f"peak RSS: s2v process {self_rss:.0f} MB, largest child (ffmpeg) {child_rss:.0f} MB   target ≤ 400 MB")


if __name__ == "__main__":
    main()
