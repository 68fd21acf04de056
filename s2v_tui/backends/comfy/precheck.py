"""The checks ComfyUI makes at `POST /prompt`, made from its node schemas before anything is uploaded.

`GET /object_info/{class}` describes a node: its required and optional inputs with type and options
(combo lists — the model files among them — and min/max), its output types, whether it is an output
node. `precheck` walks the part of a rendered graph that feeds an output node, as the server does, and
returns what `/prompt` would answer in the same `{"error", "node_errors"}` shape, so
`validation.rejected` words both alike. It errs towards passing: what it cannot judge (custom types,
upload inputs that ComfyUI checks with its own code) is left to the server. Unlike the server it also
checks new-style (V3) nodes, whose bad values ComfyUI accepts at /prompt and fails at run time (§10).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

Schemas = dict[str, dict[str, Any]]
"""class_type → its `/object_info` entry (classes the host lacks are absent)."""


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _err(kind: str, message: str, details: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    info = {"input_name": name, **extra} if name else dict(extra)
    return {"type": kind, "message": message, "details": details, "extra_info": info}


def _specs(schema: dict[str, Any]) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """input name → (required|optional, type, options)."""
    found: dict[str, tuple[str, Any, dict[str, Any]]] = {}
    groups = schema.get("input") if isinstance(schema.get("input"), dict) else {}
    for category in ("required", "optional"):
        for name, entry in (groups.get(category) or {}).items():
            if isinstance(entry, list) and entry:
                opts = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
                found[name] = (category, entry[0], opts)
    return found


def _type_ok(received: Any, wanted: Any) -> bool:
    if not isinstance(received, str) or not isinstance(wanted, str) or "COMBO" in (received, wanted):
        return True  # combos and exotic types: the server's call
    if received == wanted or "*" in (received, wanted):
        return True
    return {t.strip() for t in received.split(",")} <= {t.strip() for t in wanted.split(",")}


def _check_link(name: str, value: list[Any], kind: Any, graph: dict[str, Any],
                schemas: Schemas) -> dict[str, Any] | None:
    source = graph.get(value[0])
    if source is None:
        return _err("bad_linked_input", f"Linked node {value[0]} is not in the workflow", name, name)
    outputs = schemas.get(source["class_type"], {}).get("output") or []
    if value[1] >= len(outputs):
        return _err("bad_linked_input", f"Node {value[0]} has no output {value[1]}", name, name)
    received = outputs[value[1]]
    if not _type_ok(received, kind):
        return _err("return_type_mismatch", "Return type mismatch between linked nodes",
                    f"{name}, {received} != {kind}", name, received_type=received, linked_node=value)
    return None


def _check_value(name: str, value: Any, kind: Any, opts: dict[str, Any]) -> dict[str, Any] | None:
    options = kind if isinstance(kind, list) else opts.get("options") if kind == "COMBO" else None
    if isinstance(options, list):
        if value in options or opts.get("image_upload"):  # uploads are checked by the node's own code
            return None
        listing = f"(list of length {len(options)})" if len(options) > 20 else str(options)
        return _err("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {listing}", name,
                    received_value=value)
    if kind in ("INT", "FLOAT") and not isinstance(value, bool):
        try:
            value = int(value) if kind == "INT" else float(value)
        except (TypeError, ValueError) as exc:  # worded like the server's own conversion
            return _err("invalid_input_type", f"Failed to convert an input value to a {kind} value",
                        f"{name}, {value}, {exc}", name, received_value=value)
        if "min" in opts and isinstance(opts["min"], (int, float)) and value < opts["min"]:
            return _err("value_smaller_than_min", f"Value {value} smaller than min of {opts['min']}", name, name,
                        received_value=value)
        if "max" in opts and isinstance(opts["max"], (int, float)) and value > opts["max"]:
            return _err("value_bigger_than_max", f"Value {value} bigger than max of {opts['max']}", name, name,
                        received_value=value)
    return None


def _node_errors(node: dict[str, Any], graph: dict[str, Any], schemas: Schemas,
                 skip: Collection[str]) -> list[dict[str, Any]]:
    inputs = node["inputs"]
    specs = _specs(schemas[node["class_type"]])
    errors = [_err("required_input_missing", "Required input is missing", name, name)
              for name, (category, _, _) in specs.items() if category == "required" and name not in inputs]
    for name, value in inputs.items():
        if name not in specs or name in skip:
            continue
        _, kind, opts = specs[name]
        problem = _check_link(name, value, kind, graph, schemas) if is_link(value) \
            else _check_value(name, value, kind, opts)
        if problem is not None:
            errors.append(problem)
    return errors


def _fed_outputs(graph: dict[str, Any], schemas: Schemas) -> list[str]:
    """Every node that feeds an output node, outputs included (the server validates only those)."""
    seen: set[str] = set()
    stack = [node_id for node_id, node in graph.items() if schemas[node["class_type"]].get("output_node")]
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in graph:
            continue
        seen.add(node_id)
        stack += [value[0] for value in graph[node_id]["inputs"].values() if is_link(value)]
    return [node_id for node_id in graph if node_id in seen]


def precheck(graph: dict[str, Any], schemas: Schemas, skip: Collection[tuple[str, str]] = ()) -> dict[str, Any] | None:
    """What `POST /prompt` would answer with 400 for this graph, or None if these checks find nothing.
    `skip` lists (node, input) pairs not to judge (the image that will be uploaded)."""
    for node_id, node in graph.items():
        if node["class_type"] not in schemas:
            return {"error": _err("invalid_prompt", f"Cannot execute because node {node['class_type']} does not "
                                  "exist.", f"Node ID '#{node_id}'"), "node_errors": {}}
    fed = _fed_outputs(graph, schemas)
    if not fed:
        return None  # no schema marks an output node: the server's answer (`prompt_no_outputs`) will do
    node_errors: dict[str, Any] = {}
    for node_id in fed:
        node = graph[node_id]
        errors = _node_errors(node, graph, schemas, {name for n, name in skip if n == node_id})
        if errors:
            node_errors[node_id] = {"errors": errors, "dependent_outputs": [], "class_type": node["class_type"]}
    if not node_errors:
        return None
    return {"error": _err("prompt_outputs_failed_validation", "Prompt outputs failed validation", ""),
            "node_errors": node_errors}
