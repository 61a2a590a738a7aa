"""Refuse every non-loopback connection and DNS look-up, and remember each attempt.

Used two ways: the test session installs it in-process (tests/conftest.py), and
``python -m tests.netguard ATTEMPTS_FILE minsheng-args...`` runs the real ``minsheng`` CLI in
a fresh process with it installed, writing each attempt to ATTEMPTS_FILE as it happens (a
process stopped by a signal still leaves its record).
"""

from __future__ import annotations

import ipaddress
import socket
import sys

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

#: every refused attempt, also those a library swallowed in a background thread
ATTEMPTS: list[str] = []
_record_to: str | None = None


class NetworkBlocked(OSError):
    """Something tried to reach a non-loopback address."""


def allowed(address) -> bool:
    """True for unix sockets, loopback addresses and ``localhost``."""
    if isinstance(address, (str, bytes)):  # unix socket
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str):
    ATTEMPTS.append(what)
    if _record_to:
        with open(_record_to, "a", encoding="utf-8") as f:
            f.write(what + "\n")
    raise NetworkBlocked(f"tried to reach {what}")


def _guarded_connect(self, address):
    if not allowed(address):
        _refuse(repr(address))
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not allowed(address):
        _refuse(repr(address))
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost", "") and not allowed((name, 0)):
        _refuse(f"DNS lookup of {name}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install(record_to: str | None = None) -> None:
    """Patch the socket module; with ``record_to``, also append each attempt to that file."""
    global _record_to
    _record_to = record_to
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo


def uninstall() -> None:
    """Restore the socket module."""
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
    socket.getaddrinfo = _real_getaddrinfo


if __name__ == "__main__":
    install(sys.argv[1])
    from ui.cli import app

    app(sys.argv[2:], prog_name="minsheng")
