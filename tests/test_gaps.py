"""Knowledge gaps: refused questions and thumbs-down answers, redacted, grouped by similar
question with counts and dates, filtered, exported as CSV, behind the admin."""

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from tests.conftest import ADMIN
from tests.test_api import _call

VISA = ["美国签证怎么办理", "去美国的签证怎么申请", "办美国签证需要什么材料"]
DOGS = ["宠物狗怎么办狗证", "养狗要办证吗"]


def test_refusals_and_thumbs_down_are_grouped_redacted_and_exported(admin_app):
    svc, url = admin_app
    for question in VISA:
        status, _, body = _call(url, "/api/ask", {"question": question})
        assert json.loads(body)["refused"], question
    # Through the OpenAI route too; personal data is redacted before it is stored.
    _call(url, "/v1/chat/completions", {"messages": [{"role": "user", "content": DOGS[1]}]})
    assert json.loads(_call(url, "/api/ask", {"question": "我叫王建国，电话13912345678，座机021-64371234，护照丢了怎么补办"})[2])["refused"]
    # The same question with and without personal details is one gap.
    assert json.loads(_call(url, "/api/ask", {"question": "护照丢了怎么补办"})[2])["refused"]
    svc.feedback.add_refusal(DOGS[0], at=datetime.now(timezone.utc) - timedelta(days=40))
    svc.feedback.add("广州低保标准是多少", "……", -1, "没说清楚是哪一年的")
    answered = json.loads(_call(url, "/api/ask", {"question": "广州低保标准是多少"})[2])
    assert not answered["refused"]

    groups = json.loads(_call(url, "/api/gaps", auth=ADMIN)[2])["groups"]
    by_first = {g["questions"][0]: g for g in groups}
    visa = by_first[VISA[0]]
    assert visa["questions"] == VISA and visa["count"] == 3 and visa["refused"] == 3
    assert visa["topic"] == "其他", "far from every labelled question: outside the topics"
    dogs = next(g for g in groups if DOGS[0] in g["questions"])
    assert dogs["count"] == 2 and dogs["first_seen"] < dogs["last_seen"]
    assert dogs["questions"] == DOGS
    assert ["我叫[姓名]，电话[手机号]，座机[电话]，护照丢了怎么补办", "护照丢了怎么补办"] in [g["questions"] for g in groups]
    assert not any("13912345678" in q or "王建国" in q for g in groups for q in g["questions"])
    thumbs = by_first["广州低保标准是多少"]
    assert thumbs["thumbs_down"] == 1 and thumbs["comments"] == ["没说清楚是哪一年的"] and thumbs["topic"] == "社会救助"
    # Answered questions are not gaps; newest group first.
    assert sum(g["count"] for g in groups) == 3 + 2 + 2 + 1
    assert [g["last_seen"] for g in groups] == sorted((g["last_seen"] for g in groups), reverse=True)

    recent = json.loads(_call(url, f"/api/gaps?since={(datetime.now(timezone.utc) - timedelta(days=7)).date()}", auth=ADMIN)[2])
    assert next(g for g in recent["groups"] if DOGS[1] in g["questions"])["questions"] == [DOGS[1]]
    social = json.loads(_call(url, "/api/gaps?topic=" + quote("社会救助"), auth=ADMIN)[2])["groups"]
    assert [g["questions"][0] for g in social] == ["广州低保标准是多少"]
    listed = json.loads(_call(url, "/api/gaps", auth=ADMIN)[2])
    assert "社会救助" in listed["topics"] and "医疗保障" in listed["topics"] and "综述" not in listed["topics"]
    assert {g["topic"] for g in groups} <= set(listed["topics"])
    status, _, body = _call(url, "/api/gaps?topic=" + quote("社保"), auth=ADMIN)
    assert status == 400 and json.loads(body)["detail"].startswith("topic:")
    status, _, body = _call(url, "/api/gaps?since=" + quote("上周"), auth=ADMIN)
    assert status == 400 and json.loads(body)["detail"].startswith("since:")
    status, _, body = _call(url, "/api/gaps?since=2026-12-01&until=2026-11-01", auth=ADMIN)
    assert status == 400 and json.loads(body)["detail"].startswith("until:")

    status, headers, raw = _call(url, "/api/gaps.csv", auth=ADMIN)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["id", "主题", "次数"] and len(rows) == 1 + len(groups)
    assert "13912345678" not in raw.decode("utf-8-sig") and "64371234" not in raw.decode("utf-8-sig")
    assert _call(url, "/api/gaps")[0] == 401


def test_old_gaps_go_with_the_retention_period(fresh_services):
    store = fresh_services.feedback
    store.add_refusal("很久以前的问题", at=datetime.now(timezone.utc) - timedelta(days=store.retention_days + 1))
    store.add_refusal("新的问题")
    assert [r["question"] for r in store.unanswered()] == ["新的问题"]


def test_each_distinct_question_is_embedded_once(fresh_services):
    from assistant.gaps import Gaps

    store = fresh_services.feedback
    for question in ("美国签证怎么办理", "美国签证怎么办理", "去美国的签证怎么申请"):
        store.add_refusal(question)
    embedded = []

    def embed(text):
        embedded.append(text)
        return fresh_services.embeddings.embed_query(text)

    from assistant.topics import TopicClassifier

    classifier = TopicClassifier(fresh_services.embeddings.embed_query, examples=[("护照丢了怎么补办", "其他"), ("低保标准是多少", "社会救助")])
    gaps = Gaps(store, embed, classifier)
    first = gaps.groups()
    assert sorted(embedded) == sorted(["美国签证怎么办理", "去美国的签证怎么申请"])
    assert gaps.groups() == first and len(embedded) == 2  # the second grouping reads the stored vectors
    assert first[0].count == 3 and first[0].topic == "其他"


def test_the_csv_never_hands_a_spreadsheet_a_formula(fresh_services):
    from assistant.gaps import Gaps

    store = fresh_services.feedback
    store.add_refusal('=HYPERLINK("http://x","点我")')
    text = Gaps(store, fresh_services.embeddings.embed_query).csv()
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[7] == "'=HYPERLINK(\"http://x\",\"点我\")"
