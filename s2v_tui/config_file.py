"""Writing the few settings a front end may change into config.toml — keeping the user's comments and layout.

The studio's settings screen saves where the servers are (ComfyUI hosts, the Ollama URL, the DashScope
region); nothing else is written, and never an API key (those stay in the environment or are edited
by hand). tomlkit edits the parsed document in place, so every comment and blank line survives; the
file is replaced atomically (`storage.atomic`), so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from s2v_tui.config import SEED_ENV
from s2v_tui.domain.errors import ConfigError
from s2v_tui.storage.atomic import atomic_write_bytes

WRITABLE = frozenset({("comfy", "hosts"), ("ollama", "url"), ("dashscope", "region")})
"""(section, key) pairs a front end may save. Secrets are not among them, on purpose."""


def env_overrides(section: str, key: str) -> list[str]:
    """Environment variables set now that win over config.toml for `section.key` (so saving it changes
    nothing until they are unset)."""
    names = [f"S2V_{section.upper()}__{key.upper()}"]
    names += [env for env, path in SEED_ENV.items() if path == (section, key)]
    return [name for name in names if os.environ.get(name)]


def save_values(path: Path, values: dict[tuple[str, str], Any]) -> None:
    """Set `values` ((section, key) → value) in the TOML file at `path`, creating it if needed.

    Raises:
        ConfigError: a key that may not be written, or a file that is not valid TOML (left untouched).
    """
    if str(path) == os.devnull or (path.exists() and not path.resolve().is_file()):
        raise ConfigError(f"there is no config file to save to ({path})",
                          hint="set S2V_CONFIG_FILE (or --config) to a config.toml file, or create ./config.toml")
    # A config.toml that is a link (a dotfiles checkout) is updated where it really lives, and stays a link.
    path = path.resolve() if path.is_symlink() else path
    refused = sorted(f"{s}.{k}" for s, k in values if (s, k) not in WRITABLE)
    if refused:
        raise ConfigError(f"the studio does not write {', '.join(refused)} to config.toml",
                          hint=f"edit {path} by hand")
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    except (OSError, TOMLKitError) as exc:
        raise ConfigError(f"cannot update {path}: {exc}", hint="fix the file by hand, then save again") from None
    for (section, key), value in values.items():
        table = document.get(section)
        if table is None:
            table = tomlkit.table()
            document[section] = table
        table[key] = value
    atomic_write_bytes(path, tomlkit.dumps(document).encode("utf-8"))
