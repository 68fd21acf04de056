"""OpenAI-compatible chat backends (DashScope compatible-mode, vLLM, DeepSeek, … selected by base URL)."""
