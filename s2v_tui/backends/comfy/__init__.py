"""ComfyUI backends: keyframes (T2I) and clips (I2V) on a pool of ComfyUI hosts.

`workflow` loads user workflow files and their patch-point mappings; `client` speaks one host's HTTP
API; `events` bridges its WebSocket into asyncio; `job` runs one prompt on one host with deadlines;
`pool` picks hosts and remembers which ones failed; `backends` ties them to the stage contracts.
"""
