"""The ingest manifest: unchanged files are not read, sidecars count, --prune, crash repair."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, corpus_path, shared_ocr


def _agree(svc) -> None:
    """Manifest and Chroma hold the same chunks, document by document, and no orphans."""
    assert svc.ingestor.problems() == []


def test_unchanged_files_are_not_even_read(fresh_services, tmp_path, monkeypatch):
    svc = fresh_services
    shutil.copytree(KNOWLEDGE, tmp_path / "k")
    first = svc.ingestor.ingest([tmp_path / "k"])
    assert first.count("added") == len(first.files)

    def refuse(*args, **kwargs):
        raise AssertionError("an unchanged file was loaded again")

    monkeypatch.setattr(svc.ingestor.loader, "load", refuse)
    again = svc.ingestor.ingest([tmp_path / "k"])
    assert again.count("unchanged") == len(first.files) and again.chunks_added == 0
    assert again.totals()["chunks"] == first.totals()["chunks"]
    _agree(svc)


def test_a_changed_sidecar_reindexes_with_the_new_metadata(fresh_services, tmp_path):
    svc = fresh_services
    doc = tmp_path / "notice.txt"
    shutil.copy(corpus_path("txt", "gz_changqi_huli_baoxian_2024.txt"), doc)
    sidecar = tmp_path / "SOURCES.tsv"
    sidecar.write_text("file\ttitle\tdoc_number\nnotice.txt\t长期护理保险办法\t穗医保规字〔2024〕1号\n", encoding="utf-8")
    assert svc.ingestor.ingest([tmp_path]).files[0].status == "added"
    sidecar.write_text("file\ttitle\tdoc_number\nnotice.txt\t长期护理保险试行办法\t穗医保规字〔2024〕1号\n", encoding="utf-8")
    report = svc.ingestor.ingest([tmp_path])
    assert [f.status for f in report.files] == ["updated"]
    assert {c.metadata["title"] for c in svc.store.all_chunks()} == {"长期护理保险试行办法"}
    _agree(svc)


def test_prune_removes_documents_whose_files_are_gone(fresh_services, tmp_path):
    svc = fresh_services
    for name in ("guangzhou_gongzufang.md", "shiye_baoxian_jin.md"):
        shutil.copy(KNOWLEDGE / name, tmp_path / name)
    svc.ingestor.ingest([tmp_path])
    gone = (tmp_path / "shiye_baoxian_jin.md").resolve()
    gone.unlink()
    kept = svc.ingestor.ingest([tmp_path])  # without --prune nothing is removed
    assert not kept.pruned and svc.store.ids_where({"source": str(gone)})
    report = svc.ingestor.ingest([tmp_path], prune=True)
    assert report.pruned == [str(gone)]
    assert not svc.store.ids_where({"source": str(gone)}) and svc.ingestor.manifest.get(str(gone)) is None
    _agree(svc)


def test_a_duplicate_is_indexed_once_its_original_is_pruned(fresh_services, tmp_path):
    svc = fresh_services
    shutil.copy(KNOWLEDGE / "guangzhou_gongzufang.md", tmp_path / "a.md")
    shutil.copy(KNOWLEDGE / "guangzhou_gongzufang.md", tmp_path / "b.md")
    first = svc.ingestor.ingest([tmp_path])
    assert [f.status for f in first.files] == ["added", "duplicate"]
    (tmp_path / "a.md").unlink()
    report = svc.ingestor.ingest([tmp_path], prune=True)
    assert [f.status for f in report.files] == ["added"] and report.files[0].path.endswith("b.md")
    _agree(svc)


def test_a_renamed_file_takes_over_from_its_old_name(fresh_services, tmp_path):
    svc = fresh_services
    shutil.copy(KNOWLEDGE / "guangzhou_gongzufang.md", tmp_path / "old.md")
    svc.ingestor.ingest([tmp_path])
    (tmp_path / "old.md").rename(tmp_path / "new.md")
    report = svc.ingestor.ingest([tmp_path])  # no --prune needed for a rename
    assert [f.status for f in report.files] == ["added"]
    assert {c.metadata["file_name"] for c in svc.store.all_chunks()} == {"new.md"}
    _agree(svc)


def test_an_unreadable_new_version_keeps_the_last_good_chunks(fresh_services, tmp_path):
    svc = fresh_services
    doc = tmp_path / "policy.docx"
    shutil.copy(corpus_path("docx", "law_canjiren_jiuye_tiaoli_2007.docx"), doc)
    added = svc.ingestor.ingest([doc]).files[0]
    doc.write_bytes(b"PK\x03\x04 broken")
    failed = svc.ingestor.ingest([doc]).files[0]
    assert failed.status == "error" and "not a valid DOCX" in failed.detail
    assert len(svc.store.ids_where({"source": str(doc.resolve())})) == added.chunks
    _agree(svc)


@pytest.mark.parametrize("crash_at", ["add", "delete", "mark_indexed"])
def test_a_crash_at_any_step_is_repaired_by_the_next_run(fresh_services, tmp_path, monkeypatch, crash_at):
    svc = fresh_services
    doc = tmp_path / "policy.md"
    shutil.copy(KNOWLEDGE / "guangzhou_gongzufang.md", doc)
    svc.ingestor.ingest([doc])
    doc.write_text(doc.read_text(encoding="utf-8") + "\n## 补充\n新增一段说明，用于检验崩溃恢复。\n", encoding="utf-8")

    class Crash(Exception):
        pass

    original_put = svc.ingestor.manifest.put

    def crash(*args, **kwargs):
        raise Crash(crash_at)

    if crash_at == "add":
        monkeypatch.setattr(svc.store, "add", crash)
    elif crash_at == "delete":
        monkeypatch.setattr(svc.store, "delete", crash)
    else:
        monkeypatch.setattr(
            svc.ingestor.manifest, "put", lambda rec: crash() if rec.status == "indexed" else original_put(rec)
        )
    with pytest.raises(Crash):
        svc.ingestor.ingest([doc])
    monkeypatch.undo()
    report = svc.ingestor.ingest([doc])
    assert report.recovered == [str(doc.resolve())]
    assert report.files[0].status in ("added", "updated", "unchanged")
    assert any("检验崩溃恢复" in c.text for c in svc.store.all_chunks())
    _agree(svc)


def test_sigkill_mid_ingest_then_a_normal_run_leaves_manifest_and_index_in_agreement(settings_factory, embeddings, tmp_path):
    """A real process killed with SIGKILL while it writes, then a normal run."""
    from ui.services import build_services

    settings = settings_factory()
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("law_shehui_jiuzhu_zanxing_banfa_2019.txt", "law_shiye_baoxian_tiaoli_1999.txt",
                 "law_canjiren_jiuye_tiaoli_2007.txt", "gz_gongzufang_guanli_banfa_2024.txt"):
        shutil.copy(corpus_path("txt", name), folder / name)
    env = dict(os.environ, MINSHENG_DATA_DIR=str(settings.data_dir), MINSHENG_EMBEDDING_CACHE="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", str(folder), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    manifest = settings.manifest_path
    deadline = time.monotonic() + 180
    killed_pending = False
    try:
        # kill as soon as a document is half written: its row says pending
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists():
                try:
                    with sqlite3.connect(manifest) as db:
                        n = db.execute("SELECT count(*) FROM documents WHERE status = 'pending'").fetchone()[0]
                except sqlite3.Error:
                    n = 0
                if n:
                    proc.send_signal(signal.SIGKILL)
                    killed_pending = True
                    break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert killed_pending, "the ingest finished before it could be killed"

    svc = build_services(settings, embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest([folder])
    assert report.recovered and not report.errors
    assert report.totals()["files"] == 4
    _agree(svc)
    assert {Path(r.source).name for r in svc.ingestor.manifest.all() if r.status == "indexed"} == {
        p.name for p in folder.iterdir()
    }


def test_removing_one_document_takes_its_chunks_and_row(fresh_services, tmp_path):
    svc = fresh_services
    for name in ("guangzhou_gongzufang.md", "shiye_baoxian_jin.md"):
        shutil.copy(KNOWLEDGE / name, tmp_path / name)
    svc.ingestor.ingest([tmp_path])
    source = str((tmp_path / "guangzhou_gongzufang.md").resolve())
    assert svc.ingestor.remove(source) is True
    assert not svc.store.ids_where({"source": source}) and svc.ingestor.manifest.get(source) is None
    assert svc.ingestor.remove(source) is False
    assert svc.store.count() > 0
    _agree(svc)


def test_the_same_text_in_traditional_characters_or_another_format_is_one_document(fresh_services):
    svc = fresh_services
    report = svc.ingestor.ingest([
        corpus_path("txt", "gz_shengyu_jintie_2025.txt"),
        corpus_path("bad", "traditional_chinese.txt"),
        corpus_path("txt", "law_shiye_baoxian_tiaoli_1999.txt"),
        corpus_path("pdf", "law_shiye_baoxian_tiaoli_1999.pdf"),
    ])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["traditional_chinese.txt"].status == "duplicate"
    assert "same text as gz_shengyu_jintie_2025.txt" in by_name["traditional_chinese.txt"].detail
    # the PDF, once cleaned, reads exactly like the text file
    assert by_name["law_shiye_baoxian_tiaoli_1999.pdf"].status == "duplicate"
    _agree(svc)
