"""`s2v serve`: the original Story2Video model service's HTTP API (same paths, same JSON fields, on
port 12345) as a fourth front end over the same engine, store and backends — plus what it lacked:
async operations with progress and events, idempotency by `operation_id`, persisted operations that
survive a restart, many stories sharing the per-provider lanes, authentication and path safety.

This package adds routes and schemas only; stories are opened and edited through `s2v_tui.workspace`
and rendered by `s2v_tui.engine`. It never imports Textual.
"""
