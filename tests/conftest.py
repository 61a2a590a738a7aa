"""Shared fixtures: no network, the real default model, a real Chroma in a temp folder."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from tests import netguard

ROOT = Path(__file__).resolve().parent.parent
#: ../shared with any symlink resolved: ingest records files by their resolved path, and the
#: tests look chunks up by the paths they ingested.
SHARED = (ROOT.parent / "shared").resolve()
CORPUS = SHARED / "corpus"
LAWS = SHARED / "corpus-laws"
KNOWLEDGE = ROOT / "knowledge"


def laws_path(*parts: str) -> Path:
    """A file of ../shared/corpus-laws; skips with a clear reason when it is absent."""
    path = LAWS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared corpus-laws at {LAWS} (not present beside this checkout)")
    return path


@pytest.fixture(scope="session", autouse=True)
def block_network():
    """Every test runs with non-loopback connections and DNS look-ups refused; at the end of
    the session no attempt may have been made, not even one a library swallowed."""
    netguard.install()
    yield
    netguard.uninstall()
    assert not netguard.ATTEMPTS, f"network attempts during the tests: {netguard.ATTEMPTS}"


def corpus_path(*parts: str) -> Path:
    """A file of ../shared/corpus; skips with a clear reason when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared corpus at {CORPUS} (not present beside this checkout)")
    return path


@pytest.fixture(scope="session")
def settings_factory(tmp_path_factory):
    from assistant.core.settings import Settings

    def make(**overrides):
        data = tmp_path_factory.mktemp("data")
        return Settings(data_dir=data, **overrides)

    return make


@pytest.fixture(scope="session")
def embeddings(settings_factory):
    """The real default embedding model, built by the composition root and loaded once."""
    from ui.services import build_services

    emb = build_services(settings_factory()).embeddings
    emb.load()
    return emb


@pytest.fixture(scope="session")
def services(settings_factory, embeddings):
    """Services over a fresh temp index of knowledge/, sharing the session's model."""
    from ui.services import build_services

    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest([KNOWLEDGE])
    assert not report.errors, report.errors
    return svc


@functools.lru_cache(maxsize=1)
def shared_ocr():
    """One OCR engine for the session's indexes (it loads its models on first use)."""
    from assistant.core.settings import Settings
    from ingest.ocr import RapidOcr

    return RapidOcr(min_score=Settings().ocr_min_score)


@pytest.fixture
def fresh_services(settings_factory, embeddings):
    """Services over an empty temp index (function scope), sharing the session's model."""
    from ui.services import build_services

    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    return svc


#: Files of ../shared/corpus-laws that regulate the same topics in several regions, and one
#: regulation in two versions (上海市社会救助条例 2018 and 2024).
LAW_FILES = (
    "local/上海/上海市社会救助条例(2018-11-22).md",
    "local/上海/上海市社会救助条例(2024-12-31).md",
    "local/上海/上海市老年人权益保障条例(2016-01-29).md",
    "local/山东/山东省老年人权益保障条例(2014-09-26).md",
    "local/河南/河南省老年人权益保障条例(2018-07-30).md",
    "local/重庆/重庆市城乡居民最低生活保障条例(2016-03-31).md",
    "local/浙江/浙江省实施《消费者权益保护法》办法(2017-03-31).md",
    "national/社会法/老年人权益保障法(2018-12-29).md",
)


@pytest.fixture(scope="session")
def laws_services(settings_factory, embeddings):
    """Services over a temp index of LAW_FILES (read in place from ../shared/corpus-laws)."""
    from ui.services import build_services

    paths = [LAWS / name for name in LAW_FILES]
    missing = [p for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"needs ../shared/corpus-laws beside this checkout (missing {missing[0]})")
    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest(paths)
    assert not report.errors, report.errors
    assert report.count("added") == len(paths), report.summary()
    return svc


ADMIN = ("hotline-admin", "s3cret-for-tests")


@pytest.fixture(scope="session")
def web_services(settings_factory, embeddings):
    """Services over knowledge/ plus ../shared/corpus/bad/xss.html and the two versions of
    上海市社会救助条例 (for 新旧对照), with admin credentials."""
    from ui.services import build_services

    svc = build_services(settings_factory(admin_user=ADMIN[0], admin_password=ADMIN[1]), embeddings=embeddings, ocr=shared_ocr())
    versions = [laws_path("local", "上海", f"上海市社会救助条例({d}).md") for d in ("2018-11-22", "2024-12-31")]
    report = svc.ingestor.ingest([KNOWLEDGE, corpus_path("bad", "xss.html"), *versions])
    assert not report.errors, report.errors
    svc.warm_up()
    return svc


@pytest.fixture(scope="session")
def web_url(web_services):
    """The full app (API + page) served on loopback for the session."""
    from ui.background import BackgroundServer
    from ui.api import create_server

    with BackgroundServer(create_server(web_services)) as url:
        yield url


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server (`chroma run` from the chromadb package) on loopback, for one test
    module: yields (url, process); fails if it connected beyond loopback."""
    from tests.processes import free_port, remote_peers, wait_until_up

    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(proc, url + "/api/v2/heartbeat", folder / "server.log", 60)
    yield url, proc
    assert not remote_peers(proc.pid), "the Chroma server reached beyond loopback"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


SHANGHAI_2018 = LAWS / "local" / "上海" / "上海市社会救助条例(2018-11-22).md"


@pytest.fixture(scope="module")
def admin_app(settings_factory, embeddings):
    """(services, url) for one test module: knowledge/ and the 2018 and 2024 上海市社会救助条例,
    admin on, served on loopback; a module that changes its scripts or feedback leaves the
    session's shared app alone."""
    from ui.api import create_server
    from ui.background import BackgroundServer
    from ui.services import build_services

    svc = build_services(settings_factory(admin_user=ADMIN[0], admin_password=ADMIN[1]), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest([KNOWLEDGE, SHANGHAI_2018, SHANGHAI_2018.with_name("上海市社会救助条例(2024-12-31).md")])
    assert not report.errors, report.errors
    with BackgroundServer(create_server(svc)) as url:
        yield svc, url
