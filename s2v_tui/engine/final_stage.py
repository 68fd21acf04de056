"""The final join: output/final.mp4 (segments by stream copy + one mixed, normalised audio track)
and output/final.srt (every segment's cues shifted to its place in the film)."""

from __future__ import annotations

from pathlib import Path

from s2v_tui.backends.base import BackendInfo
from s2v_tui.domain.errors import MediaError
from s2v_tui.domain.project import Project
from s2v_tui.domain.shot import Asset
from s2v_tui.engine import recipes
from s2v_tui.engine.cancel import finish_in_thread
from s2v_tui.engine.context import RunContext, StageContextImpl
from s2v_tui.engine.plan import asset_valid, music_file
from s2v_tui.engine.stages import StageRunner
from s2v_tui.media.final import MusicBed, join_film, render_film_audio
from s2v_tui.media.probe import probe
from s2v_tui.media.subtitles import Cue, shifted, write_srt
from s2v_tui.storage.atomic import sha256_file

FINAL_MP4 = "output/final.mp4"
FINAL_SRT = "output/final.srt"


def film_cues(segments: list[Asset]) -> list[Cue]:
    cues: list[Cue] = []
    offset = 0.0
    for segment in segments:
        cues += shifted([Cue.model_validate(c) for c in segment.meta.get("cues", [])], offset)
        offset += float(segment.meta["duration"])
    return cues


async def _sound_track(run: RunContext, runner: StageRunner, ctx: StageContextImpl, segments: list[Asset],
                       music: Path | None, music_sha: str | None, total: float) -> Asset:
    """The cached sound track (or one an interrupted run left complete), else a new one mixed from the
    segments' WAVs (+ music), committed as its own asset before the join uses it."""
    project, folder, render = run.project, run.folder, run.settings.render
    input_hash = recipes.film_audio_hash(project, segments, music_sha, render)
    old = project.render.audio
    if asset_valid(folder, old, input_hash):
        assert old is not None
        ctx.log("sound track unchanged: reused, the join is a stream copy")
        return old
    adopted = folder.records.adoptable("film", "audio", input_hash, folder.asset_ok)
    if adopted is not None:
        asset = adopted
    else:
        out = ctx.workdir / "audio.m4a"
        bed = MusicBed(music, project.music.volume_db, project.music.ducking) if music else None
        measured = await render_film_audio(
            [folder.resolve(s.meta["wav"]) for s in segments], out, workdir=ctx.workdir, music=bed,
            sample_rate=render.sample_rate, target_lufs=render.loudness_lufs, total_seconds=total,
            on_progress=lambda f: ctx.progress(0.9 * f, "sound track"))
        rel = folder.asset_relpath("film", "audio", input_hash, ".m4a")
        info = BackendInfo(name="ffmpeg", model="aac", lane="encode")
        asset = runner.make_asset(info, rel, sha256_file(out), "audio/mp4", input_hash, measured_lufs=measured)
        await finish_in_thread(folder.records.commit, "film", "audio", asset, [(out, rel)])
    project.render.audio = asset
    run.save_soon(then=lambda: runner.discard("film", "audio", old, asset))  # the old file goes once saved
    return asset


def _record_render(project: Project, final: Asset) -> None:
    """What the render pane shows, from the final asset (built, reused or adopted alike)."""
    srt = final.meta.get("srt")
    if srt:
        project.render.srt = Asset(path=srt, sha256=final.meta["srt_sha256"], media_type="application/x-subrip",
                                   backend="pysubs2", input_hash=final.input_hash, created_at=final.created_at)
    project.render.duration = final.meta.get("duration")
    project.render.rendered_at = final.created_at


async def join(run: RunContext, runner: StageRunner, segments: list[Asset]) -> Asset:
    project, folder, render = run.project, run.folder, run.settings.render
    music = music_file(project, folder)
    music_sha = sha256_file(music) if music else None
    input_hash = recipes.final_hash(project, segments, music_sha, render)
    info = BackendInfo(name="ffmpeg", model="concat", lane="encode")
    total = sum(float(s.meta["duration"]) for s in segments)

    async def build(ctx: StageContextImpl) -> Asset:
        sound = await _sound_track(run, runner, ctx, segments, music, music_sha, total)
        out = ctx.workdir / "final.mp4"
        await join_film([folder.resolve(s.path) for s in segments], folder.resolve(sound.path), out,
                        workdir=ctx.workdir, total_seconds=total,
                        on_progress=lambda f: ctx.progress(0.9 + 0.1 * f, "join"))
        media = probe(out)  # our own ffmpeg output: a probe suffices (providers' files get decoded)
        if not media.video or not media.audio:
            raise MediaError("the joined film is missing its video or audio stream")
        srt = ctx.workdir / "final.srt"
        write_srt(film_cues(segments), srt)
        return runner.make_asset(info, FINAL_MP4, ctx.place(out, FINAL_MP4), "video/mp4", input_hash,
                                 duration=round(media.duration, 3), measured_lufs=sound.meta.get("measured_lufs"),
                                 shots=len(segments), srt=FINAL_SRT, srt_sha256=ctx.place(srt, FINAL_SRT))

    final = await runner.run_stage(None, "final", project.render.state, input_hash, info, "encode", build)
    _record_render(project, final)
    return final
