"""Run-time semantics of the ComfyUI fake: execution order, cache signatures, and per-node "execution".

Nothing is computed: values are small dicts that carry what the outputs need (latent/image size, frame
count, fps, seed). Savers write REAL bytes through `Storage` (PNG via Pillow, H.264 MP4 via ffmpeg). Videos
are written at 1/4 of the graph's width/height (rounded to even) to stay small; frame count and fps are exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from PIL import Image

from tests.fakes.comfy_catalogue import NODES, WIDGET_TYPES, Models
from tests.fakes.media import mp4_bytes, png_bytes

Value = dict[str, Any]
Ui = dict[str, Any]


class NodeFailure(Exception):
    """A run-time node failure, reported as `execution_error` (type is the reported exception_type)."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type


def id_key(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if str(node_id).isdigit() else (1 << 30, str(node_id))


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def execution_order(prompt: dict[str, Any], outputs: list[str]) -> list[str]:
    """Dependencies first, depth-first from each output node in id order."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(node_id: str) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        for value in prompt[node_id].get("inputs", {}).values():
            if is_link(value) and value[0] in prompt:
                visit(value[0])
        order.append(node_id)

    for out in sorted(outputs, key=id_key):
        visit(out)
    return order


def signatures(prompt: dict[str, Any], order: list[str], is_changed: Callable[[str, dict[str, Any]], str],
               salt: dict[str, str]) -> dict[str, str]:
    """Cache keys like ComfyUI's input signatures: class, IS_CHANGED, literals and ancestors' keys.

    Output nodes also include their node id. `salt` forces a node (and so its dependants) to re-run.
    """
    sigs: dict[str, str] = {}
    for node_id in order:
        node = prompt[node_id]
        parts: list[Any] = [node["class_type"], is_changed(node["class_type"], node["inputs"]), salt.get(node_id, "")]
        for name in sorted(node["inputs"]):
            value = node["inputs"][name]
            parts.append([name, ["link", sigs.get(value[0], value[0]), value[1]] if is_link(value) else value])
        if NODES[node["class_type"]].output_node:
            parts.append(node_id)
        sigs[node_id] = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return sigs


def sampler_steps(class_type: str, inputs: dict[str, Any]) -> int:
    """How many `progress` events a node sends (0 for non-samplers)."""
    if class_type == "KSampler":
        return int(inputs.get("steps", 0))
    if class_type == "KSamplerAdvanced":
        steps = int(inputs.get("steps", 0))
        return max(0, min(int(inputs.get("end_at_step", steps)), steps) - int(inputs.get("start_at_step", 0)))
    return 0


def video_dims(width: int, height: int) -> tuple[int, int]:
    """The fake's MP4 size for a graph size: a quarter, rounded to even, at least 16."""
    return max(16, round(width / 8) * 2), max(16, round(height / 8) * 2)


class Storage:
    """In-memory output/input/temp folders keyed by (type, subfolder, filename)."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str, str], bytes] = {}

    def next_counter(self, type_: str, subfolder: str, prefix: str) -> int:
        """ComfyUI's `get_save_image_path`: highest existing `{prefix}_NNNNN_...` + 1 (per prefix and folder)."""
        pattern = re.compile(re.escape(prefix) + r"_(\d+)_")
        counters = [int(m.group(1)) for (t, sub, name) in self.files
                    if t == type_ and sub == subfolder and (m := pattern.match(name))]
        return max(counters, default=0) + 1

    @staticmethod
    def split_prefix(prefix: str) -> tuple[str, str]:
        subfolder, _, name = prefix.replace("\\", "/").rpartition("/")
        if subfolder.startswith("/") or ".." in subfolder.split("/"):
            raise NodeFailure("Exception", "**** ERROR: Saving image outside the output folder is not allowed.\n"
                                           f" full_output_folder: {subfolder}\n         output_dir: output")
        return subfolder, name


Runner = Callable[["Executor", str, dict[str, Any]], Awaitable[tuple[tuple[Value, ...], Ui | None]]]


class Executor:
    """Runs one node at a time for the fake; `prompt_id`/`seed` feed the output pixels."""

    def __init__(self, storage: Storage, input_bytes: Callable[[str], bytes | None]) -> None:
        self.storage = storage
        self.input_bytes = input_bytes

    async def run(self, class_type: str, node_id: str, inputs: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
        defn = NODES[class_type]
        for name, (kind, _opts) in {**defn.required, **defn.optional}.items():
            value = inputs.get(name)
            if name in inputs and isinstance(kind, str) and kind not in WIDGET_TYPES and not isinstance(value, dict):
                raise NodeFailure("AttributeError", f"'{type(value).__name__}' object has no attribute 'shape'")
            if name in inputs and isinstance(kind, Models) and not isinstance(value, str):
                raise NodeFailure("TypeError", f"expected str, got {type(value).__name__}")
        runner = RUNNERS.get(class_type, _passthrough)
        return await runner(self, node_id, inputs)

    async def offload(self, fn: Callable[..., bytes], *args: Any) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # -- savers ---------------------------------------------------------------------------------
    async def save_pngs(self, images: Value, prefix: str, type_: str) -> list[dict[str, str]]:
        subfolder, name = Storage.split_prefix(prefix)
        counter = self.storage.next_counter(type_, subfolder, name)
        results = []
        for i in range(int(images["batch"])):
            data = await self.offload(png_bytes, images["width"], images["height"], images["seed"] + i)
            filename = f"{name}_{counter:05}_.png"
            self.storage.files[(type_, subfolder, filename)] = data
            results.append({"filename": filename, "subfolder": subfolder, "type": type_})
            counter += 1
        return results

    async def save_mp4(self, images: Value, fps: float, prefix: str, type_: str, trailing: str) -> dict[str, str]:
        subfolder, name = Storage.split_prefix(prefix)
        counter = self.storage.next_counter(type_, subfolder, name)
        w, h = video_dims(images["width"], images["height"])
        frames = max(1, int(images["batch"]))
        rate: float | int = int(fps) if float(fps).is_integer() else fps
        data = await self.offload(mp4_bytes, w, h, round((frames - 0.5) / rate, 6), rate)
        filename = f"{name}_{counter:05}{trailing}.mp4"
        self.storage.files[(type_, subfolder, filename)] = data
        return {"filename": filename, "subfolder": subfolder, "type": type_}


def _seed_of(*values: Any) -> int:
    return zlib.crc32(json.dumps(values, sort_keys=True, default=str).encode()) & 0xFFFF


async def _passthrough(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    return (), None


def _handles(*kinds: str) -> Runner:
    async def run(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
        names = {k: v for k, v in inp.items() if isinstance(v, str)}
        return tuple({"type": k, **names} for k in kinds), None
    return run


async def _text(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    return ({"type": "CONDITIONING", "text": str(inp.get("text", ""))},), None


async def _same(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    first = next(v for v in inp.values() if isinstance(v, dict))
    return (dict(first),), None


async def _latent(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    return ({"type": "LATENT", "width": int(inp["width"]), "height": int(inp["height"]),
             "batch": int(inp["batch_size"]), "frames": 1, "seed": 0},), None


async def _sample(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    latent = dict(inp["latent_image"])
    text = inp["positive"].get("text", "")
    latent["seed"] = _seed_of(inp.get("seed", inp.get("noise_seed")), text, latent.get("seed"))
    return (latent,), None


async def _decode(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    lat = inp["samples"]
    return ({"type": "IMAGE", "width": lat["width"], "height": lat["height"],
             "batch": lat["batch"] * lat.get("frames", 1), "seed": lat.get("seed", 0)},), None


async def _empty_image(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    return ({"type": "IMAGE", "width": int(inp["width"]), "height": int(inp["height"]),
             "batch": int(inp["batch_size"]), "seed": int(inp["color"]) & 0xFFFF},), None


async def _image_batch(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    first, second = inp["image1"], inp["image2"]  # the real node scales image2 to image1's size
    return ({**first, "batch": first["batch"] + second["batch"]},), None


async def _repeat_batch(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    image = inp["image"]  # image.repeat((amount, 1, 1, 1)): every frame of the batch, `amount` times
    return ({**image, "batch": image["batch"] * int(inp["amount"])},), None


async def _load_image(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    data = ex.input_bytes(inp["image"])
    if data is None:
        raise NodeFailure("FileNotFoundError", f"[Errno 2] No such file or directory: 'input/{inp['image']}'")
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Exception as err:  # noqa: BLE001
        raise NodeFailure("PIL.UnidentifiedImageError", f"cannot identify image file {inp['image']!r}") from err
    image = {"type": "IMAGE", "width": w, "height": h, "batch": 1, "seed": _seed_of(inp["image"])}
    return (image, {"type": "MASK", "width": w, "height": h}), None


async def _wan_i2v(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    latent = {"type": "LATENT", "width": int(inp["width"]), "height": int(inp["height"]),
              "batch": int(inp["batch_size"]), "frames": int(inp["length"]), "seed": 0}
    return (dict(inp["positive"]), dict(inp["negative"]), latent), None


async def _create_video(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    fps = float(inp["fps"])
    if not 1.0 <= fps <= 120.0:
        raise NodeFailure("ValueError", f"fps {fps} is out of range [1.0, 120.0]")
    images = inp["images"]
    return ({"type": "VIDEO", **{k: images[k] for k in ("width", "height", "batch", "seed")}, "fps": fps},), None


async def _save_image(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    return (), {"images": await ex.save_pngs(inp["images"], str(inp.get("filename_prefix", "ComfyUI")), "output")}


async def _preview_image(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    suffix = "".join(chr(97 + (zlib.crc32(node_id.encode()) >> (5 * i)) % 26) for i in range(5))
    return (), {"images": await ex.save_pngs(inp["images"], f"ComfyUI_temp_{suffix}", "temp")}


async def _save_video(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    for name, allowed in (("format", ("auto", "mp4")), ("codec", ("auto", "h264"))):
        if inp.get(name, "auto") not in allowed:
            raise NodeFailure("ValueError", f"Value '{inp.get(name)}' for input '{name}' is not one of {list(allowed)}")
    video = inp["video"]
    saved = await ex.save_mp4(video, video["fps"], str(inp.get("filename_prefix", "video/ComfyUI")), "output", "_")
    return (), {"images": [saved], "animated": [True]}


async def _vhs_combine(ex: Executor, node_id: str, inp: dict[str, Any]) -> tuple[tuple[Value, ...], Ui | None]:
    fmt = inp.get("format", "image/gif")
    if fmt not in ("video/h264-mp4", "video/h265-mp4", "video/nvenc_h264-mp4"):
        raise NodeFailure("ValueError", f"the fake VHS_VideoCombine only writes mp4 formats, not {fmt!r}")
    type_ = "output" if inp.get("save_output", True) else "temp"
    fps = float(inp.get("frame_rate", 8))
    saved = await ex.save_mp4(inp["images"], fps, str(inp.get("filename_prefix", "AnimateDiff")), type_, "")
    stem = saved["filename"][:-4]
    path = "/".join(p for p in ("output" if type_ == "output" else "temp", saved["subfolder"], saved["filename"]) if p)
    gif = {**saved, "format": fmt, "frame_rate": fps, "workflow": f"{stem}.png", "fullpath": f"/comfy/{path}"}
    return ({"type": "VHS_FILENAMES", "files": [saved["filename"]]},), {"gifs": [gif]}


RUNNERS: dict[str, Runner] = {
    "CheckpointLoaderSimple": _handles("MODEL", "CLIP", "VAE"),
    "UNETLoader": _handles("MODEL"), "CLIPLoader": _handles("CLIP"), "DualCLIPLoader": _handles("CLIP"),
    "VAELoader": _handles("VAE"), "CLIPVisionLoader": _handles("CLIP_VISION"),
    "CLIPVisionEncode": _handles("CLIP_VISION_OUTPUT"),
    "CLIPTextEncode": _text, "FluxGuidance": _same, "ModelSamplingSD3": _same,
    "EmptyLatentImage": _latent, "EmptySD3LatentImage": _latent,
    "KSampler": _sample, "KSamplerAdvanced": _sample, "VAEDecode": _decode,
    "EmptyImage": _empty_image, "ImageBatch": _image_batch, "RepeatImageBatch": _repeat_batch,
    "LoadImage": _load_image, "WanImageToVideo": _wan_i2v, "CreateVideo": _create_video,
    "SaveImage": _save_image, "PreviewImage": _preview_image, "SaveVideo": _save_video,
    "VHS_VideoCombine": _vhs_combine,
}
