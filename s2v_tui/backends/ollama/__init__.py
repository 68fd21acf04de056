"""Ollama backends (local LLM storyboards)."""
