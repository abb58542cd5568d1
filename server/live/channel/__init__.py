"""The lesson WebSocket channel: /ws/lessons/{lesson_id} (see docs/protocol.md)."""
