"""The HTTP API against the running server on loopback, the OpenAI route through `openai`."""

import json
import urllib.error
import urllib.request
from base64 import b64encode

import pytest

from tests.conftest import ADMIN


def _call(url, path, body=None, method=None, auth=None, headers=None):
    data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data is not None else "GET"))
    if isinstance(body, (dict, list)):
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if auth:
        req.add_header("Authorization", "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_openapi_lists_the_routes(web_url):
    status, _, body = _call(web_url, "/openapi.json")
    paths = json.loads(body)["paths"]
    assert status == 200
    assert {"/api/ask", "/api/search", "/api/documents", "/api/documents/{doc_id}", "/v1/chat/completions"} <= set(paths)


def test_ask_says_whether_it_answers_refuses_or_gives_another_years_figure(web_url):
    answered = json.loads(_call(web_url, "/api/ask", {"question": "2024年青海省实施了多少项民生实事工程"})[2])
    assert answered["status"] == "answered" and "44项" in answered["answer"]
    neighbour = json.loads(_call(web_url, "/api/ask", {"question": "2030年青海省实施了多少项民生实事工程？"})[2])
    assert neighbour["status"] == "neighbour" and not neighbour["refused"], neighbour["answer"]
    assert "2030" in neighbour["neighbour"] and "2024" in neighbour["neighbour"] and "44项" in neighbour["answer"]
    refused = json.loads(_call(web_url, "/api/ask", {"question": "办理美国签证需要哪些材料"})[2])
    assert refused["status"] == "refused" and refused["refused"] and "12345" in refused["answer"]


def test_ask_returns_the_answer_sources_and_a_ticket_note(web_url):
    status, _, body = _call(web_url, "/api/ask", {"question": "异地就医怎么结算"})
    data = json.loads(body)
    assert status == 200 and not data["refused"] and "[1]" in data["answer"]
    assert data["citations"][0]["label"].startswith("《") and data["citations"][0]["quote"]
    assert "政策依据与条款" in data["ticket_note"]
    status, _, body = _call(web_url, "/api/ask", {"question": "美国签证怎么办理"})
    assert json.loads(body)["refused"]


def test_search_applies_filters_and_reports_matched_terms(web_url):
    status, _, body = _call(web_url, "/api/search", {"query": "失业保险金领取期限", "k": 5})
    results = json.loads(body)["results"]
    assert status == 200 and results and any("失业保险金" in r["terms"] for r in results)
    assert all(t in r["text"] for r in results for t in r["terms"])
    _, _, body = _call(web_url, "/api/search", {"query": "失业保险金", "regions": ["西藏"], "national": False})
    assert json.loads(body)["results"] == []


def test_document_routes_need_credentials_and_work_with_them(web_url, tmp_path):
    assert _call(web_url, "/api/documents")[0] == 401
    assert _call(web_url, "/api/documents", auth=("admin", "guess"))[0] == 401
    status, _, body = _call(web_url, "/api/documents", auth=ADMIN)
    docs = json.loads(body)["documents"]
    assert status == 200 and any(d["file_name"] == "xss.html" for d in docs)
    boundary = "minshengboundary"
    text = "---\ntitle: 测试办法\n---\n第一条 测试用的规定，申请人应当提交身份证明。\n".encode()
    payload = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/测试办法.md\"\r\n"
        f"Content-Type: text/markdown\r\n\r\n"
    ).encode() + text + f"\r\n--{boundary}--\r\n".encode()
    status, _, body = _call(web_url, "/api/documents", payload, auth=ADMIN,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    added = json.loads(body)
    assert status == 200 and added["status"] == "added" and "/uploads/" in added["path"] and "/etc/" not in added["path"]
    _, _, body = _call(web_url, "/api/documents", auth=ADMIN)
    doc = next(d for d in json.loads(body)["documents"] if d["title"] == "测试办法")
    assert doc["status"] == "indexed" and doc["chunks"] == 1 and added["id"] == doc["id"]
    status, _, body = _call(web_url, f"/api/documents/{doc['id']}/reindex", method="POST", auth=ADMIN)
    assert status == 200 and json.loads(body)["status"] == "added" and json.loads(body)["chunks"] == 1
    status, _, body = _call(web_url, f"/api/documents/{doc['id']}", method="DELETE", auth=ADMIN)
    assert status == 200 and json.loads(body)["deleted"]["title"] == "测试办法"
    assert _call(web_url, f"/api/documents/{doc['id']}", method="DELETE", auth=ADMIN)[0] == 404


def test_an_original_html_document_is_served_as_inert_text(web_url, web_services):
    doc = next(d for d in web_services.documents.list() if d.file_name == "xss.html")
    status, headers, body = _call(web_url, f"/documents/{doc.id}")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Security-Policy"] == "sandbox" and b"<script" in body.lower()


def test_openai_compatible_chat_through_the_openai_client(web_url):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=web_url + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["minsheng"]
    reply = client.chat.completions.create(model="minsheng", messages=[{"role": "user", "content": "异地就医怎么结算"}])
    content = reply.choices[0].message.content
    assert "[1]" in content and "来源" in content
    assert reply.model_extra["sources"][0]["label"].startswith("《")
    pieces = client.chat.completions.create(
        model="minsheng", stream=True,
        messages=[
            {"role": "user", "content": "广州公租房怎么申请？"},
            {"role": "assistant", "content": "……"},
            {"role": "user", "content": "那需要什么材料？"},
        ],
    )
    text = "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
    assert "来源" in text and "公租房" in text


def _chunked_post(url, path, pieces):
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    conn.request("POST", path, body=iter(pieces), headers={"Content-Type": "application/json"}, encode_chunked=True)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_oversized_bodies_are_refused_and_the_server_goes_on(web_url):
    huge = {"question": "异地就医" * 250_000}  # 1,000,000 characters, about 3 MB of JSON
    status, _, body = _call(web_url, "/api/ask", huge)
    assert status == 413 and "byte limit" in json.loads(body)["detail"]
    # Without Content-Length (chunked), the body is cut off at the limit too.
    status, body = _chunked_post(web_url, "/v1/chat/completions", [b'{"messages": [{"role": "user", "content": "'] + [b"x" * 65536] * 40 + [b'"}]}'])
    assert status == 413, body
    # A small chunked body still goes through, and a 100,000-character question gets an answer.
    status, body = _chunked_post(web_url, "/api/ask", [b'{"question": ', json.dumps("异地就医怎么结算").encode(), b"}"])
    assert status == 200 and json.loads(body)["citations"]
    status, _, body = _call(web_url, "/api/ask", {"question": "异地就医" * 25_000})
    assert status == 200 and "太长" in json.loads(body)["answer"]
    assert _call(web_url, "/api/health")[0] == 200
