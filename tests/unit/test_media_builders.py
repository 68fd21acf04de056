"""ffmpeg argv builders and Ken-Burns geometry (pure functions, no ffmpeg run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from s2v_tui.domain.camera import CameraMove
from s2v_tui.media.final import build_audio_argv, build_join_argv, build_measure_argv, concat_list
from s2v_tui.media.kenburns import MotionRenderer, framing_at, plan_motion
from s2v_tui.media.loudness import gain_db, parse_integrated_loudness
from s2v_tui.media.segment import EncodeSettings, SegmentJob, SegmentSource, build_segment_argv

ENC = EncodeSettings(width=160, height=288, fps=10)


def _filtergraph(argv: list[str]) -> str:
    return argv[argv.index("-filter_complex") + 1]


def test_segment_from_a_provider_clip_fits_size_time_and_audio() -> None:
    argv = build_segment_argv(SegmentJob(SegmentSource(clip=Path("clip.mp4"), clip_duration=2.0), voice_wav=Path("v.wav"),
                              subtitles_ass="subs.ass", fonts_dir=Path("/fonts dir"), frames=30, enc=ENC,
                              out_mp4=Path("seg.mp4"), out_wav=Path("seg.wav")))
    graph = _filtergraph(argv)
    assert "scale=160:288:flags=lanczos:force_original_aspect_ratio=increase" in graph
    assert "crop=160:288" in graph and "setpts=1.3500*PTS" in graph  # 3 s shot from a 2 s clip: capped slowdown
    assert "tpad=stop_duration=4.000:stop_mode=clone" in graph and "trim=end_frame=30" in graph
    assert "ass=filename=subs.ass" in graph and "out_color_matrix=bt601" in graph
    assert "apad=whole_len=132300" in graph and "atrim=end_sample=132300" in graph  # 3 s at 44.1 kHz exactly
    for expected in ("-vcodec", "libx264", "-preset", "veryfast", "-crf", "23", "-video_track_timescale", "5120",
                     "-colorspace", "smpte170m", "seg.mp4", "seg.wav", "-progress", "pipe:1"):
        assert expected in argv


def test_motion_segment_reads_raw_frames_from_stdin_and_silence_when_no_voice(tmp_path: Path) -> None:
    Image.new("RGB", (200, 360), "red").save(tmp_path / "k.png")
    renderer = MotionRenderer(tmp_path / "k.png", plan_motion(CameraMove.PUSH_IN, 2.0), (160, 288), 10)
    argv = build_segment_argv(SegmentJob(SegmentSource(motion=renderer), voice_wav=None, subtitles_ass=None,
                              fonts_dir=tmp_path, frames=20, enc=ENC, out_mp4=Path("s.mp4"), out_wav=Path("s.wav")))
    assert argv[argv.index("-f") + 1] == "rawvideo" and "pipe:" in argv
    assert "anullsrc=r=44100:cl=mono" in argv and "ass=" not in _filtergraph(argv)


def test_a_segment_encodes_its_picture_with_one_x264_thread_and_writes_its_sound_as_pcm_only() -> None:
    argv = build_segment_argv(SegmentJob(SegmentSource(clip=Path("clip.mp4"), clip_duration=2.0), voice_wav=Path("v.wav"),
                              subtitles_ass=None, fonts_dir=Path("f"), frames=30, enc=ENC, out_mp4=Path("seg.mp4"),
                              out_wav=Path("seg.wav")))
    assert "aac" not in argv  # the film's sound track is mixed from the WAVs; an AAC copy per segment was waste
    assert argv[argv.index("-threads") + 1] == "1" and argv.index("-threads") < argv.index("seg.mp4")
    assert argv[argv.index("-acodec") + 1] == "pcm_s16le"


def test_identical_settings_give_identical_encoder_arguments() -> None:
    one = build_segment_argv(SegmentJob(SegmentSource(clip=Path("a.mp4"), clip_duration=9), voice_wav=Path("a.wav"),
                             subtitles_ass=None, fonts_dir=Path("f"), frames=50, enc=ENC, out_mp4=Path("a.mp4"),
                             out_wav=Path("a.wav")))
    two = build_segment_argv(SegmentJob(SegmentSource(clip=Path("b.mp4"), clip_duration=9), voice_wav=Path("b.wav"),
                             subtitles_ass=None, fonts_dir=Path("f"), frames=80, enc=ENC, out_mp4=Path("b.mp4"),
                             out_wav=Path("b.wav")))
    tail = lambda argv: argv[argv.index("-map"):]  # noqa: E731 - the output options
    assert [x for x in tail(one) if not x.startswith(("a.", "b."))] == [x for x in tail(two) if not x.startswith(("a.", "b."))]


def test_sound_track_is_normalised_and_the_join_copies_both_streams() -> None:
    argv = build_audio_argv(Path("a.txt"), None, Path("a.m4a"), sample_rate=44100, gain=3.2)
    assert "volume=3.20dB" in _filtergraph(argv) and "alimiter" in _filtergraph(argv)
    assert argv[argv.index("-acodec") + 1] == "aac" and "-vcodec" not in argv
    silent = build_audio_argv(Path("a.txt"), None, Path("a.m4a"), sample_rate=44100, gain=None)
    assert "volume=" not in _filtergraph(silent)  # silent audio: no gain, no limiter
    join = build_join_argv(Path("v.txt"), Path("a.m4a"), Path("final.mp4"))
    assert join[join.index("-vcodec") + 1] == "copy" and join[join.index("-acodec") + 1] == "copy"
    assert "-filter_complex" not in join  # nothing is decoded


def test_music_is_ducked_under_the_voice() -> None:
    from s2v_tui.media.final import MusicBed

    graph = _filtergraph(build_measure_argv(Path("a.txt"), MusicBed(Path("m.mp3"), -12), sample_rate=44100))
    assert "sidechaincompress" in graph and "amix=duration=first:inputs=2:normalize=0" in graph
    assert "ebur128" in graph


def test_concat_list_escapes_quotes() -> None:
    assert concat_list([Path("/a/it's.mp4")]) == "file '/a/it'\\''s.mp4'\n"


def test_loudness_parsing() -> None:
    report = "[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -21.5 LUFS\n"
    assert parse_integrated_loudness(report) == -21.5
    assert parse_integrated_loudness("  Integrated loudness:\n    I:         -inf LUFS") is None
    assert parse_integrated_loudness("  Integrated loudness:\n    I:         -90.0 LUFS") is None
    assert gain_db(-16, -21.5) == 5.5 and gain_db(-16, None) is None and gain_db(-16, -80.0) == 30.0


@pytest.mark.parametrize("move", list(CameraMove))
def test_every_move_stays_inside_the_picture_and_moves_smoothly(tmp_path: Path, move: CameraMove) -> None:
    Image.new("RGB", (400, 720), "blue").save(tmp_path / "k.png")
    renderer = MotionRenderer(tmp_path / "k.png", plan_motion(move, 3.0), (160, 288), 30)
    boxes = [renderer.box(i) for i in range(renderer.frame_count)]
    width, height = renderer.source_size
    assert all(x0 >= 0 and y0 >= 0 and x1 <= width + 1e-6 and y1 <= height + 1e-6 for x0, y0, x1, y1 in boxes)
    steps = [abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in zip(boxes, boxes[1:], strict=False)]
    assert max(steps) < 3.0  # no jumps between frames
    # Accelerations are tiny: the path is smooth, not stair-stepped to whole pixels.
    accel = [abs(s2 - s1) for s1, s2 in zip(steps, steps[1:], strict=False)]
    assert max(accel) < 0.5
    assert renderer.frame(0).size == (160, 288)


def test_moves_actually_move_except_locked_off() -> None:
    def travel(move: CameraMove) -> float:
        plan = plan_motion(move, 5)
        first = framing_at(plan, 0)
        return max(sum(abs(a - b) for a, b in zip(framing_at(plan, u / 20), first, strict=True)) for u in range(21))

    assert travel(CameraMove.LOCKED) < 0.05
    assert all(travel(m) > 0.08 for m in CameraMove if m is not CameraMove.LOCKED)
    assert plan_motion(CameraMove.TRUCK, 5, flip=True).start.cx > 0.5 > plan_motion(CameraMove.TRUCK, 5).start.cx


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("move", list(CameraMove))
def test_the_keyframe_caption_is_never_cut_off_by_a_camera_move(tmp_path: Path, move: CameraMove,
                                                                flip: bool) -> None:
    from s2v_tui.backends.offline.caption import draw_caption

    keyframe = Image.new("RGB", (450, 800), "navy")
    caption = draw_caption(keyframe, 7, "海边的小镇上住着一位做灯笼的老人，他每天傍晚都会挂起灯笼")
    keyframe.save(tmp_path / "k.png")
    renderer = MotionRenderer(tmp_path / "k.png", plan_motion(move, 3.0, flip=flip), (180, 320), 10)
    scale = renderer.source_size[0] / keyframe.width  # the renderer may prescale the keyframe
    left, top, right, bottom = (v * scale for v in caption)
    for index in range(renderer.frame_count):
        x0, y0, x1, y1 = renderer.box(index)
        assert x0 <= left and right <= x1 and y0 <= top and bottom <= y1, f"frame {index} cuts the caption"


def test_x264_threads_share_the_cores_between_side_by_side_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from s2v_tui.media.segment import x264_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(2)))
    assert x264_threads(2) == 1 and x264_threads(1) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)))
    assert x264_threads(2) == 4 and x264_threads(16) == 1
    # The cache does not key on it: a project moved to a bigger machine is not re-encoded.
    assert EncodeSettings(width=8, height=8, fps=1, threads=1).fingerprint() == \
        EncodeSettings(width=8, height=8, fps=1, threads=4).fingerprint()
