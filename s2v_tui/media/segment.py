"""One shot's segment: picture fitted to the project format, narration, burned subtitles — one encode.

Every segment of a project is encoded with the same `EncodeSettings` (codec, preset, threads, size,
fps, timescale) and has an exact frame count, so the final join is a stream copy. The MP4 holds the
picture only; the same ffmpeg run writes the segment's audio as PCM WAV of exactly the same length:
the final mix concatenates those, which keeps sync sample-exact (joined AAC tracks drift by their
priming samples, offline-stack.md §6).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_graph

from s2v_tui.media.ffmpeg import ProgressCallback, compile_graph, run_ffmpeg
from s2v_tui.media.kenburns import MotionRenderer
from s2v_tui.media.loudness import apply_gain

MAX_SLOWDOWN = 1.35
"""A provider clip shorter than the narration is slowed down at most this much, then holds its last frame."""


@dataclass(frozen=True)
class EncodeSettings:
    width: int
    height: int
    fps: int
    preset: str = "veryfast"
    crf: int = 23
    threads: int = 1
    """x264 threads per segment (see `x264_threads`): fixed, so a machine makes the same bytes every time."""
    sample_rate: int = 44100

    def fingerprint(self) -> dict[str, Any]:
        """What the cache keys on: everything but the thread count, which only decides how a machine
        shares the work (a project moved to a machine with more cores is not re-encoded)."""
        settings = asdict(self)
        del settings["threads"]
        return settings

    def frames_for(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    def samples_for_frames(self, frames: int) -> int:
        return round(frames * self.sample_rate / self.fps)


def x264_threads(workers: int) -> int:
    """x264 threads per segment when `workers` segments encode side by side: the cores shared out.

    With one segment per core, one thread each spends the least CPU (measured 6–9% less than x264's
    automatic count, which also runs 3+ threads per encode and oversubscribes the cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, workers))


@dataclass(frozen=True)
class SegmentSource:
    """Either a clip file from a provider, or a Ken-Burns renderer (offline clips; it also burns the
    subtitles, so such a job has no `subtitles_ass`)."""

    clip: Path | None = None
    clip_duration: float = 0.0
    motion: MotionRenderer | None = None


@dataclass(frozen=True)
class SegmentJob:
    """Everything one segment encode needs."""

    source: SegmentSource
    voice_wav: Path | None
    subtitles_ass: str | None
    """A file name relative to ffmpeg's working directory (no filter-path escaping needed)."""
    fonts_dir: Path
    frames: int
    enc: EncodeSettings
    out_mp4: Path
    out_wav: Path
    gain: float | None = None
    """Loudness gain in dB applied to the narration (None: leave it)."""


def build_segment_argv(job: SegmentJob) -> list[str]:
    """The ffmpeg argv for one segment (pure; unit-tested)."""
    source, enc, frames = job.source, job.enc, job.frames
    seconds = frames / enc.fps
    samples = enc.samples_for_frames(frames)
    size = f"{enc.width}x{enc.height}"
    if source.motion is not None:
        video = ffmpeg_graph.input("pipe:", f="rawvideo", pix_fmt="yuv420p", s=size, framerate=enc.fps).video
        video = video.filter("setsar", 1)
    else:
        assert source.clip is not None
        video = ffmpeg_graph.input(str(source.clip)).video
        video = (video.filter("scale", enc.width, enc.height, force_original_aspect_ratio="increase",
                              flags="lanczos", out_color_matrix="bt601", out_range="tv")
                 .filter("crop", enc.width, enc.height).filter("setsar", 1))
        if 0 < source.clip_duration < seconds:
            video = video.filter("setpts", f"{min(seconds / source.clip_duration, MAX_SLOWDOWN):.4f}*PTS")
        video = (video.filter("fps", enc.fps)
                 .filter("tpad", stop_mode="clone", stop_duration=f"{seconds + 1:.3f}"))
    video = video.filter("trim", end_frame=frames).filter("setpts", "PTS-STARTPTS")
    if job.subtitles_ass:
        video = video.filter("ass", filename=job.subtitles_ass, fontsdir=str(job.fonts_dir))
    # Every segment is BT.601-matrix limited-range YUV (what the motion renderer and the clip scaler
    # produce) shown with BT.709 primaries and transfer; tagging it lets players convert back to the
    # colours we painted. The tags go on the frames: the encoder's own -color_* options lose to the
    # frames' "unknown" (ffmpeg 7), which left primaries and transfer untagged in every segment and film.
    video = video.filter("setparams", color_primaries="bt709", color_trc="bt709", colorspace="smpte170m",
                         range="tv").filter("format", "yuv420p")
    if job.voice_wav is not None:
        audio = ffmpeg_graph.input(str(job.voice_wav)).audio
    else:
        audio = ffmpeg_graph.input(f"anullsrc=r={enc.sample_rate}:cl=mono", f="lavfi").audio
    audio = apply_gain(audio.filter("aresample", enc.sample_rate), job.gain)
    audio = (audio.filter("aformat", sample_fmts="s16", channel_layouts="mono")
             .filter("apad", whole_len=samples).filter("atrim", end_sample=samples))
    # The MP4 carries the picture only: the film's sound track is mixed from the WAVs (an AAC track per
    # segment cost ~4% of the render and was never heard).
    mp4 = ffmpeg_graph.output(
        video, str(job.out_mp4), f="mp4",
        vcodec="libx264", preset=enc.preset, crf=enc.crf, threads=enc.threads, pix_fmt="yuv420p", r=enc.fps,
        colorspace="smpte170m", color_primaries="bt709", color_trc="bt709", color_range="tv",
        video_track_timescale=enc.fps * 512, movflags="+faststart",
    )
    wav = ffmpeg_graph.output(audio, str(job.out_wav), f="wav", acodec="pcm_s16le")
    # One filter thread too: the graph is light (no scaling for motion sources) and slice threads would
    # only compete with the other segment's encode.
    return compile_graph(ffmpeg_graph.merge_outputs(mp4, wav), extra_global=["-filter_complex_threads", "1"])


async def encode_segment(job: SegmentJob, *, workdir: Path, on_progress: ProgressCallback | None = None) -> None:
    """Encode one segment; offline motion frames are rendered in a thread straight into ffmpeg's stdin."""
    writer = job.source.motion.write_frames if job.source.motion is not None else None
    await run_ffmpeg(build_segment_argv(job), cwd=workdir, total_seconds=job.frames / job.enc.fps,
                     on_progress=on_progress, stdin_writer=writer, what="segment encode")
