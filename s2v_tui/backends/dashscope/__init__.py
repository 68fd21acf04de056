"""DashScope (Alibaba Cloud Model Studio) backends: Qwen storyboards, qwen-image/wan keyframes, Wan clips,
CosyVoice narration. Shared endpoints, key handling and error mapping live in `client.py`."""
