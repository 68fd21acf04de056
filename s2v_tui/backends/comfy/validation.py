"""Why a ComfyUI host refuses a workflow, in words a user can act on.

ComfyUI validates a prompt at `POST /prompt` and answers 400 with `node_errors` (protocols §10). For
range and presence errors `details` holds only the input name and `message` the reason, so both are
shown ("color: Value 2147483647 bigger than max of 16777215"), and the hint fits the kind of error:
a model file to install, a value to change in the workflow or its mapping, a node pack to install,
a graph to re-export. `precheck.py` produces the same shape from node schemas before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s2v_tui.domain.errors import WorkflowRejectedError

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
RANGE = frozenset({"value_bigger_than_max", "value_smaller_than_min", "invalid_input_type"})
BROKEN = frozenset({"required_input_missing", "bad_linked_input", "return_type_mismatch",
                    "exception_during_validation", "exception_during_inner_validation"})


def _reason(item: dict[str, Any]) -> tuple[str, str]:
    """(text, kind of fix) for one entry of `node_errors[id].errors`."""
    kind = str(item.get("type") or "")
    extra = item.get("extra_info") if isinstance(item.get("extra_info"), dict) else {}
    name = extra.get("input_name")
    if kind == "value_not_in_list" and name:
        value = extra.get("received_value")
        model = isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES)
        return f"{name} {value!r} not in list", "model" if model else "choice"
    message = str(item.get("message") or kind or "invalid")
    details = str(item.get("details") or "")
    if name:
        for separator in (": ", ", ", " - "):
            details = details.removeprefix(f"{name}{separator}")
        details = "" if details == name else details
    text = f"{message} ({details})" if details and details not in message else message
    fix = "range" if kind in RANGE else "broken" if kind in BROKEN else "image" if kind == "custom_validation_failed" \
        else "other"
    return (f"{name}: {text}" if name else text), fix


def _hint(fixes: list[str], workflow: str) -> str:
    texts = {
        "model": f"put the missing model file in the ComfyUI models folder of the host named, or change {workflow} "
                 "to a model it has (`s2v doctor` lists what each host lacks)",
        "choice": f"edit {workflow}: use one of the values that node offers",
        "range": f"edit {workflow} or its mapping — a per-shot value (seed, size, length) can be fitted to the "
                 "input's range with a transform (scale, modulo, clamp)",
        "broken": f"the graph in {workflow} is incomplete: re-export it from ComfyUI with Workflow → Export (API)",
        "node": f"install the missing node pack on that host (ComfyUI-Manager), or remove the node from {workflow}",
        "image": "an input file the workflow loads is missing on that host; map the LoadImage node as `image` "
                 "or upload the file there",
        "other": f"check {workflow} in that host's ComfyUI",
    }
    return "; ".join(texts[fix] for fix in dict.fromkeys(fixes))


@dataclass(frozen=True)
class Rejection:
    """A host's reasons for refusing a workflow: from its 400 body, or from `precheck` before submitting."""

    problems: tuple[str, ...]
    """One per failing input: "node 1 (EmptyImage): color: Value … bigger than max of 16777215"."""
    fixes: tuple[str, ...]

    @classmethod
    def of(cls, body: Any) -> Rejection:
        body = body if isinstance(body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        problems: list[str] = []
        fixes: list[str] = []
        node_errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else {}
        for node_id, entry in node_errors.items():
            for item in (entry.get("errors") or [])[:3]:
                text, fix = _reason(item if isinstance(item, dict) else {})
                problems.append(f"node {node_id} ({entry.get('class_type', '?')}): {text}")
                fixes.append(fix)
        if not problems:
            message = str(error.get("message") or error.get("type") or "invalid workflow").rstrip(".")
            detail = str(error.get("details") or "")
            problems.append(message + (f" ({detail})" if detail else ""))
            missing_node = error.get("type") == "invalid_prompt" and "does not exist" in message
            fixes.append("node" if missing_node else "broken" if error.get("type") == "prompt_no_outputs" else "other")
        return cls(tuple(problems), tuple(fixes))

    @property
    def text(self) -> str:
        return "; ".join(self.problems)


def rejected(rejections: dict[str, Rejection], workflow: str) -> WorkflowRejectedError:
    """The error for a workflow refused by these hosts (hosts with the same reasons are named together)."""
    by_reason: dict[str, list[str]] = {}
    for host, rejection in rejections.items():
        by_reason.setdefault(rejection.text, []).append(host)
    parts = [f"{text} on {'host ' + hosts[0] if len(hosts) == 1 else 'hosts ' + ', '.join(hosts)}"
             for text, hosts in by_reason.items()]
    fixes = [fix for rejection in rejections.values() for fix in rejection.fixes]
    return WorkflowRejectedError(f"ComfyUI rejected the workflow: {'; '.join(parts)}", hint=_hint(fixes, workflow))
