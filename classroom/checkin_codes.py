"""Self check-in codes: six digits on the classroom screen, rotating, bound to lesson and classroom.

A code is an HMAC of (lesson, classroom, time step) under the server's secret, truncated to six
digits the way HOTP does (RFC 4226, section 5.3). A new code appears every ``step_s`` seconds; a
code is accepted during its own step and the next one, so it stays valid between one and two
steps (with the default 30 s step: about a minute). A code of another lesson or classroom, or one
older than that, is refused; the two refusals are told apart so a student knows to look again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from classroom.errors import ValidationError

__all__ = ["DIGITS", "STEP_S", "CheckinCode", "CheckinCodes", "CodeExpired", "CodeWrong"]

DIGITS = 6
STEP_S = 30
_EXPIRED_LOOKBACK = 20
"""How many steps back a code is recognised as "expired" rather than "wrong"."""


class CodeWrong(ValidationError):
    """The code is not this lesson's and classroom's."""


class CodeExpired(ValidationError):
    """The code was right a while ago and is no longer accepted."""


@dataclass(frozen=True)
class CheckinCode:
    code: str
    step: int
    issued_at: float
    valid_until: float


class CheckinCodes:
    """Issues and checks codes for one server secret."""

    def __init__(self, secret: bytes, step_s: int = STEP_S) -> None:
        if len(secret) < 16:
            raise ValueError("the check-in secret must be at least 16 bytes")
        if step_s <= 0:
            raise ValueError("step_s must be positive")
        self._key = hashlib.sha256(b"classroom-checkin-codes/v1" + secret).digest()
        self.step_s = step_s

    def current(self, lesson: str, classroom: str, now: float) -> CheckinCode:
        """The code to show on ``classroom``'s screen now."""
        step = int(now // self.step_s)
        return CheckinCode(
            code=self._code(lesson, classroom, step),
            step=step,
            issued_at=step * self.step_s,
            valid_until=(step + 2) * self.step_s,
        )

    def check(self, lesson: str, classroom: str, code: str, now: float) -> int:
        """The step the code belongs to; raises CodeWrong or CodeExpired."""
        if not isinstance(code, str) or len(code) != DIGITS or not code.isascii() or not code.isdigit():
            raise CodeWrong(f"a check-in code is {DIGITS} digits")
        step = int(now // self.step_s)
        for candidate in (step, step - 1):
            if hmac.compare_digest(self._code(lesson, classroom, candidate), code):
                return candidate
        for candidate in range(step - 2, step - 2 - _EXPIRED_LOOKBACK, -1):
            if hmac.compare_digest(self._code(lesson, classroom, candidate), code):
                raise CodeExpired("the check-in code has expired: enter the code now on the classroom screen")
        raise CodeWrong("the check-in code is not this classroom's code for this lesson")

    def _code(self, lesson: str, classroom: str, step: int) -> str:
        message = f"{lesson}\n{classroom}\n{step}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        offset = digest[-1] & 0x0F
        value = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
        return str(value % 10**DIGITS).zfill(DIGITS)
