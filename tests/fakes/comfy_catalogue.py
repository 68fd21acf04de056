"""Node catalogue and `/prompt` validation for the ComfyUI fake (`tests.fakes.comfy`).

The catalogue mirrors real `INPUT_TYPES()` for a small set of core nodes (names, kinds, defaults, min/max/step,
combo lists, link types) plus VideoHelperSuite's `VHS_VideoCombine`. Model combos come from the fake's
`models` dict; `LoadImage.image` lists the files uploaded to the input folder.

`validate_prompt` is a port of ComfyUI's `execution.validate_prompt` / `validate_inputs` (0.3.6x), including
its quirks: combo checks are skipped for new-style (V3) nodes such as `CreateVideo` / `SaveVideo`, min/max
(but not `step`) are enforced, a link to a missing node surfaces as an `exception_during_(inner_)validation`
KeyError, and `dependent_outputs` is appended to every failing node for every failing output.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_RES = 16384
SEED_MAX = 0xFFFFFFFFFFFFFFFF

DEFAULT_MODELS: dict[str, list[str]] = {
    "checkpoints": ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors", "flux1-dev-fp8.safetensors"],
    "diffusion_models": ["wan2.1_i2v_480p_14B_fp8_e4m3fn.safetensors",
                         "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
                         "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
                         "flux1-dev.safetensors", "qwen_image_fp8_e4m3fn.safetensors"],
    "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "clip_l.safetensors",
                      "t5xxl_fp8_e4m3fn.safetensors", "qwen_2.5_vl_7b_fp8_scaled.safetensors"],
    "vae": ["wan_2.1_vae.safetensors", "ae.safetensors", "qwen_image_vae.safetensors"],
    "clip_vision": ["clip_vision_h.safetensors"],
    "loras": [],
}

SAMPLERS = ["euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
            "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
            "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
            "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm",
            "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
            "res_multistep_ancestral_cfg_pp", "gradient_estimation", "er_sde", "seeds_2", "seeds_3",
            "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2"]
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
              "linear_quadratic", "kl_optimal"]
CLIP_TYPES = ["stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos",
              "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image"]
DUAL_CLIP_TYPES = ["sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image", "hunyuan_video_15"]
VHS_FORMATS = ["image/gif", "image/webp", "video/16bit-png", "video/8bit-png", "video/av1-webm",
               "video/ffmpeg-gif", "video/h264-mp4", "video/h265-mp4", "video/nvenc_h264-mp4",
               "video/ProRes", "video/webm"]
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
CONVERT: dict[str, Callable[[Any], Any]] = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}


@dataclass(frozen=True)
class Models:
    """Placeholder combo: the files of one model folder (resolved per fake)."""
    folder: str


class InputFiles:
    """Placeholder combo: images uploaded to the input folder (top level only, like real LoadImage)."""


def _int(default: int, lo: int, hi: int, step: int | None = None, **extra: Any) -> tuple[str, dict[str, Any]]:
    opts: dict[str, Any] = {"default": default, "min": lo, "max": hi}
    if step is not None:
        opts["step"] = step
    return "INT", {**opts, **extra}


def _float(default: float, lo: float, hi: float, step: float, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "FLOAT", {"default": default, "min": lo, "max": hi, "step": step, **extra}


SEED = _int(0, 0, SEED_MAX, control_after_generate=True)
STEPS = _int(20, 1, 10000)
CFG = _float(8.0, 0.0, 100.0, 0.1, round=0.01)


@dataclass
class NodeDef:
    category: str
    required: dict[str, tuple[Any, dict[str, Any]]]
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (type, name)
    optional: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    output_node: bool = False
    v3: bool = False  # new-style node: VALIDATE_INPUTS(**kwargs) → no min/max/combo checks at /prompt
    module: str = "nodes"
    display_name: str = ""
    custom_validate: Callable[[dict[str, Any], Callable[[str], bool]], str | None] | None = None


def _load_image_validate(inputs: dict[str, Any], image_exists: Callable[[str], bool]) -> str | None:
    image = inputs.get("image")
    return None if isinstance(image, str) and image_exists(image) else f"Invalid image file: {image}"


L = lambda t: (t, {})  # noqa: E731 - a link-typed input with no options
TEXT = ("STRING", {"multiline": True, "dynamicPrompts": True})

NODES: dict[str, NodeDef] = {
    "CheckpointLoaderSimple": NodeDef("loaders", {"ckpt_name": (Models("checkpoints"), {})},
                                      [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")],
                                      display_name="Load Checkpoint"),
    "CLIPTextEncode": NodeDef("conditioning", {"text": TEXT, "clip": L("CLIP")}, [("CONDITIONING", "CONDITIONING")],
                              display_name="CLIP Text Encode (Prompt)"),
    "EmptyLatentImage": NodeDef("latent", {"width": _int(512, 16, MAX_RES, 8), "height": _int(512, 16, MAX_RES, 8),
                                           "batch_size": _int(1, 1, 4096)}, [("LATENT", "LATENT")]),
    "EmptySD3LatentImage": NodeDef("latent/sd3", {"width": _int(1024, 16, MAX_RES, 16),
                                                  "height": _int(1024, 16, MAX_RES, 16),
                                                  "batch_size": _int(1, 1, 4096)}, [("LATENT", "LATENT")],
                                   module="comfy_extras.nodes_sd3"),
    "KSampler": NodeDef("sampling", {
        "model": L("MODEL"), "seed": SEED, "steps": STEPS, "cfg": CFG, "sampler_name": (SAMPLERS, {}),
        "scheduler": (SCHEDULERS, {}), "positive": L("CONDITIONING"), "negative": L("CONDITIONING"),
        "latent_image": L("LATENT"), "denoise": _float(1.0, 0.0, 1.0, 0.01)}, [("LATENT", "LATENT")]),
    "KSamplerAdvanced": NodeDef("sampling", {
        "model": L("MODEL"), "add_noise": (["enable", "disable"], {}), "noise_seed": SEED, "steps": STEPS,
        "cfg": CFG, "sampler_name": (SAMPLERS, {}), "scheduler": (SCHEDULERS, {}),
        "positive": L("CONDITIONING"), "negative": L("CONDITIONING"), "latent_image": L("LATENT"),
        "start_at_step": _int(0, 0, 10000), "end_at_step": _int(10000, 0, 10000),
        "return_with_leftover_noise": (["disable", "enable"], {})}, [("LATENT", "LATENT")],
        display_name="KSampler (Advanced)"),
    "EmptyImage": NodeDef("image", {"width": _int(512, 1, MAX_RES, 1), "height": _int(512, 1, MAX_RES, 1),
                                    "batch_size": _int(1, 1, 4096),
                                    "color": _int(0, 0, 0xFFFFFF, 1, display="color")}, [("IMAGE", "IMAGE")]),
    "ImageBatch": NodeDef("image", {"image1": L("IMAGE"), "image2": L("IMAGE")}, [("IMAGE", "IMAGE")],
                          display_name="Batch Images"),
    "RepeatImageBatch": NodeDef("image/batch", {"image": L("IMAGE"), "amount": _int(1, 1, 4096)},
                                [("IMAGE", "IMAGE")], module="comfy_extras.nodes_images"),
    "VAEDecode": NodeDef("latent", {"samples": L("LATENT"), "vae": L("VAE")}, [("IMAGE", "IMAGE")]),
    "SaveImage": NodeDef("image", {"images": L("IMAGE"), "filename_prefix": ("STRING", {"default": "ComfyUI"})},
                         output_node=True, display_name="Save Image"),
    "PreviewImage": NodeDef("image", {"images": L("IMAGE")}, output_node=True, display_name="Preview Image"),
    "UNETLoader": NodeDef("advanced/loaders", {
        "unet_name": (Models("diffusion_models"), {}),
        "weight_dtype": (["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"], {})}, [("MODEL", "MODEL")],
        display_name="Load Diffusion Model"),
    "CLIPLoader": NodeDef("advanced/loaders", {"clip_name": (Models("text_encoders"), {}), "type": (CLIP_TYPES, {})},
                          [("CLIP", "CLIP")], optional={"device": (["default", "cpu"], {"advanced": True})},
                          display_name="Load CLIP"),
    "DualCLIPLoader": NodeDef("advanced/loaders", {
        "clip_name1": (Models("text_encoders"), {}), "clip_name2": (Models("text_encoders"), {}),
        "type": (DUAL_CLIP_TYPES, {})}, [("CLIP", "CLIP")], optional={"device": (["default", "cpu"], {})}),
    "VAELoader": NodeDef("loaders", {"vae_name": (Models("vae"), {})}, [("VAE", "VAE")], display_name="Load VAE"),
    "CLIPVisionLoader": NodeDef("loaders", {"clip_name": (Models("clip_vision"), {})},
                                [("CLIP_VISION", "CLIP_VISION")], display_name="Load CLIP Vision"),
    "CLIPVisionEncode": NodeDef("conditioning", {"clip_vision": L("CLIP_VISION"), "image": L("IMAGE"),
                                                 "crop": (["center", "none"], {})},
                                [("CLIP_VISION_OUTPUT", "CLIP_VISION_OUTPUT")]),
    "LoadImage": NodeDef("image", {"image": (InputFiles(), {"image_upload": True})},
                         [("IMAGE", "IMAGE"), ("MASK", "MASK")], display_name="Load Image",
                         custom_validate=_load_image_validate),
    "WanImageToVideo": NodeDef("conditioning/video_models", {
        "positive": L("CONDITIONING"), "negative": L("CONDITIONING"), "vae": L("VAE"),
        "width": _int(832, 16, MAX_RES, 16), "height": _int(480, 16, MAX_RES, 16),
        "length": _int(81, 1, MAX_RES, 4), "batch_size": _int(1, 1, 4096)},
        [("CONDITIONING", "positive"), ("CONDITIONING", "negative"), ("LATENT", "latent")],
        optional={"clip_vision_output": L("CLIP_VISION_OUTPUT"), "start_image": L("IMAGE")},
        module="comfy_extras.nodes_wan"),
    "ModelSamplingSD3": NodeDef("advanced/model", {"model": L("MODEL"), "shift": _float(3.0, 0.0, 100.0, 0.01)},
                                [("MODEL", "MODEL")], module="comfy_extras.nodes_model_advanced"),
    "FluxGuidance": NodeDef("advanced/conditioning/flux", {"conditioning": L("CONDITIONING"),
                                                           "guidance": _float(3.5, 0.0, 100.0, 0.1)},
                            [("CONDITIONING", "CONDITIONING")], module="comfy_extras.nodes_flux"),
    "CreateVideo": NodeDef("image/video", {"images": L("IMAGE"), "fps": _float(30.0, 1.0, 120.0, 1.0)},
                           [("VIDEO", "VIDEO")], optional={"audio": L("AUDIO")}, v3=True,
                           module="comfy_extras.nodes_video", display_name="Create Video"),
    "SaveVideo": NodeDef("image/video", {
        "video": L("VIDEO"), "filename_prefix": ("STRING", {"default": "video/ComfyUI"}),
        "format": (["auto", "mp4"], {"default": "auto"}), "codec": (["auto", "h264"], {"default": "auto"})},
        output_node=True, v3=True, module="comfy_extras.nodes_video", display_name="Save Video"),
    "VHS_VideoCombine": NodeDef("Video Helper Suite 🎥🅥🅗🅢", {
        "images": L("IMAGE"), "frame_rate": ("FLOAT", {"default": 8, "min": 1, "step": 1}),
        "loop_count": _int(0, 0, 100, 1), "filename_prefix": ("STRING", {"default": "AnimateDiff"}),
        "format": (VHS_FORMATS, {}), "pingpong": ("BOOLEAN", {"default": False}),
        "save_output": ("BOOLEAN", {"default": True})}, [("VHS_FILENAMES", "Filenames")],
        optional={"audio": L("AUDIO"), "meta_batch": L("VHS_BatchManager"), "vae": L("VAE")}, output_node=True,
        module="custom_nodes.ComfyUI-VideoHelperSuite", display_name="Video Combine 🎥🅥🅗🅢"),
}

OUTPUT_NODES = frozenset(name for name, d in NODES.items() if d.output_node)


# -- resolution against one fake's models / input files -------------------------------------------
def resolve_type(kind: Any, models: dict[str, list[str]], input_files: list[str]) -> Any:
    if isinstance(kind, Models):
        return sorted(models.get(kind.folder, []))
    if isinstance(kind, InputFiles):
        return sorted(input_files)
    return kind


def input_specs(defn: NodeDef, models: dict[str, list[str]], input_files: list[str]
                ) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """name → (category, resolved type, options); required inputs first, in declaration order."""
    out: dict[str, tuple[str, Any, dict[str, Any]]] = {}
    for category, group in (("required", defn.required), ("optional", defn.optional)):
        for name, (kind, opts) in group.items():
            out[name] = (category, resolve_type(kind, models, input_files), opts)
    return out


def object_info(models: dict[str, list[str]], input_files: list[str], only: str | None = None) -> dict[str, Any]:
    """The `/object_info` payload (V1 combos as `[[...], {...}]`, V3 combos as `["COMBO", {"options": [...]}]`)."""
    info: dict[str, Any] = {}
    for name, defn in NODES.items():
        if only is not None and name != only:
            continue
        inputs: dict[str, dict[str, Any]] = {"required": {}}
        order: dict[str, list[str]] = {"required": []}
        for inp, (category, kind, opts) in input_specs(defn, models, input_files).items():
            if isinstance(kind, list) and defn.v3:
                entry: list[Any] = ["COMBO", {**opts, "options": kind, "multiselect": False}]
            else:
                entry = [kind, opts] if opts else [kind]
            inputs.setdefault(category, {})[inp] = entry
            order.setdefault(category, []).append(inp)
        info[name] = {
            "input": inputs, "input_order": order,
            "output": [t for t, _ in defn.outputs], "output_is_list": [False] * len(defn.outputs),
            "output_name": [n for _, n in defn.outputs], "name": name,
            "display_name": defn.display_name or name, "description": "", "python_module": defn.module,
            "category": defn.category, "output_node": defn.output_node, "deprecated": False,
            "experimental": False, "api_node": False,
        }
    return info


# -- validation ---------------------------------------------------------------------------------------
def _err(type_: str, message: str, details: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "message": message, "details": details, "extra_info": extra}


def _exc_err(type_: str, message: str, ex: BaseException, **extra: Any) -> dict[str, Any]:
    exc_type = type(ex).__qualname__
    tb = traceback.format_tb(ex.__traceback__)
    return _err(type_, message, str(ex), **extra, exception_message=str(ex), exception_type=exc_type,
                traceback=tb)


def _type_ok(received: str, wanted: Any) -> bool:
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    if received == wanted or "*" in (received, wanted):
        return True
    return set(received.split(",")) <= set(wanted.split(","))


class Validator:
    def __init__(self, prompt: dict[str, Any], models: dict[str, list[str]], input_files: list[str],
                 image_exists: Callable[[str], bool]) -> None:
        self.prompt, self.models, self.input_files, self.image_exists = prompt, models, input_files, image_exists
        self.validated: dict[str, tuple[bool, list[dict[str, Any]]]] = {}

    def inputs(self, node_id: str) -> tuple[bool, list[dict[str, Any]]]:
        if node_id in self.validated:
            return self.validated[node_id]
        node = self.prompt[node_id]
        inputs = node["inputs"]
        defn = NODES[node["class_type"]]
        errors: list[dict[str, Any]] = []
        valid = True
        for name, (category, kind, opts) in input_specs(defn, self.models, self.input_files).items():
            if name not in inputs:
                if category == "required":
                    errors.append(_err("required_input_missing", "Required input is missing", name,
                                       input_name=name))
                continue
            val = inputs[name]
            info = [kind, opts]
            if isinstance(val, list):
                if len(val) != 2:
                    errors.append(_err("bad_linked_input",
                                       "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                                       name, input_name=name, input_config=info, received_value=val))
                    continue
                src = val[0]
                src_class = self.prompt[src]["class_type"]  # KeyError for a missing node, like the real code
                received = [t for t, _ in NODES[src_class].outputs][val[1]]
                if not _type_ok(received, kind):
                    errors.append(_err("return_type_mismatch", "Return type mismatch between linked nodes",
                                       f"{name}, {received} != {kind}", input_name=name, input_config=info,
                                       received_type=received, linked_node=val))
                    continue
                try:
                    if not self.inputs(str(src))[0]:
                        valid = False
                except Exception as ex:  # noqa: BLE001 - mirrors ComfyUI
                    valid = False
                    self.validated[str(src)] = (False, [_exc_err(
                        "exception_during_inner_validation", "Exception when validating inner node", ex,
                        input_name=name, input_config=info, linked_node=val)])
                continue
            try:
                if isinstance(val, dict) and "__value__" in val:
                    val = inputs[name] = val["__value__"]
                conv = CONVERT.get(kind) if isinstance(kind, str) else None
                if conv is not None:
                    val = inputs[name] = conv(val)
            except Exception as ex:  # noqa: BLE001
                errors.append(_err("invalid_input_type", f"Failed to convert an input value to a {kind} value",
                                   f"{name}, {val}, {ex}", input_name=name, input_config=info,
                                   received_value=val, exception_message=str(ex)))
                continue
            if defn.v3 or defn.custom_validate is not None and name == "image":
                continue
            if "min" in opts and val < opts["min"]:
                errors.append(_err("value_smaller_than_min", f"Value {val} smaller than min of {opts['min']}",
                                   name, input_name=name, input_config=info, received_value=val))
                continue
            if "max" in opts and val > opts["max"]:
                errors.append(_err("value_bigger_than_max", f"Value {val} bigger than max of {opts['max']}",
                                   name, input_name=name, input_config=info, received_value=val))
                continue
            if isinstance(kind, list) and val not in kind:
                big = len(kind) > 20
                listing = f"(list of length {len(kind)})" if big else str(kind)
                errors.append(_err("value_not_in_list", "Value not in list", f"{name}: '{val}' not in {listing}",
                                   input_name=name, input_config=None if big else info, received_value=val))
        if defn.custom_validate is not None:
            problem = defn.custom_validate(inputs, self.image_exists)
            if problem is not None:
                errors.append(_err("custom_validation_failed", "Custom validation failed for node",
                                   f"image - {problem}", input_name="image"))
        result = (not errors and valid, errors)
        self.validated[node_id] = result
        return result


def validate_prompt(prompt: dict[str, Any], models: dict[str, list[str]], input_files: list[str],
                    image_exists: Callable[[str], bool]
                    ) -> tuple[bool, dict[str, Any] | None, list[str], dict[str, Any]]:
    """(valid, error, good_outputs, node_errors) exactly like `execution.validate_prompt`."""
    outputs: list[str] = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node:
            return False, _err("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                               f"Node ID '#{node_id}'"), [], {}
        class_type = node["class_type"]
        if class_type not in NODES:
            return False, _err("invalid_prompt", f"Cannot execute because node {class_type} does not exist.",
                               f"Node ID '#{node_id}'"), [], {}
        if NODES[class_type].output_node:
            outputs.append(node_id)
    if not outputs:
        return False, _err("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
    v = Validator(prompt, models, input_files, image_exists)
    good: list[str] = []
    failures: list[tuple[str, list[dict[str, Any]]]] = []
    node_errors: dict[str, Any] = {}
    for out in sorted(outputs, key=_id_key):
        try:
            ok, reasons = v.inputs(out)
        except Exception as ex:  # noqa: BLE001
            ok, reasons = False, [_exc_err("exception_during_validation", "Exception when validating node", ex)]
            v.validated[out] = (False, reasons)
        if ok:
            good.append(out)
            continue
        failures.append((out, reasons))
        for node_id, (node_ok, node_reasons) in v.validated.items():
            if not node_ok and node_reasons:
                entry = node_errors.setdefault(node_id, {"errors": node_reasons, "dependent_outputs": [],
                                                         "class_type": prompt[node_id]["class_type"]})
                entry["dependent_outputs"].append(out)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for _, errs in failures for e in errs)
        error = _err("prompt_outputs_failed_validation", "Prompt outputs failed validation", details)
        return False, error, [], node_errors
    return True, None, good, node_errors


def _id_key(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if str(node_id).isdigit() else (1 << 30, str(node_id))
