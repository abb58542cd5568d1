"""HTTP routes. Each module exposes ``routes: list[BaseRoute]``; server.app assembles them."""
