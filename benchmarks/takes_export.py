"""Takes and hand-off benchmark: the 10-shot example at 720x1280, 30 fps, offline backends.

Prints, as ratios to the full render measured in the same run:
  regenerate one shot's keyframe, then render        (what a new take costs: keyframe, clip, segment, join)
  choose that shot's earlier take, then render       (through the cache: only the segment and the join)
  export the Jianying/CapCut draft                   (a clean picture per shot: every shot encoded once more)
  export it again into the same folder               (pictures of unchanged shots are reused)

Usage (from the repo root):  python benchmarks/takes_export.py [--story examples/lighthouse.en.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("S2V_CONFIG_FILE", os.devnull)

from s2v_tui.config import load_settings  # noqa: E402
from s2v_tui.domain.events import RunFinished  # noqa: E402
from s2v_tui.domain.project import Project, VideoFormat, detect_language  # noqa: E402
from s2v_tui.domain.shot import Stage  # noqa: E402
from s2v_tui.domain.takes import regenerate  # noqa: E402
from s2v_tui.engine.engine import Engine  # noqa: E402
from s2v_tui.storage.project_store import ProjectFolder  # noqa: E402
from s2v_tui.workspace.exporting import export_jianying  # noqa: E402
from s2v_tui.workspace.takes import choose_take  # noqa: E402


async def render(folder: ProjectFolder, project: Project) -> tuple[float, RunFinished]:
    engine = Engine(folder, load_settings())
    started = time.perf_counter()
    last = None
    async for event in engine.run(project):
        last = event
    await engine.aclose()
    assert isinstance(last, RunFinished) and last.status == "done", last
    return time.perf_counter() - started, last


async def main(story: Path) -> None:
    text = story.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        folder = ProjectFolder(Path(tmp) / "bench").lock()
        project = Project(id="bench", title="bench", script=text, language=detect_language(text),
                          format=VideoFormat(width=720, height=1280, fps=30))
        full, _ = await render(folder, project)
        shot = project.shots[len(project.shots) // 2]
        regenerate(shot, Stage.KEYFRAME)
        new_take, done = await render(folder, project)
        print(f"full render: {full:.1f} s ({len(project.shots)} shots)")
        print(f"regenerate one keyframe, render ÷ full render: {new_take / full:.3f}  built {done.built}")
        choose_take(folder, project, shot.id, "keyframe", 1)
        back, done = await render(folder, project)
        print(f"choose its earlier take, render ÷ full render: {back / full:.3f}  built {done.built}")
        for label in ("export the Jianying draft", "export it again (pictures reused)"):
            started = time.perf_counter()
            await export_jianying(folder, project, load_settings(), Path(tmp) / "draft")
            print(f"{label} ÷ full render: {(time.perf_counter() - started) / full:.3f}")
        folder.unlock()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--story", type=Path, default=Path("examples/lighthouse.en.txt"))
    asyncio.run(main(parser.parse_args().story))
