"""Helpers shared by more than one test folder, one module per thing they hold.

- ``tokens``: ``Tokens``, minting bearer headers with an app's codec;
- ``wait``: ``wait_for``, the bounded wait on a condition;
- ``servers``: an app served by uvicorn on a loopback port (in the test's loop or in a thread);
- ``processes``: the environment for running ``python -m server`` in a subprocess;
- ``peers``: real aiortc peers (synthetic publishers, decoding subscribers);
- ``whip``: publishing synthetic media into a lesson over WHIP;
- ``lesson_channel``: a lesson-channel WebSocket client and its publish/subscribe steps;
- ``browser``: headless Chromium for the page tests;
- ``databases``: a real SQLite and PostgreSQL per store test, and PostgreSQL schemas;
- ``programme``: an east-west programme set up through the real API, on a settable clock;
- ``recordings``: recordings, lessons and media files seeded into a running app;
- ``lines``: a small two-station training line; ``client_document``: a page's line document.
- ``ledger``: ledger entry drafts (``earned``).
"""
