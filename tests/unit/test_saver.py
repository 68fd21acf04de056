"""project.json is written when it must be, not once per event (issue: trust, item 8)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from s2v_tui.engine.saver import SAVE_INTERVAL, ProjectSaver
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import new_project


async def test_a_burst_of_changes_is_one_write_and_deferred_work_runs_after_it(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p").lock()
    project = new_project()
    saver = ProjectSaver(folder, project)
    done: list[int] = []
    for number in range(200):  # e.g. 200 stages finishing at once
        project.title = f"title {number}"
        saver.save_soon(then=lambda number=number: done.append(number))
    assert saver.writes == 0 and done == []  # nothing written per event
    await asyncio.sleep(SAVE_INTERVAL * 3)
    assert saver.writes == 1 and done == list(range(200))
    assert folder.load().title == "title 199"
    folder.unlock()


async def test_a_durable_save_is_on_disk_when_it_returns_and_shares_a_write(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p").lock()
    project = new_project()
    saver = ProjectSaver(folder, project)
    project.title = "task id stored"
    await asyncio.gather(*(saver.save() for _ in range(20)))  # twenty tasks remembered at once
    assert folder.load().title == "task id stored"
    assert saver.writes <= 2  # one write carries all twenty (a second may start while the first is written)
    saver.save_soon(then=lambda: None)
    saver.flush_sync()  # the end of a run: synchronous, runs what was waiting
    assert saver.writes <= 3
    folder.unlock()


def test_the_backup_copy_is_not_rewritten_on_every_save(tmp_path: Path) -> None:
    folder = ProjectFolder(tmp_path / "p").lock()
    project = new_project()
    folder.save(project)
    first = folder.backup_path.stat().st_mtime_ns
    for number in range(5):
        project.title = f"t{number}"
        folder.save(project)
    assert folder.backup_path.stat().st_mtime_ns == first  # one file written per save, not two
    folder.unlock()  # closing refreshes the backup to the last saved state
    assert ProjectFolder(tmp_path / "p").backup_path.read_bytes() == folder.json_path.read_bytes()
