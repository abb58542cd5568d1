"""Errors raised by the media plane.

Hierarchy::

    MediaError
    ├── SdpError          the remote description is malformed or offers nothing usable
    ├── MediaClosedError  the object (router, transport, ...) is already closed
    └── CodecMismatch     a consumer cannot carry the producer's codec

The server maps these to HTTP status codes and WebSocket errors in one place.
"""

__all__ = ["CodecMismatch", "MediaClosedError", "MediaError", "SdpError"]


class MediaError(Exception):
    """Base of every error raised by ``media``."""


class SdpError(MediaError):
    """A session description could not be parsed or negotiated."""


class MediaClosedError(MediaError):
    """An operation was attempted on a closed media object."""


class CodecMismatch(MediaError):
    """The consumer did not negotiate the codec the producer sends."""
