"""Pure data: pydantic models for projects, shots, assets, events and errors. No I/O here."""
