"""The project store: the only package that writes project.json."""
