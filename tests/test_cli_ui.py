"""The command line and the chat page over the same services."""

import json
import urllib.request

from typer.testing import CliRunner

from ui.cli import app
from assistant.core.types import Answer, Chunk, Citation
from ui.app import create_app, render_answer


def test_cli_ask_prints_answer_and_numbered_sources(services, monkeypatch):
    monkeypatch.setattr("ui.cli._services", lambda data_dir=None: services)
    result = CliRunner().invoke(app, ["ask", "异地就医怎么结算"])
    assert result.exit_code == 0, result.output
    assert "来源：" in result.stdout and "[1] 《" in result.stdout


def test_cli_ask_json(services, monkeypatch):
    monkeypatch.setattr("ui.cli._services", lambda data_dir=None: services)
    result = CliRunner().invoke(app, ["ask", "美国签证", "--json"])
    data = json.loads(result.stdout)
    assert data["refused"] is True and data["citations"] == []


def test_cli_ingest_reports_each_file_and_totals(fresh_services, monkeypatch, tmp_path):
    monkeypatch.setattr("ui.cli._services", lambda data_dir=None: fresh_services)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    good = tmp_path / "ok.md"
    good.write_text("---\ntitle: 测试\n---\n第一条 这是一条测试规定。\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--json"])
    data = json.loads(result.stdout)
    statuses = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in data["files"]}
    assert statuses == {"empty.txt": "skipped", "broken.docx": "error", "ok.md": "added"}
    details = [f["detail"] for f in data["files"] if f["status"] != "added"]
    assert all("\n" not in d and str(tmp_path) in d for d in details)
    assert data["totals"]["files"] == 3 and data["totals"]["chunks"] == 1 and data["totals"]["error"] == 1


def test_a_bad_setting_in_the_named_env_file_is_one_line_naming_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_ENV_FILE", "")  # restored after: the option sets it for the command
    bad = tmp_path / "app.env"
    bad.write_text("MINSHENG_TOP_K=0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--env-file", str(bad), "ask", "低保怎么申请", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: bad setting top_k: Input should be greater than or equal to 1"
    assert not (tmp_path / "data").exists(), "nothing was built from bad settings"


def test_rendered_answer_never_contains_document_html():
    chunk = Chunk("x", '<script>alert(1)</script><img src=x onerror="alert(2)">', {"title": "<b>t</b>", "file_name": "xss.html"})
    answer = Answer("q", "答复<script>[1]", [Citation(1, chunk, "<img src=x onerror=alert(3)>")])
    out = render_answer(answer)
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img" in out


def test_chat_page_serves_and_answers(services):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = create_app(services)
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        page = urllib.request.urlopen(demo.local_url, timeout=30).read().decode("utf-8")
        assert "民生政策问答" in page
        from gradio_client import Client

        client = Client(demo.local_url, verbose=False)
        reply = client.predict("异地就医怎么结算", api_name="/chat")
        assert "直接结算" in reply and "来源" in reply
    finally:
        demo.close()


def test_the_chat_page_says_first_when_an_answer_is_another_years(services):
    answer = services.assistant.ask("2030年青海省实施了多少项民生实事工程？")
    assert answer.status == "neighbour", answer.text
    shown = render_answer(answer)
    assert shown.startswith("**⚠ 不是所问内容") and "2030" in shown.split("\n")[0]
    plain = render_answer(services.assistant.ask("2024年青海省实施了多少项民生实事工程"))
    assert "⚠" not in plain
