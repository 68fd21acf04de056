"""s2v: a terminal studio that turns a written story into a narrated video.

Kept free of eager imports so `s2v --run` and the engine load without the TUI.
"""

__version__ = "0.1.0"
