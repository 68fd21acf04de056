"""The mapping of a ComfyUI workflow: which node inputs s2v fills in per shot, which it pins, the result.

A patch point (`prompt`, `seed`, `width`, …) names one or more node inputs. Each target is either
`["6", "text"]` or an object `{"node": "9", "input": "amount", "scale": 0.5}` that may transform a
number on its way in: `scale` multiplies it (whole-number points are then rounded up), `modulo` wraps
it, `clamp: [lo, hi]` bounds it — applied in that order. So a seed can feed an input whose max is
0xFFFFFF (`modulo: 16777216`) and a frame count can feed a node whose input is not frames (`amount` of
`RepeatImageBatch` over a 2-image batch: `scale: 0.5`). `constants` pins inputs to fixed values
(`{"3": {"steps": 4}}`), so a re-exported graph keeps s2v's settings. Everything is checked against
the graph when the workflow loads (`check_mapping`), so a typo is a `ConfigError` naming it.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from s2v_tui.domain.errors import ConfigError

PATCH_POINTS = ("prompt", "negative", "seed", "width", "height", "image", "length", "fps", "prefix")
NUMERIC = frozenset({"seed", "width", "height", "length", "fps"})
WHOLE = frozenset({"seed", "width", "height", "length"})
REQUIRED = {"t2i": (), "i2v": ("image",)}
TEXT_INPUTS = ("text", "prompt", "text_g", "text_l", "clip_l", "t5xxl")
"""Node inputs that carry a prompt: a graph with one needs `prompt` mapped (or pinned in constants)."""


class Target(BaseModel):
    """One node input a patch point writes to, with optional transforms (numbers only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    node: str
    input: str
    scale: float | None = Field(default=None, gt=0)
    modulo: int | None = Field(default=None, ge=1)
    clamp: tuple[float, float] | None = None

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return {"node": value[0], "input": value[1]}
        return value

    @field_validator("node", mode="before")
    @classmethod
    def _node_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _bounds(self) -> Target:
        if self.clamp is not None and self.clamp[0] > self.clamp[1]:
            raise ValueError("clamp must be [low, high] with low <= high")
        return self

    @property
    def transformed(self) -> bool:
        return self.scale is not None or self.modulo is not None or self.clamp is not None

    def apply(self, value: Any, whole: bool) -> Any:
        if not self.transformed:
            return value
        number = float(value) * (self.scale if self.scale is not None else 1.0)
        if whole:
            number = math.ceil(number - 1e-9)
        if self.modulo is not None:
            number %= self.modulo
        if self.clamp is not None:
            number = min(max(number, self.clamp[0]), self.clamp[1])
        return int(number) if whole else number


class SizeRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    multiple: int = Field(default=8, ge=1, le=256)
    max_pixels: int | None = Field(default=None, ge=4096)
    """Scale the project size down (keeping its aspect) to at most this many pixels."""


class FrameRule(BaseModel):
    """Frame counts of the clip the graph makes: offset + step·k, between min and max, at `fps`."""

    model_config = ConfigDict(extra="forbid")
    fps: float = Field(default=16, gt=0, le=120)
    step: int = Field(default=1, ge=1)
    offset: int = Field(default=0, ge=0)
    min: int = Field(default=1, ge=1)
    max: int = Field(default=10_000, ge=1)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["t2i", "i2v"]
    description: str = ""
    inputs: dict[str, list[Target]]
    constants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """node id → {input: value}, written into the graph before the patch points."""
    output: str
    size: SizeRule = Field(default_factory=SizeRule)
    frames: FrameRule = Field(default_factory=FrameRule)

    @field_validator("inputs", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        """Accept one target (["6", "text"] or an object) or a list of them per patch point."""
        if not isinstance(value, dict):
            return value
        return {k: [v] if isinstance(v, dict) or (isinstance(v, list) and v and not isinstance(v[0], (list, dict)))
                else v for k, v in value.items()}

    @field_validator("output", mode="before")
    @classmethod
    def _node_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("constants", mode="before")
    @classmethod
    def _constant_ids(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


def _where(node_id: str, graph: dict[str, Any]) -> str:
    return f"node {node_id} ({graph[node_id]['class_type']})"


def _check_input(graph: dict[str, Any], node_id: str, input_name: str, what: str, source: str,
                 mapping_source: str) -> None:
    node = graph.get(node_id)
    if node is None:
        raise ConfigError(f"{mapping_source}: {what} names node {node_id!r}, which is not in {source}",
                          hint=f"nodes there: {', '.join(sorted(graph))}")
    if input_name not in node["inputs"]:
        raise ConfigError(f"{mapping_source}: {what} names input {input_name!r} of {_where(node_id, graph)}, "
                          "which has no such input", hint=f"its inputs: {', '.join(sorted(node['inputs']))}")


def _check_transforms(mapping: Mapping, mapping_source: str) -> None:
    rule = mapping.frames
    for name, targets in mapping.inputs.items():
        for target in targets:
            if not target.transformed:
                continue
            if name not in NUMERIC:
                raise ConfigError(f"{mapping_source}: {name!r} is text; scale/modulo/clamp apply to "
                                  f"{', '.join(sorted(NUMERIC))} only")
            if name != "length":
                continue
            if target.modulo is not None or target.clamp is not None:
                raise ConfigError(f"{mapping_source}: 'length' takes only `scale`",
                                  hint="bound the clip with frames.min/max instead, so the clip s2v asks for "
                                       "is the clip it gets")
            for part, count in (("step", rule.step), ("offset", rule.offset)):
                exact = count * (target.scale or 1.0)
                if abs(exact - round(exact)) > 1e-6:
                    raise ConfigError(f"{mapping_source}: frames.{part} {count} × scale {target.scale} is not a "
                                      "whole number, so some clip lengths cannot be asked for exactly",
                                      hint=f"make frames.step and frames.offset multiples of {1 / target.scale:g}")


def _check_prompt(mapping: Mapping, graph: dict[str, Any], mapping_source: str) -> None:
    if mapping.inputs.get("prompt"):
        return
    taken = {(t.node, t.input) for targets in mapping.inputs.values() for t in targets}
    taken |= {(node_id, name) for node_id, values in mapping.constants.items() for name in values}
    for node_id, node in graph.items():
        for name in TEXT_INPUTS:
            if isinstance(node["inputs"].get(name), str) and (node_id, name) not in taken:
                raise ConfigError(f"{mapping_source}: {_where(node_id, graph)} has a text input {name!r} but "
                                  "the mapping sets no 'prompt', so every shot would get the same text",
                                  hint=f'map it ("prompt": ["{node_id}", "{name}"]), or pin it under '
                                       '"constants" if every shot should use that text')


def check_mapping(mapping: Mapping, graph: dict[str, Any], source: str, mapping_source: str) -> None:
    for name in mapping.inputs:
        if name not in PATCH_POINTS:
            raise ConfigError(f"{mapping_source}: unknown patch point {name!r}",
                              hint=f"use some of: {', '.join(PATCH_POINTS)}")
    for name in REQUIRED[mapping.kind]:
        if not mapping.inputs.get(name):
            raise ConfigError(f"{mapping_source}: a {mapping.kind} workflow needs the {name!r} patch point")
    mapped: dict[tuple[str, str], str] = {}
    for name, targets in mapping.inputs.items():
        for target in targets:
            _check_input(graph, target.node, target.input, f"patch point {name!r}", source, mapping_source)
            mapped[(target.node, target.input)] = name
    for node_id, values in mapping.constants.items():
        for input_name in values:
            _check_input(graph, node_id, input_name, "a constant", source, mapping_source)
            if (node_id, input_name) in mapped:
                raise ConfigError(f"{mapping_source}: input {input_name!r} of {_where(node_id, graph)} is both a "
                                  f"constant and the patch point {mapped[(node_id, input_name)]!r}",
                                  hint="keep one of them")
    _check_prompt(mapping, graph, mapping_source)
    _check_transforms(mapping, mapping_source)
    if mapping.output not in graph:
        raise ConfigError(f"{mapping_source}: output node {mapping.output!r} is not in {source}",
                          hint="name the Save node whose file is the result")
    rule = mapping.frames
    if (rule.min - rule.offset) % rule.step or (rule.max - rule.offset) % rule.step or rule.min > rule.max:
        raise ConfigError(f"{mapping_source}: frames min/max must be offset + step·k with min <= max")
