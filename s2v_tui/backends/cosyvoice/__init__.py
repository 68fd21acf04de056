"""Self-hosted CosyVoice HTTP TTS backend."""
