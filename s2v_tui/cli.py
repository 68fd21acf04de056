"""The `s2v` command.

    s2v                          open the studio (TUI)
    s2v PROJECT_DIR              open a project in the studio
    s2v --run STORY_OR_DIR       render headless (see --help for options and exit codes)
    s2v doctor                   check config, keys, endpoints, ffmpeg, fonts, voices
    s2v restore PROJECT_DIR      restore project.json from its last good copy
    s2v serve                    the original service's HTTP API on 127.0.0.1:12345 (see `s2v serve --help`)
    s2v take DIR [SHOT STAGE N]  list a shot's takes (--list) or choose the one to use
    s2v import DIR SHOT --keyframe|--clip|--voice FILE   use your own file for a shot
    s2v export DIR --jianying OUT_DIR                    a Jianying/CapCut draft of the rendered film

The TUI is imported only when it is used, so `s2v --run` never loads Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from s2v_tui import __version__
from s2v_tui.config import STAGES, load_settings
from s2v_tui.domain.errors import BadInputError, ExitCode, S2VError

EPILOG = """other commands:
  s2v doctor · s2v restore DIR · s2v take DIR [SHOT STAGE N] · s2v import DIR SHOT --keyframe|--clip|--voice FILE
  s2v export DIR --jianying OUT_DIR · s2v serve [--host H] [--port P] (the HTTP API, see s2v serve --help)

exit codes (--run):
  0 done · 2 bad input (script, project file, config, option, API key) · 3 partial: some shots failed
  4 failed · 5 project locked by another s2v · 130 interrupted (finished work is kept; rerun to continue)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2v", description="Turn a written story into a narrated video.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", nargs="?", type=Path, help="project folder to open in the studio")
    parser.add_argument("--run", metavar="STORY_OR_DIR", type=Path,
                        help="render headless: a story text file (new project) or a project folder (resume)")
    parser.add_argument("--out", type=Path, help="project folder to create (default: under projects_dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON event per line on stdout")
    parser.add_argument("--title", help="project title (default: the story's first heading or file name)")
    parser.add_argument("--style", help='visual style for every shot, e.g. "水彩插画" or "watercolor"')
    parser.add_argument("--size", help="9:16, 16:9, 1:1 or WIDTHxHEIGHT (new projects)")
    parser.add_argument("--lang", choices=["zh", "en"], help="story language (default: detected)")
    parser.add_argument("--music", type=Path, help="background music file, ducked under the narration")
    parser.add_argument("--backend", action="append", default=[], metavar="STAGE=NAME",
                        help=f"backend for a stage ({', '.join(STAGES)}), e.g. --backend keyframe=fake")
    parser.add_argument("--shots", help="comma-separated shot ids to build (the final join needs all)")
    parser.add_argument("--regenerate-storyboard", action="store_true",
                        help="remake the storyboard (locked shots are kept)")
    parser.add_argument("--allow-partial", action="store_true", help="join the shots that succeeded even if some failed")
    parser.add_argument("--config", type=Path, help="config.toml to use (default: $S2V_CONFIG_FILE or ./config.toml)")
    parser.add_argument("--version", action="version", version=f"s2v {__version__}")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    overrides: dict[str, object] = {}
    backends: dict[str, str] = {}
    for item in args.backend:
        stage, _, name = item.partition("=")
        if stage not in STAGES or not name:
            raise BadInputError(f"--backend {item!r}: expected STAGE=NAME with STAGE one of {', '.join(STAGES)}",
                                hint="e.g. --backend keyframe=offline")
        backends[stage] = name
    if backends:
        overrides["backends"] = backends
    if args.allow_partial:
        overrides["render"] = {"allow_partial": True}
    return overrides


def _merge_settings(overrides: dict[str, object]):  # type: ignore[no-untyped-def]
    base = load_settings()
    if not overrides:
        return base
    data = base.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return load_settings(**data)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["doctor"]:
        from s2v_tui.doctor import run_doctor

        return run_doctor(argv[1:])
    if argv[:1] == ["restore"]:
        return _restore(argv[1:])
    if argv[:1] == ["serve"]:
        from s2v_tui.serve.cli import run_serve

        return run_serve(argv[1:])
    if argv[:1] in (["take"], ["import"], ["export"]):
        from s2v_tui.handoff import run_command

        return run_command(argv[0], argv[1:], load_settings)
    args = _parser().parse_args(argv)
    if args.config:
        os.environ["S2V_CONFIG_FILE"] = str(args.config)
    try:
        settings = _merge_settings(_overrides(args))
    except S2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    if args.run is not None:
        from s2v_tui.headless import run_headless
        from s2v_tui.workspace.opening import RunOptions

        options = RunOptions(out=args.out, title=args.title, style=args.style, size=args.size, language=args.lang,
                             music=args.music, regenerate=args.regenerate_storyboard,
                             shots=args.shots.split(",") if args.shots is not None else None)
        return run_headless(args.run, settings, json_lines=args.json, options=options)
    from s2v_tui.tui.app import run_app

    return run_app(settings, args.project)


def _restore(argv: list[str]) -> int:
    from s2v_tui.storage.project_store import BACKUP_FILE, PROJECT_FILE, ProjectFolder

    if len(argv) != 1:
        print("usage: s2v restore PROJECT_DIR", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    folder = ProjectFolder(Path(argv[0]))
    try:
        if not (folder.path.is_dir() and (folder.json_path.exists() or folder.backup_path.exists())):
            raise BadInputError(f"{folder.path} is not an s2v project (no {PROJECT_FILE} or {BACKUP_FILE})",
                                hint="pass the folder of a project made by s2v (the one holding project.json)")
        with folder:
            kept = folder.restore_backup()
            folder.load()
    except S2VError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    print(f"restored {folder.json_path} from its last good copy; the broken file is kept as {kept.name}")
    return int(ExitCode.OK)
