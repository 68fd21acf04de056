"""ComfyUI backends: keyframes (T2I) and clips (I2V) on a pool of ComfyUI hosts.

`workflow` loads user workflow files and `mapping` their patch points (with transforms and constants);
`client` speaks one host's HTTP API; `events` bridges its WebSocket into asyncio; `precheck`,
`validation` and `gate` decide once per host whether it can run a workflow and word why not; `job`
runs one prompt on one host with deadlines and `follow` waits for it (moving it if it never starts);
`pool` picks hosts by queue length and says when one drops out; `backends` ties them to the stage
contracts; `inspect` is what `s2v doctor` asks each host.
"""
