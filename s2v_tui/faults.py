"""Crash points for the test suite: `S2V_TEST_KILL_AT=<kind>:<n>` SIGKILLs the process at the n-th
`<kind>` event, so tests can prove that a kill at *any* such instant loses nothing.

Kinds: `save` (project.json written), `record` (an asset's record written, its files not yet moved),
`place` (an asset's files in place, project.json not yet saved), `encode` (an ffmpeg encode finished).
Unset (always, outside tests), `fault_point` is a dictionary lookup and nothing else.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV = "S2V_TEST_KILL_AT"
_seen: Counter[str] = Counter()
_lock = threading.Lock()


def fault_point(kind: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted, _, number = spec.partition(":")
    if wanted != kind:
        return
    with _lock:
        _seen[kind] += 1
        hit = _seen[kind] == int(number or 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
