"""Personal data out of what is stored: 身份证号, mobile numbers and bank card numbers.

Residents type these into questions and comments ("我的身份证号是…，社保卡怎么办"). Logs and the
feedback store keep the text with each number replaced by a label. Patterns:

- 身份证号: 18 characters per GB 11643-1999 (6-digit area code, birth date 19xx/20xx, 3-digit
  sequence, check digit 0-9 or X); the date part must be a real month and day.
- Mobile: 11 digits starting 13-19 (the mainland numbering plan), optionally +86 / 86.
- Bank card: 16 to 19 digits, optionally grouped by spaces or hyphens, that pass the Luhn check
  (ISO/IEC 7812), so an ordinary long number (文号, amounts) is left alone.
"""

from __future__ import annotations

import logging
import re

ID_LABEL, MOBILE_LABEL, CARD_LABEL = "[身份证号]", "[手机号]", "[银行卡号]"

_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){15,18}(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(text: str) -> str:
    """``text`` with 身份证号, mobile and bank card numbers replaced by labels."""
    if not text:
        return text
    text = _ID.sub(ID_LABEL, text)
    text = _CARD.sub(lambda m: CARD_LABEL if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    return _MOBILE.sub(MOBILE_LABEL, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Add :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
