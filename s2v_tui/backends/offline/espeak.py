"""espeak-ng through ctypes, from the pip `espeakng-loader` wheel (library + voice data, no apt).

PyPI's espeak bindings shell out to an `espeak-ng` executable that pip cannot provide, so this talks
to libespeak-ng directly: synchronous synthesis into a callback that collects int16 samples and
WORD/SENTENCE events. Event `text_position` is a 1-based *character* index and `audio_position` is
in ms, which is what times the subtitles. libespeak-ng keeps global state, so one process-wide
instance serialises calls with a lock.
"""

from __future__ import annotations

import array
import ctypes
import threading

from s2v_tui.backends.offline.speech import Speech, SpokenWord
from s2v_tui.domain.errors import BackendError

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
POS_CHARACTER = 1
PARAM_RATE = 1
IPA_WITH_TIES = 0x02 | 0x80 | ord("^") << 8
"""espeak_TextToPhonemes mode: IPA (bit 1), multi-letter phonemes tied (bit 7) with "^" (bits 8-23)."""
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_SENTENCE, EVENT_MSG_TERMINATED = 0, 1, 2, 6


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union {int number; const char *name; char string[8]}
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))


class Espeak:
    """The process-wide espeak-ng engine. Use `Espeak.instance()`."""

    _instance: Espeak | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (ImportError, OSError) as exc:
            raise BackendError(f"espeak-ng library could not be loaded: {exc}",
                               hint="reinstall s2v (pip install --force-reinstall espeakng-loader)") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), 0)
        if self.sample_rate <= 0:
            raise BackendError("espeak-ng failed to initialise", hint="reinstall espeakng-loader")
        self._lib = lib
        self._lock = threading.Lock()
        self._samples = array.array("h")
        self._events: list[tuple[int, int, int]] = []
        self._callback = _SynthCallback(self._on_audio)  # keep a reference for the C side
        lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def instance(cls) -> Espeak:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]) -> int:
        if wav and count > 0:
            self._samples.extend(ctypes.cast(wav, ctypes.POINTER(ctypes.c_short * count)).contents)
        index = 0
        while events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type in (EVENT_WORD, EVENT_SENTENCE):
                self._events.append((event.type, event.text_position, event.audio_position))
            if event.type == EVENT_MSG_TERMINATED:
                break
            index += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise BackendError(f"espeak-ng has no voice {voice!r}",
                               hint="set [voice] zh/en in config.toml to an espeak-ng voice such as cmn or en-us")

    def phonemes(self, text: str, *, voice: str = "en-us") -> str:
        """IPA for `text`, multi-letter phonemes tied with "^" (e.g. "həlˈo^ʊ"); clauses joined by spaces."""
        with self._lock:
            self._set_voice(voice)
            buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            clauses = []
            while pointer.value:
                result = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, IPA_WITH_TIES)
                if result:
                    clauses.append(result.decode("utf-8", "replace").strip())
            return " ".join(c for c in clauses if c)

    def synthesize(self, text: str, *, voice: str, words_per_minute: int) -> Speech:
        """Speak `text` with an espeak voice ("cmn", "en-us"…). Blocking; call from a thread."""
        with self._lock:
            self._set_voice(voice)
            self._lib.espeak_SetParameter(PARAM_RATE, int(words_per_minute), 0)
            self._samples = array.array("h")
            self._events = []
            buffer = text.encode("utf-8") + b"\0"
            code = self._lib.espeak_Synth(buffer, len(buffer), 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None)
            if code != 0:
                raise BackendError(f"espeak-ng synthesis failed (code {code})")
            words = [SpokenWord(char_index=max(0, pos - 1), seconds=ms / 1000)
                     for kind, pos, ms in self._events if kind == EVENT_WORD]
            return Speech(samples=self._samples.tobytes(), sample_rate=self.sample_rate, words=words)
