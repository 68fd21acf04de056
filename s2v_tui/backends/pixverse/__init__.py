"""PixVerse platform API backends (image-to-video)."""
