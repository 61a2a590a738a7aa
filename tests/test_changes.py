"""新旧对照: article-by-article comparison of a policy's versions, in the document service,
the API, the lookup and answers, over real regulations of ../shared/corpus-laws."""

import functools
import json
from datetime import date

from assistant.chain import Assistant
from assistant.core.versions import VersionGroups, cited_revisions
from ingest.changes import compare, split_articles
from tests.conftest import laws_path
from tests.test_api import _call

OLD = ("local", "上海", "上海市社会救助条例(2018-11-22).md")
NEW = ("local", "上海", "上海市社会救助条例(2024-12-31).md")


def test_the_shanghai_social_assistance_regulation_2018_to_2024_article_by_article():
    old, new = laws_path(*OLD).read_text("utf-8"), laws_path(*NEW).read_text("utf-8")
    assert len(split_articles(old)) == len(split_articles(new)) == 56
    changes = compare(old, new)
    counts = {s: sum(c.status == s for c in changes) for s in ("added", "removed", "changed", "unchanged")}
    assert counts == {"added": 0, "removed": 0, "changed": 14, "unchanged": 42}
    ninth = next(c for c in changes if c.new_label == "第九条")
    assert ninth.status == "changed" and ninth.old_label == "第九条"
    inserted = "".join(s.text for s in ninth.segments if s.op == "insert")
    deleted = "".join(s.text for s in ninth.segments if s.op == "delete")
    assert "生活保障边缘" in inserted and "收入困难" in deleted
    # The marked text, without what was deleted, is the new article exactly.
    assert "".join(s.text for s in ninth.segments if s.op != "delete") == ninth.new_text
    # Word by word, a replaced phrase reads as one phrase out and one in.
    from assistant.core.text import Tokenizer

    by_word = next(c for c in compare(old, new, Tokenizer().words) if c.new_label == "第九条")
    changed = [(s.op, s.text) for s in by_word.segments if s.op != "equal"]
    assert ("delete", "低收入") in changed and any(op == "insert" and "最低生活保障边缘家庭" in t for op, t in changed)
    assert "".join(s.text for s in by_word.segments if s.op != "delete") == by_word.new_text


def test_renumbered_and_moved_articles_are_paired_by_content():
    folder = laws_path("national", "社会法")
    old = (folder / "妇女权益保障法(2018-10-26).md").read_text("utf-8")
    new = (folder / "妇女权益保障法(2022-10-30).md").read_text("utf-8")
    changes = compare(old, new)
    renumbered = [c for c in changes if c.old_label and c.new_label and c.old_label != c.new_label]
    assert len(renumbered) > 20  # the 2022 revision grew from 61 to 86 articles
    # Every old article appears once, paired or removed; every new one once, paired or added.
    assert sorted(c.old_label for c in changes if c.old_label) == sorted(label for label, _ in split_articles(old))
    assert sorted(c.new_label for c in changes if c.new_label) == sorted(label for label, _ in split_articles(new))


def _doc_id(services, file_name):
    return services.store.first_metadata({"file_name": file_name})["doc_id"]


def test_document_service_compares_either_version_with_the_other(laws_services):
    old_id, new_id = _doc_id(laws_services, OLD[-1]), _doc_id(laws_services, NEW[-1])
    for doc_id in (old_id, new_id):
        comparison = laws_services.documents.changes(doc_id)
        assert (comparison.old["id"], comparison.new["id"]) == (old_id, new_id)
        assert comparison.counts()["changed"] == 14


def test_changes_api_and_page(web_url, web_services):
    old_id = _doc_id(web_services, OLD[-1])
    status, _, body = _call(web_url, f"/api/documents/{old_id}/changes")
    data = json.loads(body)
    assert status == 200 and data["counts"]["changed"] == 14 and data["new"]["date"] == "2024-12-31"
    status, headers, page = _call(web_url, f"/documents/{old_id}/changes")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<ins>" in page.decode() and "新旧对照" in page.decode()
    assert f'href="/documents/{old_id}"' in page.decode() and f'href="/documents/{data["new"]["id"]}"' in page.decode()
    single = _doc_id(web_services, "shiye_baoxian_jin.md")
    status, _, body = _call(web_url, f"/api/documents/{single}/changes")
    assert status == 404 and "no other version" in json.loads(body)["detail"]
    assert _call(web_url, "/api/documents/0000000000000000/changes")[0] == 404


def test_lookup_links_a_result_with_versions_to_its_comparison(laws_services):
    hits = laws_services.lookup.search("上海市社会救助条例 最低生活保障边缘家庭", k=5)
    shanghai = [h for h in hits if "社会救助条例" in h.chunk.title]
    assert shanghai and all(h.versions == 2 for h in shanghai)
    others = [h for h in hits if "社会救助条例" not in h.chunk.title]
    assert all(h.versions == 1 for h in others)


def test_an_answer_citing_a_policy_revised_within_a_year_says_so(laws_services):
    groups = VersionGroups(laws_services.searcher.keyword)

    def assistant(today):
        return Assistant(laws_services.searcher, laws_services.answerer, laws_services.assistant.rewrite, k=laws_services.settings.top_k,
                         revisions=functools.partial(cited_revisions, groups, today=today))

    question = "上海最低生活保障边缘家庭可以申请哪些救助"
    soon = assistant(date(2025, 6, 1)).ask(question)
    cited = {c.chunk.meta.file_name for c in soon.citations}
    assert NEW[-1] in cited, soon.text
    revision = next(r for r in soon.revisions if r["doc_id"] == _doc_id(laws_services, NEW[-1]))
    assert revision["on"] == "2024-12-31" and revision["cited"] == "new"
    assert f"/documents/{revision['doc_id']}/changes" in laws_services.lookup.ticket_note(soon)
    assert soon.to_dict()["revisions"][0]["changes_url"].endswith("/changes")
    later = assistant(date(2026, 6, 1)).ask(question)
    assert later.text == soon.text and later.revisions == []
