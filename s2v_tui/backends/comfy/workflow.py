"""ComfyUI workflows as user files: an API-format graph plus a declared mapping of its patch points.

A workflow is the JSON that ComfyUI's "Export (API)" writes. Next to it, `<name>.mapping.json` says
which node inputs s2v fills in (prompt, negative, seed, width/height, input image, length/fps, output
file prefix — with optional transforms), which it pins, which node's output is the result, and what
sizes/frame counts the model accepts (format: `mapping.py`). Both are checked when the backend is
created, so a typo in a node id or input name is a `ConfigError` naming it before anything is queued,
not a KeyError halfway through a render.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from s2v_tui.backends.comfy.mapping import WHOLE, Mapping, Target, check_mapping
from s2v_tui.domain.errors import ConfigError

BUNDLED = {"t2i": "sd15_t2i.json", "i2v": "wan21_i2v.json"}
MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")


@dataclass(frozen=True)
class WorkflowTemplate:
    kind: Literal["t2i", "i2v"]
    source: str
    """File the graph came from (named in every error about it)."""
    graph: dict[str, Any]
    mapping: Mapping
    digest: str
    """sha256 of graph + mapping: part of the cache key, so editing the workflow re-renders."""

    @property
    def model(self) -> str | None:
        """The main model file the graph loads (shown in the UI, part of the cache key)."""
        for node in self.graph.values():
            for name in MODEL_INPUTS:
                if isinstance(node["inputs"].get(name), str):
                    return str(node["inputs"][name])
        return None

    def fit_size(self, width: int, height: int) -> tuple[int, int]:
        rule = self.mapping.size
        scale = min(1.0, math.sqrt(rule.max_pixels / (width * height))) if rule.max_pixels else 1.0
        return tuple(max(rule.multiple, int(side * scale) // rule.multiple * rule.multiple)  # type: ignore[return-value]
                     for side in (width, height))

    def frame_count(self, seconds: float) -> int:
        """Frames of the clip for `seconds`: the fewest the model accepts that cover them (or its max)."""
        rule = self.mapping.frames
        wanted = max(rule.min, min(rule.max, math.ceil(seconds * rule.fps - 1e-6)))
        steps = max(0, math.ceil((wanted - rule.offset) / rule.step))
        frames = rule.offset + steps * rule.step
        while frames > rule.max and steps > 0:  # never exceed what the model accepts
            steps -= 1
            frames = rule.offset + steps * rule.step
        return frames

    def shot_values(self, *, prompt: str, seed: int, width: int, height: int, negative: str | None = None,
                    seconds: float | None = None) -> dict[str, Any]:
        """The patch-point values for one shot: the size fitted to the model, and for a clip the frame
        count covering `seconds` at the mapping's fps (`length` counts the clip's frames)."""
        width, height = self.fit_size(width, height)
        values: dict[str, Any] = {"prompt": prompt, "seed": seed, "width": width, "height": height}
        if negative is not None:
            values["negative"] = negative
        if seconds is not None:
            values |= {"length": self.frame_count(seconds), "fps": self.mapping.frames.fps}
        return values

    def targets(self, name: str) -> list[Target]:
        return self.mapping.inputs.get(name, [])

    def render(self, values: dict[str, Any]) -> dict[str, Any]:
        """A copy of the graph with the constants and the given patch points (transformed) filled in;
        patch points the mapping does not name are skipped."""
        graph = copy.deepcopy(self.graph)
        for node_id, constants in self.mapping.constants.items():
            graph[node_id]["inputs"].update(copy.deepcopy(constants))
        for name, value in values.items():
            for target in self.targets(name):
                graph[target.node]["inputs"][target.input] = target.apply(value, name in WHOLE)
        return graph


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"ComfyUI {what} {path} does not exist",
                          hint="fix the path in config [comfy], or remove it to use the bundled one") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read ComfyUI {what} {path}: {exc}", hint="it must be a JSON file") from None


def check_graph(graph: Any, source: str) -> dict[str, Any]:
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise ConfigError(f"{source} is a ComfyUI UI workflow, not the API format",
                          hint="in ComfyUI use Workflow → Export (API) and point config at that file")
    if not isinstance(graph, dict) or not graph:
        raise ConfigError(f"{source} is not an API-format workflow (expected {{node_id: {{class_type, inputs}}}})")
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) \
                or not isinstance(node.get("inputs"), dict):
            raise ConfigError(f"{source}: node {node_id!r} has no class_type/inputs",
                              hint="export the workflow with Workflow → Export (API)")
    return graph


def sidecar_for(workflow: Path) -> Path:
    return workflow.with_name(workflow.name.removesuffix(".json") + ".mapping.json")


def bundled_names() -> list[str]:
    folder = resources.files("s2v_tui.backends.comfy") / "workflows"
    return sorted(f.name.removesuffix(".json") for f in folder.iterdir()
                  if f.name.endswith(".json") and not f.name.endswith(".mapping.json"))


def _bundled(name: str, what: str) -> tuple[Any, str]:
    folder = resources.files("s2v_tui.backends.comfy") / "workflows"
    try:
        return json.loads((folder / name).read_text(encoding="utf-8")), f"bundled {name}"
    except FileNotFoundError:
        raise ConfigError(f"there is no bundled ComfyUI {what} {name!r}",
                          hint=f"bundled workflows: {', '.join('bundled:' + n for n in bundled_names())}") from None


def load_workflow(kind: Literal["t2i", "i2v"], workflow: str | None, mapping: str | None) -> WorkflowTemplate:
    """Load and validate a workflow and its mapping (None = the sidecar next to it).

    `workflow` is a path, `bundled:<name>` for one shipped with s2v, or None for the default of `kind`.
    """
    workflow = workflow or f"bundled:{BUNDLED[kind]}"
    if workflow.startswith("bundled:"):
        name = workflow.removeprefix("bundled:").removesuffix(".json") + ".json"
        graph_raw, source = _bundled(name, f"{kind} workflow")
        sidecar = name.replace(".json", ".mapping.json")
    else:
        graph_path = Path(workflow).expanduser()
        graph_raw, source = _read_json(graph_path, f"{kind} workflow"), str(graph_path)
        sidecar = str(sidecar_for(graph_path))
    if mapping or not workflow.startswith("bundled:"):
        mapping_path = Path(mapping or sidecar).expanduser()
        mapping_raw, mapping_source = _read_json(mapping_path, f"{kind} workflow mapping"), str(mapping_path)
    else:
        mapping_raw, mapping_source = _bundled(sidecar, f"{kind} workflow mapping")
    graph = check_graph(graph_raw, source)
    try:
        parsed = Mapping.model_validate(mapping_raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{mapping_source}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
                          hint='see the bundled workflows/*.mapping.json for the format') from None
    if parsed.kind != kind:
        raise ConfigError(f"{mapping_source} describes a {parsed.kind} workflow, but it is configured as {kind}")
    check_mapping(parsed, graph, source, mapping_source)
    digest = hashlib.sha256(json.dumps([graph, mapping_raw], sort_keys=True).encode()).hexdigest()
    return WorkflowTemplate(kind=kind, source=source, graph=graph, mapping=parsed, digest=digest)
