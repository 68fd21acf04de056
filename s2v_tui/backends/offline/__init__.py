"""Offline backends: the default, needing nothing beyond pip (Pillow, espeak-ng, bundled ffmpeg)."""
