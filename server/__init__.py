"""The composition root and HTTP edge: settings, tokens, stores, routes and the app factory."""
