"""Shared fixtures: no network, the real default model, a real Chroma in a temp folder."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

import assistant  # noqa: F401 - offline switches

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
KNOWLEDGE = ROOT / "knowledge"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address) -> bool:
    if isinstance(address, (str, bytes)):  # unix socket
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_getaddrinfo = socket.getaddrinfo
#: every refused attempt, also those a library swallowed in a background thread
ATTEMPTS: list[str] = []


class NetworkBlocked(OSError):
    """A test tried to reach a non-loopback address."""


def _refuse(what: str):
    ATTEMPTS.append(what)
    raise NetworkBlocked(f"test tried to reach {what}")


def _guarded_connect(self, address):
    if not _allowed(address):
        _refuse(repr(address))
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _allowed(address):
        _refuse(repr(address))
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost", "") and not _allowed((name, 0)):
        _refuse(f"DNS lookup of {name}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def block_network():
    """Every test runs with non-loopback connections and DNS look-ups refused; at the end of
    the session no attempt may have been made, not even one a library swallowed."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
    socket.getaddrinfo = _real_getaddrinfo
    assert not ATTEMPTS, f"network attempts during the tests: {ATTEMPTS}"


def corpus_path(*parts: str) -> Path:
    """A file of ../shared/corpus; skips with a clear reason when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared corpus at {CORPUS} (not present beside this checkout)")
    return path


@pytest.fixture(scope="session")
def settings_factory(tmp_path_factory):
    from assistant.settings import Settings

    def make(**overrides):
        data = tmp_path_factory.mktemp("data")
        return Settings(data_dir=data, **overrides)

    return make


@pytest.fixture(scope="session")
def embeddings(settings_factory):
    """The real default embedding model, built by the composition root and loaded once."""
    from assistant.services import build_services

    emb = build_services(settings_factory()).embeddings
    emb.load()
    return emb


@pytest.fixture(scope="session")
def services(settings_factory, embeddings):
    """Services over a fresh temp index of knowledge/, sharing the session's model."""
    from assistant.services import build_services

    svc = build_services(settings_factory())
    _share_model(svc, embeddings)
    report = svc.ingestor.ingest([KNOWLEDGE])
    assert not report.errors, report.errors
    return svc


_OCR = None


def _share_model(svc, embeddings) -> None:
    """Give ``svc`` the session's loaded embedding model and OCR engine."""
    global _OCR
    svc.embeddings._impl = embeddings.load()
    if svc.ingestor.loader.ocr is not None:
        _OCR = _OCR or svc.ingestor.loader.ocr
        svc.ingestor.loader.ocr = _OCR


@pytest.fixture
def fresh_services(settings_factory, embeddings):
    """Services over an empty temp index (function scope), sharing the session's model."""
    from assistant.services import build_services

    svc = build_services(settings_factory())
    _share_model(svc, embeddings)
    return svc
