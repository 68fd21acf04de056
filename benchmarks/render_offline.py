"""Offline render benchmark: a 10-shot story at 720x1280, 30 fps, against x264's own cost and against MoviePy.

Every figure is a ratio of two timings taken in the same repetition (this 2-core machine is shared and
its speed drifts from minute to minute); `--repeat N` repeats everything and prints each ratio's range.
  full render / film floor   [≤ 1.3]  film floor = x264 encoding the finished film's own frames with the
                                      segment settings, minus the time to decode them: x264's encode alone
  full render / still floor  (reference) the same number of frames of one still keyframe
  MoviePy / full render      [≥ 15]   MoneyPrinterTurbo's technique (benchmarks/moviepy_reference.py) on
                                      s2v's own keyframes, narration and shot durations
  one-shot re-render / full  [≤ 0.15] after editing one shot's `detail` (and, for comparison, another
                                      shot's `narration`, which also rebuilds the sound track)
  peak RSS                   [≤ 400 MB] this process and, separately, its largest child (an ffmpeg, or the Kokoro voice worker)

Usage (from the repo root):
    python benchmarks/render_offline.py [--story examples/lighthouse.en.txt] [--repeat 3] [--no-moviepy]
MoviePy needs the `bench` extra (pip install -e ".[bench]", in a venv of its own: it caps Pillow below 12).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2v_tui.backends.offline import voice_worker  # noqa: E402
from s2v_tui.config import load_settings  # noqa: E402
from s2v_tui.domain.events import RunFinished  # noqa: E402
from s2v_tui.domain.project import Project, VideoFormat, detect_language  # noqa: E402
from s2v_tui.engine.engine import Engine  # noqa: E402
from s2v_tui.media.ffmpeg import ffmpeg_exe  # noqa: E402
from s2v_tui.storage.project_store import ProjectFolder  # noqa: E402

WIDTH, HEIGHT, FPS = 720, 1280, 30
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def render(folder: ProjectFolder, project: Project) -> tuple[float, RunFinished, float]:
    """(wall seconds, summary, CPU seconds of this process and its ffmpeg children)."""
    engine = Engine(folder, load_settings())
    cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    last = None
    async for event in engine.run(project):
        last = event
    await engine.aclose()
    # The Kokoro voice's worker process lives on between runs; stop it so its CPU time is counted (a
    # `s2v --run` pays its model load every time too).
    voice_worker.shutdown()
    assert isinstance(last, RunFinished) and last.status == "done", last
    cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    return time.perf_counter() - started, last, cpu


def timed(argv: list[str]) -> float:
    return timed_cpu(argv)[0]


def timed_cpu(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one ffmpeg run."""
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def still_floor(frames: int, still: Path, workdir: Path) -> float:
    """Encode `frames` frames of one still picture (converted once) with the segment encoder's settings."""
    return timed([ffmpeg_exe(), "-v", "error", "-y", "-i", str(still), "-vf",
                  f"scale={WIDTH}:{HEIGHT},format=yuv420p,loop=loop={frames - 1}:size=1:start=0,settb=1/{FPS},"
                  "setpts=N", "-r", str(FPS), "-frames:v", str(frames), *X264, str(workdir / "still.mp4")])


def film_floor(film: Path, workdir: Path) -> tuple[float, float, float]:
    """(x264's encode of the film's own frames, the decode time subtracted from it, the encode's CPU time)."""
    decode, decode_cpu = timed_cpu([ffmpeg_exe(), "-v", "error", "-i", str(film), "-an", "-f", "null", "-"])
    both, both_cpu = timed_cpu([ffmpeg_exe(), "-v", "error", "-y", "-i", str(film), "-an", *X264,
                                str(workdir / "film.mp4")])
    return both - decode, decode, both_cpu - decode_cpu


def moviepy_reference(project: Project, folder: ProjectFolder, workdir: Path) -> tuple[float, float]:
    """MoviePy on s2v's keyframes, narration (the segments' PCM tracks, joined untimed) and durations."""
    segments = [s.stages["segment"].asset for s in project.shots]
    wavs = workdir / "wavs.txt"
    wavs.write_text("".join(f"file '{folder.resolve(a.meta['wav'])}'\n" for a in segments), encoding="utf-8")  # type: ignore[union-attr]
    narration = workdir / "narration.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(wavs), "-c", "copy",
                    str(narration)], check=True)
    job = {"keyframes": [str(folder.resolve(s.stages["keyframe"].asset.path)) for s in project.shots],  # type: ignore[union-attr]
           "durations": [float(a.meta["duration"]) for a in segments], "narration": str(narration),  # type: ignore[union-attr]
           "out": str(workdir / "moviepy.mp4"), "width": WIDTH, "height": HEIGHT, "fps": FPS}
    (workdir / "moviepy.json").write_text(json.dumps(job), encoding="utf-8")
    script = Path(__file__).with_name("moviepy_reference.py")
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(script), str(workdir / "moviepy.json")], check=True,
                          capture_output=True, text=True)
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu  # MoviePy's process and the ffmpeg it writes through
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"]), cpu


@dataclass
class Repetition:
    full: float = 0.0
    full_cpu: float = 0.0
    """CPU seconds (s2v and its children): steadier than wall time on a shared machine."""
    film_cpu: float = 0.0
    edit: float = 0.0
    narration: float = 0.0
    still: list[float] = field(default_factory=list)
    film: float = 0.0
    decode: float = 0.0
    moviepy: float | None = None
    moviepy_cpu: float = 0.0
    frames: int = 0
    shots: int = 0
    seconds: float = 0.0
    rebuilt: str = ""
    child_rss: float = 0.0
    """MB: the largest child so far, measured before MoviePy runs (an ffmpeg or the voice worker)."""

    @property
    def still_median(self) -> float:
        return sorted(self.still)[len(self.still) // 2]


def repetition(script: str, workdir: Path, with_moviepy: bool) -> Repetition:
    rep = Repetition()
    folder = ProjectFolder(workdir / "project").lock()
    project = Project(id="bench", title="bench", script=script, language=detect_language(script),
                      format=VideoFormat(width=WIDTH, height=HEIGHT, fps=FPS))
    rep.full, summary, rep.full_cpu = asyncio.run(render(folder, project))
    rep.frames = sum(int(s.stages["segment"].asset.meta["frames"]) for s in project.shots)  # type: ignore[union-attr,index]
    rep.shots, rep.seconds = len(project.shots), summary.duration or 0.0
    rep.film, rep.decode, rep.film_cpu = film_floor(Path(summary.final_path or ""), workdir)
    still = folder.resolve(project.shots[0].stages["keyframe"].asset.path)  # type: ignore[union-attr,index]
    rep.still.append(still_floor(rep.frames, still, workdir))
    rep.child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if with_moviepy:
        rep.moviepy, rep.moviepy_cpu = moviepy_reference(project, folder, workdir)
    project.shots[len(project.shots) // 2].detail += " A red kite flies over the scene."
    rep.edit, edit_summary, _ = asyncio.run(render(folder, project))
    rep.rebuilt = str(edit_summary.built)
    rep.still.append(still_floor(rep.frames, still, workdir))
    shot = project.shots[len(project.shots) // 2 + 1]
    shot.narration = shot.narration.rstrip(".") + ", and the wind dropped."
    rep.narration, _, _ = asyncio.run(render(folder, project))
    rep.still.append(still_floor(rep.frames, still, workdir))
    folder.unlock()
    return rep


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if len(values) == 1 else f"{fmt.format(low)}–{fmt.format(high)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--story", default="examples/lighthouse.en.txt")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-moviepy", action="store_true", help="skip the MoviePy reference (minutes per run)")
    args = parser.parse_args()
    script = Path(args.story).read_text(encoding="utf-8")
    reps: list[Repetition] = []
    for index in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            rep = repetition(script, Path(tmp), not args.no_moviepy)
        reps.append(rep)
        print(f"run {index + 1}: full {rep.full:.2f} s ({rep.full_cpu:.1f} CPU-s) · film floor {rep.film:.2f} s (encode+decode "
              f"{rep.film + rep.decode:.2f} − decode {rep.decode:.2f}) · still floor {rep.still_median:.2f} s "
              f"({', '.join(f'{s:.2f}' for s in rep.still)})"
              + (f" · MoviePy {rep.moviepy:.1f} s ({rep.moviepy_cpu:.0f} CPU-s)" if rep.moviepy else "")
              + f" · re-render {rep.edit:.2f} s (rebuilt {rep.rebuilt}) · narration re-render {rep.narration:.2f} s",
              flush=True)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first = reps[0]
    print(f"story: {args.story} — {first.shots} shots, {first.frames} frames, {first.seconds:.1f} s of video; "
          f"{len(reps)} run(s), ranges over runs")
    print(f"ratio full / film floor        {spread([r.full / r.film for r in reps])}   target ≤ 1.3")
    print(f"CPU seconds full / film floor  {spread([r.full_cpu / r.film_cpu for r in reps])}   "
          f"(s2v process + children ÷ x264's encode; e.g. {first.full_cpu:.1f} ÷ {first.film_cpu:.1f})")
    print(f"ratio full / still floor       {spread([r.full / r.still_median for r in reps])}   (reference)")
    print(f"ratio film floor / still floor {spread([r.film / r.still_median for r in reps])}   "
          "(what moving pictures cost x264 over a still)")
    if all(r.moviepy for r in reps):
        print(f"speed-up over MoviePy          {spread([r.moviepy / r.full for r in reps], '{:.1f}')}×   "  # type: ignore[operator]
              "target ≥ 15  (MoviePy burns no subtitles)")
        print(f"  in CPU seconds               {spread([r.moviepy_cpu / r.full_cpu for r in reps], '{:.1f}')}×   "
              f"(e.g. {first.moviepy_cpu:.0f} ÷ {first.full_cpu:.1f})")
    print(f"ratio re-render / full         {spread([r.edit / r.full for r in reps], '{:.3f}')}   target ≤ 0.15"
          f"   (after a narration edit: {spread([r.narration / r.full for r in reps], '{:.3f}')})")
    print(f"peak RSS: s2v process {self_rss:.0f} MB, largest child {first.child_rss:.0f} MB (ffmpeg or voice worker)   target ≤ 400 MB")


if __name__ == "__main__":
    main()
