"""Versions, validity and query understanding: rules checked on real regulations."""

from datetime import date

from assistant.core.text import Tokenizer
from assistant.query import contextualise, years_in
from assistant.core.versions import REPLACED_BY, in_force, replacements, version_key
from tests.conftest import KNOWLEDGE, laws_path

SH_2018_NAME = "上海市社会救助条例(2018-11-22).md"
SH_2024_NAME = "上海市社会救助条例(2024-12-31).md"


def test_version_keys_ignore_version_notes_and_the_state_prefix():
    assert version_key({"title": "中华人民共和国老年人权益保障法（2018修正）", "region": "全国"}) == version_key(
        {"title": "老年人权益保障法", "region": ""}
    )
    assert version_key({"title": "上海市社会救助条例", "region": "上海"}) != version_key(
        {"title": "上海市社会救助条例", "region": "北京"}
    )


def test_replacements_order_versions_by_date_and_leave_undated_pairs_alone():
    docs = {
        "a": {"title": "某条例", "date": "2018-11-22", "effective_date": "2019-05-01"},
        "b": {"title": "某条例（2024年修正）", "date": "2024-12-31", "effective_date": "2019-05-01"},
        "c": {"title": "另一规定"},
        "d": {"title": "另一规定"},
    }
    out = replacements(docs)
    assert out["a"] == {"replaced_by": "某条例（2024年修正）（2024-12-31）", "replaced_on": "2024-12-31"}
    assert out["b"][REPLACED_BY] == "" and out["c"][REPLACED_BY] == "" and out["d"][REPLACED_BY] == ""
    assert not in_force({**docs["a"], **out["a"]}) and in_force({**docs["a"], **out["a"]}, on=date(2020, 1, 1))
    assert not in_force({"date": "2030-01-01"}), "a text not yet in effect is not in force"


def test_time_words():
    today = date(2026, 11, 29)
    assert years_in("2025年的低保标准", today) == {2025}
    assert years_in("今年和去年的补贴", today) == {2026, 2025}
    assert years_in("低保标准", today) == set()


def test_a_follow_up_naming_a_region_drops_the_earlier_region():
    history = [{"role": "user", "content": "北京的养老设施被擅自改变用途怎么处罚？"}]
    query = contextualise("同样的情况如果发生在山东，怎么处罚？", history, tokenizer=Tokenizer())
    assert "山东" in query and "北京" not in query and "养老设施" in query
    assert contextualise("其中交通方面做了啥？", [{"role": "user", "content": "2024年青海实施了哪些民生实事？"}], tokenizer=Tokenizer()).startswith("2024年青海")


def test_removing_the_newer_version_puts_the_older_back_in_force(fresh_services):
    SH_2018, SH_2024 = laws_path("local", "上海", SH_2018_NAME), laws_path("local", "上海", SH_2024_NAME)
    svc = fresh_services
    report = svc.ingestor.ingest([SH_2018, SH_2024])
    assert report.count("added") == 2

    def replaced(path):
        return {c.metadata.get(REPLACED_BY, "") for c in svc.store.all_chunks() if c.metadata["source"] == str(path)}

    assert replaced(SH_2018) == {"上海市社会救助条例（2024-12-31）"} and replaced(SH_2024) == {""}
    assert svc.ingestor.remove(str(SH_2024))
    assert replaced(SH_2018) == {""}
    # Ingesting it again records the replacement again; an unchanged run writes nothing.
    svc.ingestor.ingest([SH_2018, SH_2024])
    assert replaced(SH_2018) == {"上海市社会救助条例（2024-12-31）"}
    version = svc.store.version
    svc.ingestor.ingest([SH_2018, SH_2024])
    assert svc.store.version == version


def test_a_changed_run_checks_versions_without_reading_every_chunk(fresh_services, tmp_path, monkeypatch):
    SH_2018, SH_2024 = laws_path("local", "上海", SH_2018_NAME), laws_path("local", "上海", SH_2024_NAME)
    svc = fresh_services
    svc.ingestor.ingest([SH_2018, KNOWLEDGE])
    scans = []
    real = svc.store.all_metadata
    monkeypatch.setattr(svc.store, "all_metadata", lambda *a, **kw: scans.append(kw.get("where")) or real(*a, **kw))
    report = svc.ingestor.ingest([SH_2024])  # the newer version arrives on its own
    assert report.count("added") == 1
    assert scans and all(where is not None for where in scans)  # one chunk per document, not all
    old = {c.metadata.get(REPLACED_BY, "") for c in svc.store.chunks_of([str(SH_2018)])}
    assert old == {"上海市社会救助条例（2024-12-31）"}
    assert {c.metadata.get(REPLACED_BY, "") for c in svc.store.chunks_of([str(SH_2024)])} == {""}
