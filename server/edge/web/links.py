"""Sign-in links: the page of a role, with the token in the URL fragment (browsers never send
the fragment to the server, so the token stays out of access logs and proxies)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from classroom.access import ANY_LESSON
from classroom.roles import Role
from server.edge.web.pages import page_for_role

__all__ = ["sign_in_link"]


def sign_in_link(base_url: str, role: Role, token: str, lesson: str = ANY_LESSON) -> str:
    """``{base}/{page}#token=...[&lesson=...]``; ValueError when the role has no page."""
    page = page_for_role(role.value)
    if page is None:
        raise ValueError(f"no page is served for the {role.value} role yet")
    fragment = {"token": token}
    if lesson != ANY_LESSON:
        fragment["lesson"] = lesson
    return f"{base_url.rstrip('/')}{page.path}#{urlencode(fragment, quote_via=quote)}"
