"""Credit amounts: kept as integer centi-credits (1 credit = 100), shown as exact decimal strings."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["CreditAmountError", "format_credits", "parse_credits"]

_TEXT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


class CreditAmountError(ValueError):
    """A credit amount that is not a number with at most two decimals; ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.problem = problem


def parse_credits(value: object, field: str = "credits") -> int:
    """A number or decimal string (``"1.5"``, ``2``) as centi-credits; raises CreditAmountError.

    Strings are plain decimals (no sign, exponent or separators); floats must be exact to the
    hundredth (``0.1 + 0.2`` is refused). Ranges are the caller's.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CreditAmountError(field, "must be a decimal string or a number")
    text = value.strip() if isinstance(value, str) else str(value)
    if isinstance(value, str) and not _TEXT.fullmatch(text):
        raise CreditAmountError(field, "must be a decimal like 1.5")
    try:
        centi = Decimal(text) * 100
    except InvalidOperation:
        raise CreditAmountError(field, "must be a finite number") from None
    if not centi.is_finite():
        raise CreditAmountError(field, "must be a finite number")
    if centi != centi.to_integral_value():
        raise CreditAmountError(field, "must have at most 2 decimals")
    return int(centi)


def format_credits(centi: int) -> str:
    """``150`` -> ``"1.50"``, ``-5`` -> ``"-0.05"``."""
    sign = "-" if centi < 0 else ""
    whole, cents = divmod(abs(centi), 100)
    return f"{sign}{whole}.{cents:02d}"
