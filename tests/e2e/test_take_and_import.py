"""`s2v take` and `s2v import` as a user runs them: choosing an earlier take makes the next run rebuild
only the shot's segment and the film; a user's picture, clip or voice becomes the chosen take and the
film is rebuilt from it (a long clip is cut, a short one held on its last frame, subtitles are timed
from the user's voice); every refusal exits 2 and leaves the project exactly as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from s2v_tui.cli import main
from s2v_tui.domain.errors import ExitCode
from s2v_tui.domain.shot import Stage
from s2v_tui.media.subtitles import read_srt
from s2v_tui.storage.project_store import ProjectFolder
from tests.conftest import STORY_ZH
from tests.fakes.media import mp4_bytes, wav_bytes

pytestmark = pytest.mark.e2e
BACKENDS = ["--backend", "storyboard=fake", "--backend", "keyframe=offline", "--backend", "clip=fake",
            "--backend", "voice=fake"]


def run(project: Path, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["--run", str(project), "--json", *BACKENDS]) == ExitCode.OK
    return json.loads(capsys.readouterr().out.splitlines()[-1])


@pytest.fixture
def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("S2V_RENDER__FPS", "10")
    story = tmp_path / "story.zh.txt"
    story.write_text(STORY_ZH, encoding="utf-8")
    project = tmp_path / "film"
    assert main(["--run", str(story), "--out", str(project), "--size", "160x288", "--json", *BACKENDS]) == 0
    capsys.readouterr()
    return project


def snapshot(project: Path) -> dict[str, str]:
    """Every file of the project and its content (s2v's own lock file aside)."""
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(project.rglob("*")) if p.is_file() and not p.name.startswith(".s2v.lock")}


def test_choosing_an_earlier_keyframe_rebuilds_only_the_segment_and_the_film(
        rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ProjectFolder(rendered) as folder:  # "regenerate the keyframe", as the studio's `r` does
        project = folder.load()
        project.shots[1].variants = {Stage.KEYFRAME: 1}
        folder.save(project)
    assert run(rendered, capsys)["built"] == {"keyframe": 1, "clip": 1, "segment": 1, "final": 1}
    assert main(["take", str(rendered), "shot_02", "keyframe", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "shot_02 keyframe" in listing and "     1  " in listing and "  *  2  " in listing
    assert main(["take", str(rendered), "shot_02", "keyframe", "1"]) == 0
    assert "take 1 chosen" in capsys.readouterr().out
    summary = run(rendered, capsys)
    assert summary["built"] == {"segment": 1, "final": 1} and summary["paid_calls"] == {}
    assert summary["cached"]["keyframe"] == 3 and summary["cached"]["clip"] == 3
    assert main(["take", str(rendered), "shot_02", "--list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    chosen = {(r["stage"], r["take"]) for r in rows if r["chosen"]}
    assert chosen == {("keyframe", 1), ("voice", 1), ("clip", 1)}
    assert [r["pinned"] for r in rows if r["stage"] == "keyframe"] == [True, False]


def test_refused_takes_exit_2_and_change_nothing(rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(rendered)
    for argv in (["take", str(rendered), "shot_09", "keyframe", "1"], ["take", str(rendered), "shot_01", "voice", "7"],
                 ["take", str(rendered.parent), "shot_01", "clip", "1"]):
        assert main(argv) == ExitCode.BAD_INPUT, argv
    assert "no shot 'shot_09'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stage:
        main(["take", str(rendered), "shot_01", "segment", "1"])
    assert stage.value.code == ExitCode.BAD_INPUT
    with ProjectFolder(rendered):  # open in another s2v
        assert main(["take", str(rendered), "shot_01", "keyframe", "1"]) == ExitCode.LOCKED
        assert main(["import", str(rendered), "shot_01", "--voice", "x.wav"]) == ExitCode.LOCKED
    assert snapshot(rendered) == before


def test_bad_files_are_refused_before_anything_is_written(rendered: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    tiny, text, long_voice = tmp_path / "tiny.png", tmp_path / "notes.mp4", tmp_path / "speech.wav"
    Image.new("RGB", (20, 20)).save(tiny)
    text.write_text("not a video")
    long_voice.write_bytes(wav_bytes(seconds=130.0, sample_rate=8000))
    before = snapshot(rendered)
    cases = [("--keyframe", tiny, "only 20x20 pixels"), ("--clip", text, "not a video s2v can decode"),
             ("--voice", long_voice, "lasts 130 s"), ("--keyframe", tmp_path / "missing.png", "not found"),
             ("--voice", text, "not a recording")]
    for flag, path, why in cases:
        assert main(["import", str(rendered), "shot_01", flag, str(path)]) == ExitCode.BAD_INPUT
        assert why in capsys.readouterr().err, flag
    assert snapshot(rendered) == before


def test_a_users_picture_and_clips_become_chosen_takes_and_the_film_is_rebuilt_from_them(
        rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "poster.jpg"
    Image.new("RGB", (300, 200), (200, 40, 40)).save(picture, exif=_rotated())
    long_clip, short_clip = tmp_path / "long.mp4", tmp_path / "short.mp4"
    long_clip.write_bytes(mp4_bytes(seconds=12.0))
    short_clip.write_bytes(mp4_bytes(seconds=0.5))
    assert main(["import", str(rendered), "shot_01", "--keyframe", str(picture)]) == 0
    assert main(["import", str(rendered), "shot_02", "--clip", str(long_clip)]) == 0
    assert main(["import", str(rendered), "shot_03", "--clip", str(short_clip)]) == 0
    summary = run(rendered, capsys)
    assert summary["built"] == {"clip": 1, "segment": 3, "final": 1}  # shot_01's clip moves the new picture
    project = ProjectFolder(rendered).load()
    keyframe = project.shots[0].stages[Stage.KEYFRAME]
    assert keyframe.asset.backend == "user" and keyframe.pin is not None and len(keyframe.takes) == 2
    with Image.open(rendered / keyframe.asset.path) as stored:
        assert stored.size == (200, 300)  # the camera's rotation flag applied
    assert not keyframe.asset.path.startswith(str(tmp_path)) and (rendered / keyframe.asset.path).is_file()
    for shot, held in ((project.shots[1], False), (project.shots[2], True)):
        segment = shot.stages[Stage.SEGMENT].asset
        frames = _frames(rendered / segment.path)
        assert len(frames) == segment.meta["frames"]  # cut or held to the shot's length
        change = float(np.abs(frames[-1].astype(int) - frames[-2]).mean())  # x264 noise on a still is < 1
        assert (change < 1.0) == held, (shot.id, change)
    assert run(rendered, capsys)["built"] == {}  # pinned: nothing rebuilds them


def test_a_users_voice_replaces_tts_and_times_the_subtitles(rendered: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    narration = "第一句话很短。第二句话稍微长一点点。第三句话是最长的一句，真的很长。"
    with ProjectFolder(rendered) as folder:
        project = folder.load()
        project.shots[0].narration = narration
        folder.save(project)
    recording = tmp_path / "me.wav"
    recording.write_bytes(wav_bytes(seconds=6.0))
    assert main(["import", str(rendered), "shot_01", "--voice", str(recording)]) == 0
    summary = run(rendered, capsys)
    assert "voice" not in summary["built"]  # no TTS: the user's recording is the voice
    voice = ProjectFolder(rendered).load().shots[0].stages[Stage.VOICE].asset
    assert voice.backend == "user" and voice.meta["timings"] == []
    seconds = voice.meta["duration"]
    assert abs(seconds - 6.0) < 0.01
    cues = read_srt(rendered / "output" / "final.srt")[:3]
    assert [c.text.replace("\n", "") for c in cues] == ["第一句话很短", "第二句话稍微长一点点", "第三句话是最长的一句，真的很长"]
    starts = [0, len("第一句话很短。"), len("第一句话很短。第二句话稍微长一点点。")]
    for cue, start in zip(cues, starts, strict=True):  # sentence lengths, proportionally over the recording
        assert abs(cue.start - seconds * start / len(narration)) < 0.002
    assert abs(cues[-1].end - (seconds + 0.25)) < 0.002


def _rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return exif.tobytes()


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
