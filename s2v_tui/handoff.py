"""`s2v take`, `s2v import` and `s2v export`: choosing takes, bringing your own files, handing the film
to an editor — headless, over the same workspace functions the studio uses.

Each command that changes something locks the project first and writes nothing when it refuses.
Exit codes as `s2v --run`: 0 done, 2 bad input (unknown shot or take, unusable file, film not
rendered…), 5 the project is open in another s2v. Listing takes needs no lock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from s2v_tui.config import Settings
from s2v_tui.domain.errors import BadInputError, ExitCode, S2VError
from s2v_tui.domain.shot import Stage
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.takes import TakeRow, choose_take, list_takes


def _project_folder(path: Path) -> ProjectFolder:
    folder = ProjectFolder(path)
    if not folder.exists():
        raise BadInputError(f"no project at {folder.path} (project.json not found)",
                            hint="pass the folder of a project made by s2v")
    return folder


def _next_run(folder: ProjectFolder) -> str:
    return (f"the next `s2v --run {folder.path}` rebuilds what depends on it (the shot's segment and the film, "
            "and what was made from it unless a kept take already was); nothing it was made by runs again")


def _describe(row: TakeRow) -> str:
    made = row.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    who = "your file" if row.by_user else f"{row.backend}{'/' + row.model if row.model else ''}"
    mark = "*" if row.chosen else " "
    note = " (chosen by you)" if row.pinned else ""
    prompt = f"  “{row.prompt[:60]}{'…' if len(row.prompt) > 60 else ''}”" if row.prompt else ""
    return f"  {mark} {row.number:>2}  {made}  {who}{note}{prompt}"


def _take(args: argparse.Namespace, settings: Settings) -> int:
    folder = _project_folder(args.project)
    if args.list or args.number is None:
        rows = list_takes(folder.load(), args.shot, args.stage)
        if args.json:
            for row in rows:
                print(json.dumps({"shot": row.shot_id, "stage": row.stage.value, "take": row.number,
                                  "chosen": row.chosen, "pinned": row.pinned, "backend": row.backend,
                                  "model": row.model, "created_at": row.created_at.isoformat(),
                                  "prompt": row.prompt, "path": row.path}, ensure_ascii=False))
            return int(ExitCode.OK)
        heading = None
        for row in rows:
            if (row.shot_id, row.stage) != heading:
                heading = (row.shot_id, row.stage)
                print(f"{row.shot_id} {row.stage.value}")
            print(_describe(row))
        if not rows:
            print("no takes yet: render the project first (s2v --run DIR)")
        return int(ExitCode.OK)
    if args.shot is None or args.stage is None:
        raise BadInputError("which take? give SHOT STAGE NUMBER", hint="e.g. s2v take DIR shot_03 keyframe 2")
    with folder:
        project = folder.load()
        take = choose_take(folder, project, args.shot, args.stage, args.number)
        folder.save(project)
        row = next(r for r in list_takes(project, args.shot, args.stage) if r.number == take.number)
        print(f"{args.shot} {args.stage}: take {take.number} chosen")
        print(_describe(row))
        print(_next_run(folder))
    return int(ExitCode.OK)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from s2v_tui.workspace.imports import import_file

    stage, source = next((Stage(name), Path(value)) for name, value in
                         (("keyframe", args.keyframe), ("clip", args.clip), ("voice", args.voice)) if value)
    folder = _project_folder(args.project)
    with folder:
        project = folder.load()
        take = asyncio.run(import_file(folder, project, args.shot, stage, source,
                                       sample_rate=settings.render.sample_rate, keep=settings.takes.keep))
        print(f"{args.shot} {stage.value}: {source.name} is take {take.number}, chosen "
              f"(kept until you regenerate the {stage.value} or choose another take)")
        print(_next_run(folder))
    return int(ExitCode.OK)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from s2v_tui.workspace.exporting import export_jianying

    folder = _project_folder(args.project)
    with folder:
        project = folder.load()
        done = asyncio.run(export_jianying(folder, project, settings, args.jianying, media_root=args.media_root,
                                           on_progress=lambda f, m: None))
    print(f"Jianying/CapCut draft of {done.shots} shots ({done.seconds:.1f} s): {done.folder}")
    print("copy or move that folder into Jianying's drafts folder (Jianying: Settings → Drafts location), "
          "then open it from the draft list")
    return int(ExitCode.OK)


def _parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"s2v {name}")
    parser.add_argument("project", type=Path, help="the project folder")
    if name == "take":
        parser.description = "List a shot's takes, or choose the one to use (the next run rebuilds what depends on it)."
        parser.add_argument("shot", nargs="?", help="shot id, e.g. shot_03")
        parser.add_argument("stage", nargs="?", choices=[s.value for s in (Stage.KEYFRAME, Stage.VOICE, Stage.CLIP)])
        parser.add_argument("number", nargs="?", type=int, help="the take to use")
        parser.add_argument("--list", action="store_true", help="list the takes (of the shot, of the stage)")
        parser.add_argument("--json", action="store_true", help="with --list: one JSON object per take")
    elif name == "import":
        parser.description = "Use your own picture, clip or voice for a shot (copied into the project)."
        parser.add_argument("shot", help="shot id, e.g. shot_03")
        given = parser.add_mutually_exclusive_group(required=True)
        given.add_argument("--keyframe", metavar="IMAGE", help="a PNG, JPEG or WebP picture")
        given.add_argument("--clip", metavar="VIDEO", help="an MP4/MOV/MKV/WebM clip (cut or held to the shot)")
        given.add_argument("--voice", metavar="AUDIO", help="a WAV/MP3/M4A/OGG/FLAC narration (replaces TTS)")
    else:
        parser.description = "Hand the rendered film to an editor."
        parser.add_argument("--jianying", type=Path, required=True, metavar="OUT_DIR",
                            help="write a Jianying (剪映) / CapCut draft folder")
        parser.add_argument("--media-root", metavar="PATH",
                            help="the draft folder's path where Jianying will open it (e.g. C:/Users/me/…/"
                                 "com.lveditor.draft/lantern), when that is not OUT_DIR")
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {"take": _take, "import": _import,
                                                                      "export": _export}


def run_command(name: str, argv: list[str], settings_loader: Callable[[], Settings]) -> int:
    """Run `s2v <name> …`; errors are printed with what to do, and become exit codes."""
    args = _parser(name).parse_args(argv)
    try:
        return COMMANDS[name](args, settings_loader())
    except S2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
