"""The deployment guide run as written, on loopback: one Chroma server (`chroma run`), an
ingest with `deploy/ingest.env`, two `minsheng serve` instances with `deploy/app.env`, and
nginx with the server block of `deploy/nginx.conf` in front of them."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, ROOT
from tests.processes import free_port, remote_peers, wait_until_up

DEPLOY = ROOT / "deploy"


def _env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a deploy/*.env file (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text("utf-8").splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "nginx is missing: `make test` installs it (Debian package nginx)"
    return found


def _nginx_conf(tmp: Path, listen: int, upstreams: list[int]) -> Path:
    """deploy/nginx.conf's upstream and server blocks, on loopback ports, inside a minimal
    nginx.conf whose files all live in ``tmp``; the access log names the instance used."""
    site = (DEPLOY / "nginx.conf").read_text("utf-8")
    assert "listen 80;" in site and site.count("server 127.0.0.1:786") == 2
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    site = site.replace("server 127.0.0.1:7861;", f"server 127.0.0.1:{upstreams[0]};")
    site = site.replace("server 127.0.0.1:7862;", f"server 127.0.0.1:{upstreams[1]};")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir()
    # Started by root, nginx's workers would switch to "nobody", who cannot enter the
    # test's folders; started by anyone else, they run as that user anyway.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\nhttp {{\n"
        f"    log_format instance '$remote_addr $upstream_addr $status $request_uri';\n"
        f"    access_log {tmp}/access.log instance;\n"
        f"    client_body_temp_path {tmp}/body;\n    proxy_temp_path {tmp}/proxy;\n"
        f"    fastcgi_temp_path {tmp}/fastcgi;\n    uwsgi_temp_path {tmp}/uwsgi;\n    scgi_temp_path {tmp}/scgi;\n"
        f"{site}\n}}\n",
        encoding="utf-8",
    )
    return conf


def _request(url: str, body: dict | bytes | None = None, source: str = "127.0.0.1",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body) of a GET (or a POST of ``body``) sent from loopback address ``source``."""
    host, port = url.split("/")[2].split(":")
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    conn = http.client.HTTPConnection(host, int(port), timeout=120, source_address=(source, 0))
    try:
        conn.request("POST" if data is not None else "GET", "/" + url.split("/", 3)[3], body=data,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def deployment(chroma_server, tmp_path_factory):
    """Ingest, two instances and nginx, as the guide sets them up; yields (proxy url, tmp)."""
    url, _ = chroma_server
    tmp = tmp_path_factory.mktemp("deploy")
    base = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    ingest_env = {**base, **_env_file(DEPLOY / "ingest.env"), "MINSHENG_CHROMA_URL": url,
                  "MINSHENG_DATA_DIR": str(tmp / "ingest")}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(KNOWLEDGE)], cwd=ROOT, env=ingest_env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    ports, servers, logs = [free_port(), free_port()], [], []
    for n, port in enumerate(ports):
        env = {**base, **_env_file(DEPLOY / "app.env"), "MINSHENG_CHROMA_URL": url,
               "MINSHENG_DATA_DIR": str(tmp / f"app-{n}"), "MINSHENG_PORT": str(port)}
        logs.append(open(tmp / f"app-{n}.log", "w", encoding="utf-8"))
        servers.append(subprocess.Popen([sys.executable, "-m", "ui.cli", "serve"], cwd=ROOT, env=env,
                                        stdout=logs[-1], stderr=subprocess.STDOUT))
    listen = free_port()
    nginx = subprocess.Popen([_nginx(), "-p", str(tmp), "-c", str(_nginx_conf(tmp, listen, ports)), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=open(tmp / "nginx.out", "w"))
    try:
        for n, (server, port) in enumerate(zip(servers, ports)):
            wait_until_up(server, f"http://127.0.0.1:{port}/api/health", tmp / f"app-{n}.log", 300)
        wait_until_up(nginx, f"http://127.0.0.1:{listen}/api/health", tmp / "error.log", 30)
        yield f"http://127.0.0.1:{listen}", tmp, servers
    finally:
        for proc in (nginx, *servers):
            proc.terminate()
        for proc in (nginx, *servers):
            proc.wait(timeout=60)
        for log in logs:
            log.close()


def test_answers_come_through_the_proxy_from_both_instances(deployment):
    proxy, tmp, servers = deployment
    status, body = _request(proxy + "/api/health")
    assert status == 200 and json.loads(body)["chunks"] > 0
    status, body = _request(proxy + "/api/ask", {"question": "异地就医怎么结算"})
    answer = json.loads(body)
    assert status == 200 and not answer["refused"] and answer["citations"]
    # Clients from many addresses: each keeps to one instance (the chat page's queue
    # session needs that), and between them they use both.
    for n in range(2, 26):
        for _ in range(2):
            assert _request(proxy + "/api/health", source=f"127.0.0.{n}")[0] == 200
    used: dict[str, set[str]] = {}
    for line in (tmp / "access.log").read_text().splitlines():
        client, upstream, status, uri = line.split(" ", 3)
        if uri == "/api/health" and client != "127.0.0.1":
            used.setdefault(client, set()).add(upstream)
    assert len(used) == 24 and all(len(ups) == 1 for ups in used.values())
    assert len(set().union(*used.values())) == 2
    for server in servers:
        assert not remote_peers(server.pid), "an app instance reached beyond loopback"


def test_both_instances_record_refusals_in_the_shared_server(deployment, chroma_server):
    """The guide's app.env sets MINSHENG_FEEDBACK_SHARED, so the knowledge gaps of every
    instance are in one place: the Chroma server's minsheng_feedback collection."""
    from assistant.core.store import open_client
    from assistant.feedback import SharedFeedbackStore

    proxy, tmp, _ = deployment
    asked = [f"去{country}旅游的签证怎么办理" for country in ("美国", "日本", "英国", "法国", "德国", "泰国", "韩国", "澳大利亚")]
    for n, question in enumerate(asked):
        status, body = _request(proxy + "/api/ask", {"question": question}, source=f"127.0.1.{n + 1}")
        assert status == 200 and json.loads(body)["refused"], question
    upstreams = {line.split(" ", 3)[1] for line in (tmp / "access.log").read_text().splitlines()
                 if line.split(" ", 3)[3] == "/api/ask" and line.startswith("127.0.1.")}
    assert len(upstreams) == 2, "both instances answered"
    shared = SharedFeedbackStore(open_client(url=chroma_server[0]), "minsheng_feedback", embed_query=None)
    recorded = [r["question"] for r in shared.unanswered() if r["kind"] == "refused"]
    assert sorted(recorded) == sorted(asked)


def test_streams_uploads_and_the_admin_api_through_the_proxy(deployment):
    proxy, _, _ = deployment
    request = {"model": "minsheng", "stream": True, "messages": [{"role": "user", "content": "失业保险金能领多久"}]}
    status, body = _request(proxy + "/v1/chat/completions", request)
    events = [line for line in body.decode("utf-8").splitlines() if line.startswith("data: ")]
    assert status == 200 and events[-1] == "data: [DONE]" and len(events) > 3
    text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert "来源" in text
    # nginx's default body limit is 1 MB; the guide's allows the app's 50 MB uploads.
    boundary = "minsheng-test"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n"
              f"Content-Type: text/plain\r\n\r\n").encode() + b"x" * (5 * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    status, body = _request(proxy + "/gradio_api/upload", upload,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, body[:300]
    # Only the ingest machine changes the index: the proxy refuses the document API.
    assert _request(proxy + "/api/documents")[0] == 403
