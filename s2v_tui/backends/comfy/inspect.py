"""What `s2v doctor` asks each ComfyUI host: is it ComfyUI at all, on what hardware, and can it run the
configured workflows.

Any HTTP answer used to pass, so a plain web server on the port looked like ComfyUI and a host without
the bundled checkpoint said "OK" until every shot failed. Here `/system_stats` must have ComfyUI's shape
(version, devices), and each workflow is rendered for a demanding shot (the project size, the largest
seed, the longest clip the mapping allows) and held against the host's node schemas with the same
`precheck` the backends use before submitting: every model file, node and value in range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from s2v_tui.backends.comfy.client import ComfyHost, HostFailure
from s2v_tui.backends.comfy.precheck import precheck
from s2v_tui.backends.comfy.validation import MODEL_SUFFIXES, Rejection, rejected
from s2v_tui.backends.comfy.workflow import WorkflowTemplate

LARGEST_SEED = 2**31 - 2
"""The largest per-shot seed the engine hands out (`recipes.seed_for`)."""


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _devices(stats: dict[str, Any]) -> str:
    shown = []
    for device in stats.get("devices") or []:
        if not isinstance(device, dict):
            continue
        name = str(device.get("name") or device.get("type") or "?").split(" : ", 1)[0]
        total, free = device.get("vram_total") or 0, device.get("vram_free") or 0
        shown.append(f"{name} ({free / 2**30:.1f}/{total / 2**30:.1f} GiB free)" if total else name)
    return ", ".join(shown) or "no devices listed"


def sample_graph(template: WorkflowTemplate, width: int, height: int) -> dict[str, Any]:
    rule = template.mapping.frames
    seconds = rule.max / rule.fps if template.kind == "i2v" else None
    values = template.shot_values(prompt="s2v doctor", seed=LARGEST_SEED, width=width, height=height,
                                  negative="" if template.kind == "t2i" else None, seconds=seconds)
    return template.render(values | {"prefix": "s2v/doctor"})


def _models(graph: dict[str, Any]) -> list[str]:
    return sorted({v for node in graph.values() for v in node["inputs"].values()
                   if isinstance(v, str) and v.lower().endswith(MODEL_SUFFIXES)})


async def _workflow(host: ComfyHost, label: str, template: WorkflowTemplate, size: tuple[int, int]) -> Finding:
    name = f"ComfyUI {host.url} {label}"
    graph = sample_graph(template, *size)
    schemas = await host.node_schemas(node["class_type"] for node in graph.values())
    if schemas is None:
        return Finding(name, False, "the host does not describe its nodes (GET /object_info/<class>)",
                       "update ComfyUI on that host")
    body = precheck(graph, schemas, [(t.node, t.input) for t in template.targets("image")])
    workflow = template.source.rsplit("/", 1)[-1]
    if body is not None:
        rejection = Rejection.of(body)
        error = rejected({host.url: rejection}, template.source)
        return Finding(name, False, f"{workflow}: {rejection.text}", error.hint or "")
    models = _models(graph)
    return Finding(name, True, f"{workflow}: every node and value checks out"
                   + (f"; {len(models)} model file(s) present" if models else ""))


async def inspect_host(url: str, workflows: dict[str, WorkflowTemplate], size: tuple[int, int],
                       timeout: float) -> list[Finding]:
    """The host's own check, then one per workflow (label → template) if the host is ComfyUI."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        host = ComfyHost(url, http)
        try:
            stats = await host.system_stats(timeout)
        except HostFailure as exc:
            if exc.reason.startswith(("is unreachable", "timed out")):
                fix = ("start ComfyUI on that machine (python main.py --listen 0.0.0.0), or fix the address in "
                       "COMFY_HOSTS_LIST / comfy.hosts in config.toml")
            else:
                fix = ("that address answers, but not as ComfyUI: point COMFY_HOSTS_LIST / comfy.hosts at "
                       "ComfyUI's own port (8188 by default)")
            return [Finding(f"ComfyUI {host.url}", False, exc.reason, fix)]
        version = (stats.get("system") or {}).get("comfyui_version") or "version unknown"
        findings = [Finding(f"ComfyUI {host.url}", True, f"ComfyUI {version} · {_devices(stats)}")]
        for label, template in workflows.items():
            try:
                findings.append(await _workflow(host, label, template, size))
            except HostFailure as exc:
                findings.append(Finding(f"ComfyUI {host.url} {label}", False, exc.reason,
                                        "check that host's ComfyUI log"))
        return findings
