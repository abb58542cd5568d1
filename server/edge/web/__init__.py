"""The web pages, served by the server itself from files inside the package (no build step).

``/`` lists the pages; each page is one HTML document that loads ES modules from ``/static/``:
``js/protocol.js`` speaks the lesson protocol (REST, the lesson WebSocket, WHIP/WHEP) for every
page, ``js/i18n.js`` holds the Chinese and English text, and ``js/session.js`` the sign-in (a token
from the link's fragment or pasted). Pages only render. See docs/web.md.
"""

from server.edge.web.pages import PAGES, routes

__all__ = ["PAGES", "routes"]
