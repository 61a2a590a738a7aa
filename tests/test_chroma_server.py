"""Two app processes' worth of services sharing one real Chroma server (`chroma run` from the
chromadb package, on loopback): what one ingests or deletes, the other finds or stops
finding, and the second re-reads only the documents that changed."""

import pytest

from tests.conftest import KNOWLEDGE, ROOT, shared_ocr
from tests.processes import remote_peers


@pytest.fixture(scope="module")
def two_instances(chroma_server, settings_factory, embeddings):
    from ui.services import build_services

    url, _ = chroma_server
    built = []
    # The deployment guide's settings, pointed at this server: the ingest machine's
    # (ingest.env) writes, an app instance's (app.env, without the LLM) reads.
    for env in ("ingest.env", "app.env"):
        svc = build_services(settings_factory(_env_file=ROOT / "deploy" / env, chroma_url=url,
                                              lexical_refresh_seconds=0, llm_base_url=None, host="127.0.0.1"), embeddings=embeddings, ocr=shared_ocr())
        assert svc.settings.chroma_collection == "minsheng"
        built.append(svc)
    assert built[1].settings.feedback_retention_days == 180 and built[0].settings.admin_user == "hotline-admin"
    return built


def test_what_one_instance_ingests_the_other_answers_from(two_instances, chroma_server):
    writer, reader = two_instances
    report = writer.ingestor.ingest([KNOWLEDGE])
    assert not report.errors and report.count("added") == 9
    assert reader.store.location.startswith("http://127.0.0.1:")
    answer = reader.assistant.ask("异地就医怎么结算")
    assert not answer.refused and answer.citations
    assert reader.store.count() == writer.store.count() == report.totals()["chunks"]
    assert not remote_peers(chroma_server[1].pid)


def test_a_new_and_a_deleted_document_reach_the_other_instance_document_by_document(two_instances, tmp_path):
    writer, reader = two_instances
    reader.searcher.search("异地就医", 4)  # the reader has its snapshot
    full_loads = []
    original = reader.store.ids_by_source
    reader.store.ids_by_source = lambda *a, **k: full_loads.append(1) or original(*a, **k)
    try:
        doc = tmp_path / "共享测试办法.md"
        doc.write_text("---\ntitle: 共享测试办法\n---\n第一条 鸬鹚补贴由渔业主管部门按季度发放。\n", encoding="utf-8")
        assert writer.ingestor.ingest([doc]).files[0].status == "added"
        hits = reader.searcher.search("鸬鹚补贴", 4)
        assert hits and hits[0].chunk.metadata["source"] == str(doc.resolve()) and hits[0].lexical_rank == 1
        assert reader.searcher.keyword.documents[str(doc.resolve())]["title"] == "共享测试办法"  # filters see it
        writer.ingestor.remove(str(doc.resolve()))
        hits = reader.searcher.search("鸬鹚补贴", 4)
        assert all(h.chunk.metadata["source"] != str(doc.resolve()) for h in hits)
        assert str(doc.resolve()) not in reader.searcher.keyword.documents
        assert "鸬鹚" in reader.tokenizer.query_terms("鸬鹚补贴") and not reader.searcher.keyword.search(["鸬鹚"], 4)
    finally:
        reader.store.ids_by_source = original
    assert full_loads == [], "the reader re-read the whole collection for a one-document change"


def test_a_write_the_journal_missed_is_caught_by_the_count_check(two_instances, monkeypatch):
    from assistant.core.types import Chunk

    writer, reader = two_instances
    reader.searcher.search("异地就医", 4)
    monkeypatch.setattr(type(reader.searcher.keyword), "COUNT_CHECK_SECONDS", 0.0)
    # A chunk written without its journal entry, as by a writer killed in between.
    chunk = Chunk("f" * 32, "第一条 鹈鹕养护补助按年度发放。", {"source": "/elsewhere/鹈鹕.md", "title": "鹈鹕办法", "chunk_index": 0})
    writer.store.collection.upsert(ids=[chunk.id], documents=[chunk.text], metadatas=[chunk.metadata],
                                   embeddings=writer.embeddings.embed_documents([chunk.context_text()]))
    try:
        reader.searcher.search("鹈鹕养护补助", 4)  # first disagreement: maybe an ingest under way
        hits = reader.searcher.search("鹈鹕养护补助", 4)  # the same journal point again: reload
        assert hits and hits[0].chunk.id == chunk.id
    finally:
        writer.store.delete([chunk.id])


def test_a_collection_rebuilt_by_another_process_is_followed(two_instances):
    writer, reader = two_instances
    assert reader.searcher.search("异地就医怎么结算", 4)
    report = writer.ingestor.ingest([KNOWLEDGE], rebuild=True)  # `minsheng ingest --rebuild`
    assert not report.errors and writer.store.count() > 0
    hits = reader.searcher.search("异地就医怎么结算", 4)  # the old collection is gone
    assert hits and len(reader.searcher.keyword) == writer.store.count()
    assert not reader.assistant.ask("异地就医怎么结算").refused


def test_instances_on_two_machines_record_one_set_of_gaps(chroma_server, settings_factory, embeddings):
    """With MINSHENG_FEEDBACK_SHARED (app.env), refusals and thumbs-down answers go to a
    collection of the shared server: what one instance records, another's admin tab groups,
    redacted, and old records are deleted after the retention period."""
    from datetime import datetime, timedelta, timezone

    from ui.services import build_services

    url, proc = chroma_server
    first, second = (build_services(settings_factory(_env_file=ROOT / "deploy" / "app.env", chroma_url=url, llm_base_url=None,
                                                     chroma_collection="gaps_test", lexical_refresh_seconds=0),
                                    embeddings=embeddings, ocr=shared_ocr()) for _ in range(2))
    assert first.settings.feedback_shared and first.settings.data_dir != second.settings.data_dir
    first.feedback.add_refusal("我叫王建国，电话13912345678，美国签证怎么办理")
    second.feedback.add_refusal("去美国的签证怎么申请")
    first.feedback.add("广州低保标准是多少", "……", -1, "没说清楚，回电021-64371234")
    second.feedback.add("异地就医怎么结算", "……", 1)
    first.feedback.add_refusal("宠物狗怎么办狗证", at=datetime.now(timezone.utc) - timedelta(days=400))  # past retention

    groups = second.gaps.groups()
    visa = next(g for g in groups if "去美国的签证怎么申请" in g.questions)
    assert visa.count == 2 and visa.refused == 2 and "我叫[姓名]，电话[手机号]，美国签证怎么办理" in visa.questions
    thumbs = next(g for g in groups if g.thumbs_down)
    assert thumbs.questions == ["广州低保标准是多少"] and thumbs.comments == ["没说清楚，回电[电话]"]
    assert sum(g.count for g in groups) == 3, "the thumbs-up is no gap, and the 400-day-old refusal was deleted"
    assert [r["rating"] for r in first.feedback.recent()] == [1, -1]
    assert "13912345678" not in str(second.feedback.collection.get(include=["documents", "metadatas"]))
    # Recorded questions bring their vectors: grouping again embeds nothing.
    calls = []
    original = second.gaps.embed_query
    second.gaps.embed_query = lambda text: calls.append(text) or original(text)
    assert second.gaps.groups() == groups and calls == []
    assert not remote_peers(proc.pid)
