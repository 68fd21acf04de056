"""The service is a thin layer: it never loads the TUI, and the core never loads the web stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "s2v_tui"
WEB = ("fastapi", "starlette", "uvicorn", "sse_starlette")
CORE = ("domain", "engine", "storage", "backends", "media", "workspace")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_core_never_imports_the_web_stack_and_serve_never_imports_textual() -> None:
    offenders = []
    for layer in CORE:
        for path in (PACKAGE / layer).rglob("*.py"):
            offenders += [f"{path.relative_to(PACKAGE)}: {m}" for m in imported_modules(path) if m.split(".")[0] in WEB]
    for path in (PACKAGE / "serve").rglob("*.py"):
        offenders += [f"{path.relative_to(PACKAGE)}: {m}" for m in imported_modules(path)
                      if m.split(".")[0] in ("textual", "rich") or m.startswith("s2v_tui.tui")]
    assert offenders == []


def test_loading_the_service_loads_no_tui_and_the_engine_loads_no_web_stack() -> None:
    code = ("import sys; import s2v_tui.engine.engine, s2v_tui.workspace.stories_by_id, s2v_tui.storage.operations;"
            f"assert not [m for m in sys.modules if m.split('.')[0] in {WEB!r}], 'web stack in the core';"
            "import s2v_tui.serve.app, s2v_tui.serve.cli;"
            "assert 'textual' not in sys.modules, 'textual imported'; print('clean')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "clean", result.stderr
