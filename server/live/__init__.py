"""Live media of a lesson: WHIP/WHEP sessions and their limits, and the lesson channel
(``server.live.channel``: the WebSocket rooms, stage, chat and training commands)."""
