"""Answer scripts (答复口径): stored as documents, matched to residents' questions only while
in force, listed for review otherwise, and managed through the admin API. Real index, real
embedding model, real server on loopback."""

import json
from datetime import date, timedelta

import pytest

from assistant.core.scripts import AnswerScript, ScriptError
from tests.conftest import ADMIN, KNOWLEDGE, SHANGHAI_2018
from tests.test_api import _call

TODAY = date.today()


def _doc(svc, file_name):
    return svc.store.first_metadata({"file_name": file_name})["doc_id"]


def _dibao(svc, **changes):
    script = {
        "questions": ["广州低保标准是多少", "广州市最低生活保障标准每月多少钱"],
        "answer": "广州市2025年城乡最低生活保障标准为每人每月1309元，全市统一。",
        "basis": [{"doc_id": _doc(svc, "guangzhou_dibao_biaozhun_2025.md"), "article": ""}],
        "region": "广州", "approver": "市民政局 王科长",
        "approved_on": (TODAY - timedelta(days=30)).isoformat(), "valid_until": (TODAY + timedelta(days=180)).isoformat(),
    }
    return {**script, **changes}


def _post(url, body):
    status, _, raw = _call(url, "/api/scripts", body, auth=ADMIN)
    return status, json.loads(raw)


def test_a_script_in_force_answers_paraphrases_first_with_its_label_and_basis(admin_app):
    svc, url = admin_app
    status, body = _post(url, _dibao(svc))
    assert status == 200 and body["script"]["in_force"], body
    script_id = body["script"]["id"]
    try:
        for question in ("广州现在的低保标准是每个月多少钱？", "请问广州市城乡低保标准是多少"):
            answer = json.loads(_call(url, "/api/ask", {"question": question})[2])
            assert answer["script"] and answer["script"]["id"] == script_id, (question, answer["answer"])
            assert answer["answer"].startswith("【热线答复口径·广州】") and "王科长" in answer["answer"]
            assert "1309元" in answer["answer"] and "[1]" in answer["answer"]
            assert answer["citations"][0]["file_name"] == "guangzhou_dibao_biaozhun_2025.md"
            assert "1309元" in answer["citations"][0]["quote"], "the basis sentence that bears the answer"
            assert "热线答复口径：审核人市民政局 王科长" in answer["ticket_note"]
        # Near misses get the ordinary answer: another slot, another region, another year,
        # a narrower question.
        for question in ("广州低保怎么申请", "深圳低保标准是多少", "2019年广州低保标准是多少", "广州低保边缘家庭的认定标准是多少"):
            answer = json.loads(_call(url, "/api/ask", {"question": question})[2])
            assert answer["script"] is None, (question, answer["answer"])
        # A follow-up asking something else of the same topic is not the script's question.
        history = [{"role": "user", "content": "广州低保标准是多少"}, {"role": "assistant", "content": "每人每月1309元。"}]
        follow_up = json.loads(_call(url, "/api/ask", {"question": "那要去哪里申请？", "history": history})[2])
        assert follow_up["script"] is None, follow_up["answer"]
        # /api/search returns it with its state.
        results = json.loads(_call(url, "/api/search", {"query": "广州低保标准是多少", "k": 10})[2])["results"]
        assert any(r.get("script_in_force") is True and r["doc_type"] == "答复口径" for r in results)
        # The hotline lookup lists it, marked as a script in force.
        hits = svc.lookup.search("广州低保标准", k=10)
        mine = [h for h in hits if h.chunk.metadata.get("doc_type") == "答复口径"]
        assert mine and mine[0].script_problems == []
        from ui.app import render_hits

        assert "【答复口径 可用】" in render_hits(mine)
    finally:
        assert _call(url, f"/api/scripts/{script_id}", method="DELETE", auth=ADMIN)[0] == 200
    assert _call(url, f"/api/scripts/{script_id}", method="DELETE", auth=ADMIN)[0] == 404
    answer = json.loads(_call(url, "/api/ask", {"question": "广州低保标准是多少"})[2])
    assert answer["script"] is None and "1309" in answer["answer"]


def test_a_basis_without_articles_is_cited_by_its_sentence_that_bears_the_answer(admin_app):
    svc, url = admin_app
    status, body = _post(url, _dibao(svc, questions=["广州黄埔区农村特困人员基本生活标准是多少"],
                                     answer="黄埔区农村特困人员基本生活标准为每人每月2413元。"))
    assert status == 200, body
    try:
        answer = json.loads(_call(url, "/api/ask", {"question": "广州黄埔区农村特困人员基本生活标准是多少"})[2])
        assert answer["script"] and "2413" in answer["citations"][0]["quote"], answer["citations"]
    finally:
        _call(url, f"/api/scripts/{body['script']['id']}", method="DELETE", auth=ADMIN)


def test_a_narrower_script_does_not_answer_the_broader_question(admin_app):
    svc, url = admin_app
    narrow = _post(url, _dibao(svc, questions=["广州低保边缘家庭的认定标准是多少"],
                               answer="广州市低保边缘家庭认定标准为每人每月1963.5元，是低保标准的1.5倍。"))[1]["script"]
    try:
        assert json.loads(_call(url, "/api/ask", {"question": "广州低保边缘家庭认定标准是多少钱"})[2])["script"]["id"] == narrow["id"]
        assert json.loads(_call(url, "/api/ask", {"question": "广州低保标准是多少"})[2])["script"] is None
    finally:
        _call(url, f"/api/scripts/{narrow['id']}", method="DELETE", auth=ADMIN)


def test_expired_scripts_and_scripts_on_a_replaced_basis_are_not_used_and_listed_for_review(admin_app):
    svc, url = admin_app
    expired = _post(url, _dibao(svc, approved_on="2024-01-01", valid_until=(TODAY - timedelta(days=1)).isoformat()))[1]["script"]
    old_basis = _post(url, _dibao(svc, questions=["上海低保边缘家庭是什么"], region="上海", answer="见条例。",
                                  basis=[{"doc_id": _doc(svc, SHANGHAI_2018.name), "article": "第九条"}]))[1]["script"]
    try:
        assert not expired["in_force"] and expired["problems"][0].startswith("已过有效期")
        assert not old_basis["in_force"] and "已被" in old_basis["problems"][0]
        for question in ("广州低保标准是多少", "上海低保边缘家庭是什么"):
            assert json.loads(_call(url, "/api/ask", {"question": question})[2])["script"] is None
        listed = {s["id"]: s for s in json.loads(_call(url, "/api/scripts", auth=ADMIN)[2])["scripts"]}
        assert not listed[expired["id"]]["in_force"] and not listed[old_basis["id"]]["in_force"]
        assert {s.id for s, _ in svc.script_book.review(TODAY)} >= {expired["id"], old_basis["id"]}
    finally:
        for s in (expired, old_basis):
            _call(url, f"/api/scripts/{s['id']}", method="DELETE", auth=ADMIN)


@pytest.mark.parametrize("change, field", [
    ({"approver": ""}, "approver"),
    ({"questions": []}, "questions"),
    ({"questions": ["好"]}, "questions"),
    ({"basis": [{"doc_id": "0123456789abcdef"}]}, "basis[0].doc_id"),
    ({"basis": [{"doc_id": "not-an-id"}]}, "basis[0].doc_id"),
    ({"valid_until": "2020-01-01"}, "valid_until"),
    ({"approved_on": "昨天"}, "approved_on"),
])
def test_bad_scripts_get_400_naming_the_field(admin_app, change, field):
    svc, url = admin_app
    status, body = _post(url, _dibao(svc, **change))
    assert status == 400 and field in body["detail"], body


def test_one_question_gets_one_script_and_a_script_is_renewed_by_its_id(admin_app):
    svc, url = admin_app
    first = _post(url, _dibao(svc))[1]["script"]
    try:
        status, body = _post(url, _dibao(svc, valid_until=(TODAY + timedelta(days=400)).isoformat()))
        assert status == 400 and body["detail"].startswith(f"questions[0]: already in script {first['id']}"), body
        status, body = _post(url, _dibao(svc, id=first["id"], valid_until=(TODAY + timedelta(days=400)).isoformat()))
        assert status == 200 and body["script"]["id"] == first["id"]
        listed = json.loads(_call(url, "/api/scripts", auth=ADMIN)[2])["scripts"]
        assert [(s["id"], s["valid_until"]) for s in listed] == [(first["id"], (TODAY + timedelta(days=400)).isoformat())]
        assert sorted(p.name for p in svc.scripts.folder.iterdir()) == [f"{first['id']}.md"]
    finally:
        _call(url, f"/api/scripts/{first['id']}", method="DELETE", auth=ADMIN)


def test_a_body_that_is_not_a_script_object_gets_400(admin_app):
    _, url = admin_app
    for body, detail in ((b"{not json", "body: not JSON"), (b"[1, 2]", "body: must be a JSON object")):
        status, _, raw = _call(url, "/api/scripts", body, auth=ADMIN, headers={"Content-Type": "application/json"})
        assert status == 400 and json.loads(raw)["detail"].startswith(detail)


def test_a_basis_article_must_be_one_the_document_holds(admin_app):
    svc, url = admin_app
    shanghai = _doc(svc, SHANGHAI_2018.name)
    articles = json.loads(_call(url, f"/api/documents/{shanghai}/articles", auth=ADMIN)[2])["articles"]
    assert articles[0] == "第一条" and len(articles) == 56
    status, body = _post(url, _dibao(svc, basis=[{"doc_id": shanghai, "article": "第九十九条"}]))
    assert status == 400 and body["detail"].startswith("basis[0].article") and "第九十九条" in body["detail"]


def test_export_and_import_one_file(admin_app):
    svc, url = admin_app
    created = _post(url, _dibao(svc))[1]["script"]
    try:
        status, headers, exported = _call(url, "/api/scripts/export", auth=ADMIN)
        assert status == 200 and "scripts.jsonl" in headers["Content-Disposition"]
        lines = exported.decode().splitlines()
        assert [json.loads(line)["id"] for line in lines] == [created["id"]]
        _call(url, f"/api/scripts/{created['id']}", method="DELETE", auth=ADMIN)
        assert json.loads(_call(url, "/api/scripts", auth=ADMIN)[2])["scripts"] == []
        status, body = _upload(url, exported)
        assert status == 200 and body == {"imported": 1}
        assert [s["id"] for s in json.loads(_call(url, "/api/scripts", auth=ADMIN)[2])["scripts"]] == [created["id"]]
        bad = exported + json.dumps({**json.loads(lines[0]), "id": "0123456789ab", "approver": ""}, ensure_ascii=False).encode()
        status, body = _upload(url, bad)
        assert status == 400 and body["detail"].startswith("line 2: approver"), body
        assert status == 400 and _upload(url, b"{not json")[1]["detail"].startswith("line 1: not JSON")
    finally:
        _call(url, f"/api/scripts/{created['id']}", method="DELETE", auth=ADMIN)


def _upload(url, data: bytes):
    boundary = "minsheng-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scripts.jsonl\"\r\n"
            f"Content-Type: application/x-ndjson\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, _, raw = _call(url, "/api/scripts/import", body, auth=ADMIN,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return status, json.loads(raw)


def test_scripts_need_the_admin(admin_app):
    _, url = admin_app
    assert _call(url, "/api/scripts")[0] == 401
    assert _call(url, "/api/scripts", {"questions": ["x"]})[0] == 401


def test_scripts_survive_a_rebuild(fresh_services):
    svc = fresh_services
    svc.ingestor.ingest([KNOWLEDGE])
    saved = svc.scripts.save(_dibao(svc))
    svc.ingestor.ingest([KNOWLEDGE], rebuild=True)
    assert [s.id for s in svc.scripts.list()] == [saved.id]
    assert svc.assistant.ask("广州低保标准是多少").script["id"] == saved.id


def test_a_script_round_trips_through_its_file():
    script = AnswerScript.parse({"questions": ["异地就医怎么备案"], "answer": "可在穗好办办理。", "approver": "医保局",
                                 "basis": [{"doc_id": "0123456789abcdef", "article": "第三条"}],
                                 "approved_on": "2026-01-01", "valid_until": "2026-12-31"})
    import yaml

    text = script.to_markdown()
    head = yaml.safe_load(text.split("---")[1])
    assert head["doc_type"] == "答复口径" and AnswerScript.model_validate_json(head["script"]) == script
    with pytest.raises(ScriptError, match=r"^line 4: basis\[0\]\.article"):
        AnswerScript.parse({**script.model_dump(), "basis": [{"doc_id": "0123456789abcdef", "article": "三"}]}, where="line 4")


def test_the_script_evaluation_asks_through_the_product_and_leaves_the_index_as_it_was(admin_app):
    from eval.scripts import ScriptItem, run

    svc, _ = admin_app
    item = ScriptItem(
        id="x1", source="corpus-laws/local/上海/上海市社会救助条例(2024-12-31).md", article="第九条", region="上海",
        questions=["上海最低生活保障边缘家庭是什么", "上海低保边缘家庭指的是什么"],
        answer="上海的最低生活保障边缘家庭，是指不符合低保条件、但家庭收入和财产低于规定标准的家庭。",
        paraphrases=["上海的低保边缘家庭是指什么？"], near_misses=["上海低保边缘家庭可以申请哪些医疗救助？"],
    )
    missing = ScriptItem(**{**item.__dict__, "id": "x2", "source": "corpus/txt/不存在的文件.txt"})
    outcome = run(svc, [item, missing])
    assert outcome.skipped == ["x2: corpus/txt/不存在的文件.txt is not in the index"]
    assert [(r["kind"], r["used"] == r["own"]) for r in outcome.rows] == [("paraphrase", True), ("near_miss", False)]
    assert outcome.summary()["hit_rate"] == 1.0 and outcome.summary()["false_use"] == 0.0
    assert svc.scripts.list() == []
