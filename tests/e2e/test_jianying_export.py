"""`s2v export DIR --jianying OUT`: the draft of a rendered film round-trips — its JSON parses, every media
file it names is in the draft folder, its tracks have the film's segment durations (within a frame), its
subtitles are final.srt, the music is looped and ducked under speech — and refusals write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2v_tui.cli import main
from s2v_tui.domain.errors import ExitCode
from s2v_tui.domain.shot import Stage
from s2v_tui.media.probe import probe
from s2v_tui.media.subtitles import read_srt
from s2v_tui.storage.project_store import ProjectFolder
from s2v_tui.workspace.jianying import ducked_music_keyframes
from tests.conftest import STORY_ZH
from tests.fakes.media import wav_bytes

pytestmark = pytest.mark.e2e
FPS = 30  # a frame is not a whole number of microseconds: placements must still meet exactly
FRAME_US = 1_000_000 / FPS


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("film")
    story, music = root / "story.zh.txt", root / "bed.wav"
    story.write_text(STORY_ZH, encoding="utf-8")
    music.write_bytes(wav_bytes(seconds=3.0))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("S2V_RENDER__FPS", str(FPS))
        assert main(["--run", str(story), "--out", str(root / "p"), "--size", "160x288", "--music", str(music),
                     *[f"--backend={stage}=fake" for stage in ("storyboard", "keyframe", "clip", "voice")]]) == 0
    return root / "p"


def tracks(draft: dict) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    return {t["name"]: sorted(t["segments"], key=lambda s: s["target_timerange"]["start"]) for t in draft["tracks"]}


def test_the_draft_round_trips(rendered: Path, tmp_path: Path) -> None:
    out = tmp_path / "lantern"
    assert main(["export", str(rendered), "--jianying", str(out)]) == ExitCode.OK
    draft = json.loads((out / "draft_info.json").read_text(encoding="utf-8"))
    meta = json.loads((out / "draft_meta_info.json").read_text(encoding="utf-8"))
    project = ProjectFolder(rendered).load()
    assert draft["canvas_config"]["width"] == 160 and draft["canvas_config"]["height"] == 288 and draft["fps"] == FPS
    assert meta["draft_name"] == "lantern" and meta["draft_fold_path"] == str(out)
    materials = draft["materials"]["videos"] + draft["materials"]["audios"]
    assert len(materials) == 2 * len(project.shots) + 1
    for material in materials:  # every file it uses is in the draft folder
        path = Path(material["path"])
        assert path.parent == out / "media" and path.is_file(), path
    by_track = tracks(draft)
    assert set(by_track) == {"画面", "旁白", "字幕", "音乐"}
    segments = [shot.stages[Stage.SEGMENT].asset for shot in project.shots]
    start = 0.0
    for name in ("画面", "旁白"):
        start = 0.0
        assert len(by_track[name]) == len(segments)
        for placed, segment in zip(by_track[name], segments, strict=True):
            assert abs(placed["target_timerange"]["start"] - start * 1e6) <= FRAME_US
            assert abs(placed["target_timerange"]["duration"] - segment.meta["duration"] * 1e6) <= FRAME_US
            start += segment.meta["duration"]
    film = probe(rendered / "output" / "final.mp4")
    assert abs(draft["duration"] - film.duration * 1e6) <= FRAME_US
    pictures = {m["id"]: Path(m["path"]) for m in draft["materials"]["videos"]}
    for placed, segment in zip(by_track["画面"], segments, strict=True):
        assert probe(pictures[placed["material_id"]]).video[0].frames == segment.meta["frames"]
    texts = {m["id"]: json.loads(m["content"])["text"] for m in draft["materials"]["texts"]}
    srt = read_srt(rendered / "output" / "final.srt")
    assert len(srt) == len(by_track["字幕"]) > 0
    for placed, cue in zip(by_track["字幕"], srt, strict=True):
        assert texts[placed["material_id"]] == cue.text
        begin, length = placed["target_timerange"]["start"], placed["target_timerange"]["duration"]
        assert abs(begin / 1e6 - cue.start) < 0.0015 and abs((begin + length) / 1e6 - cue.end) < 0.0015


def test_the_music_is_looped_over_the_film_and_ducked_under_speech(rendered: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft"
    assert main(["export", str(rendered), "--jianying", str(out)]) == 0
    draft = json.loads((out / "draft_info.json").read_text(encoding="utf-8"))
    music = tracks(draft)["音乐"]
    assert len(music) >= 3  # a 3 s bed under a film of about 10 s
    ends = [(s["target_timerange"]["start"], s["target_timerange"]["start"] + s["target_timerange"]["duration"])
            for s in music]
    assert ends[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ends, ends[1:], strict=False))
    assert ends[-1][1] == draft["duration"]
    base = 10 ** (-14 / 20)
    first = music[0]["common_keyframes"][0]
    assert first["property_type"] == "KFTypeVolume"
    values = {kf["time_offset"]: kf["values"][0] for kf in first["keyframe_list"]}
    assert values[0] < base * 0.5  # narration starts at once: the music starts ducked
    assert max(values.values()) == pytest.approx(base)


def test_media_root_names_where_jianying_will_open_it(rendered: Path, tmp_path: Path) -> None:
    out = tmp_path / "for-windows"
    root = r"C:\Users\me\AppData\Local\JianyingPro\User Data\Projects\com.lveditor.draft\for-windows"
    assert main(["export", str(rendered), "--jianying", str(out), "--media-root", root]) == 0
    draft = json.loads((out / "draft_info.json").read_text(encoding="utf-8"))
    for material in draft["materials"]["videos"] + draft["materials"]["audios"]:
        assert material["path"].startswith(root.replace("\\", "/") + "/media/")
        assert (out / "media" / material["path"].rsplit("/", 1)[1]).is_file()


def test_refusals_write_nothing(rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["export", str(rendered), "--jianying", str(foreign)]) == ExitCode.BAD_INPUT
    assert "not an earlier s2v export" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert main(["export", str(rendered), "--jianying", str(rendered / "assets" / "draft")]) == ExitCode.BAD_INPUT
    assert not (rendered / "assets" / "draft").exists()
    again = tmp_path / "again"
    assert main(["export", str(rendered), "--jianying", str(again)]) == 0
    (again / "media" / "stale.mp4").write_bytes(b"from an older export")
    assert main(["export", str(rendered), "--jianying", str(again)]) == 0  # an earlier export is replaced whole
    assert not (again / "media" / "stale.mp4").exists()
    before = (rendered / "project.json").read_bytes()
    with ProjectFolder(rendered) as folder:
        project = folder.load()
        project.shots[0].narration = "改过的旁白。"
        folder.save(project)
    try:
        assert main(["export", str(rendered), "--jianying", str(tmp_path / "stale")]) == ExitCode.BAD_INPUT
        assert "out of date" in capsys.readouterr().err and not (tmp_path / "stale").exists()
    finally:
        (rendered / "project.json").write_bytes(before)


def test_ducking_keyframes_follow_each_narration() -> None:
    points = ducked_music_keyframes(0.0, 3.0, [(0.0, 1.0), (2.0, 2.5)], 0.2, 0.05)
    assert points == [(0.0, 0.05), (0.0, 0.05), (1.0, 0.05), (1.4, 0.2), (1.98, 0.2), (2.0, 0.05), (2.5, 0.05),
                      (2.9, 0.2)]
    assert ducked_music_keyframes(3.0, 3.0, [(0.0, 1.0)], 0.2, 0.05) == []


def test_a_re_export_reuses_the_pictures_of_unchanged_shots(rendered: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft"
    assert main(["export", str(rendered), "--jianying", str(out)]) == 0
    first = {p.name: p.stat().st_ino for p in (out / "media").glob("shot_*.mp4")}
    (out / "media" / "shot_02.mp4").write_bytes(b"edited by hand")
    assert main(["export", str(rendered), "--jianying", str(out)]) == 0
    again = {p.name: p.stat().st_ino for p in (out / "media").glob("shot_*.mp4")}
    assert again["shot_01.mp4"] == first["shot_01.mp4"] and again["shot_03.mp4"] == first["shot_03.mp4"]
    assert probe(out / "media" / "shot_02.mp4").video  # made again: the file no longer was what was exported
