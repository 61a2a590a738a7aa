"""Memory and latency of one app instance when the index lives on a Chroma server, as the
deployment guide runs it (deploy/README.md).

Embedded Chroma keeps its HNSW index (about 1.7 kB a chunk) inside the serving process; with
a server that memory is the server's, shared by every instance. Given a data folder built
by ``bench.scale --keep DIR`` (or ``minsheng ingest``), this starts ``chroma run`` on its ``chroma``
folder, then measures an instance in a fresh process over it (the keyword index in the same
data folder, in step with the collection's journal): start to the first answer, warm
retrieval and answer p50/p95, and the peak RSS of the instance and of the server.

It then times how soon one instance finds a document another instance has just ingested:
a follower process (its own copy of the keyword index, as a second instance keeps one)
searches for a phrase only the new document holds, every ``POLL_SECONDS``, while a writer
process ingests it through the same server; the figure is the time from the writer's
ingest returning to the follower's first search that returns the document.

    .venv/bin/python -m bench.instance --data-dir DATA [--rounds 1] [--follow 3] [--name province]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from bench.report import Report
from bench.scale import _pct, _probe_in_child

#: How often the follower searches while it waits for the new document (seconds).
POLL_SECONDS = 0.05


def _follow_text(n: int) -> tuple[str, str]:
    """A new document for round ``n`` and the phrase that only it holds."""
    phrase = f"跟随检验第{n}号专用术语甲乙丙"
    return phrase, (f"# 关于跟随检验第{n}号事项的通知\n\n"
                    f"第一条 为检验新文件在各实例间的可见时间，制定本通知。{phrase}适用于本通知所称情形。\n\n"
                    "第二条 本通知自印发之日起施行。\n")


def _watch(data: Path, rounds: int) -> int:
    """Follower: after its first answer, search for each round's phrase until the document
    that holds it is returned; prints one JSON line per round with the wall-clock time found."""
    from assistant.core.settings import Settings
    from ui.services import build_services

    services = build_services(Settings(data_dir=data))
    services.assistant.ask("失业保险金怎么领取")
    print("ready", flush=True)
    for n in range(rounds):
        phrase, _ = _follow_text(n)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            hits = services.searcher.search(phrase, services.settings.top_k)
            if any(phrase in h.chunk.text for h in hits):
                print(json.dumps({"round": n, "found_at": time.time()}), flush=True)
                break
            time.sleep(POLL_SECONDS)
        else:
            print(json.dumps({"round": n, "found_at": None}), flush=True)
    return 0


def _write(data: Path, rounds: int) -> int:
    """Writer: for each round, wait for a line on stdin, ingest that round's document and print
    the wall-clock time its ingest returned; removes the documents at the end."""
    from assistant.core.settings import Settings
    from ui.services import build_services

    services = build_services(Settings(data_dir=data))
    services.embeddings.embed_query("预热")
    folder = data / "follow-docs"
    folder.mkdir(exist_ok=True)
    print("ready", flush=True)
    written = []
    for n in range(rounds):
        sys.stdin.readline()
        _, text = _follow_text(n)
        path = folder / f"follow-{n}.md"
        path.write_text(text, encoding="utf-8")
        started = time.time()
        services.ingestor.ingest([path])
        print(json.dumps({"round": n, "started_at": started, "written_at": time.time()}), flush=True)
        written.append(path)
    sys.stdin.readline()
    for path in written:
        services.ingestor.remove(str(path.resolve()))
    shutil.rmtree(folder)
    return 0


def _json_line(proc: subprocess.Popen) -> dict:
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{proc.args[-1]} child ended early (status {proc.wait()})")
        if line.startswith("{"):
            return json.loads(line)


def _wait_ready(proc: subprocess.Popen) -> None:
    while (line := proc.stdout.readline()) and line.strip() != "ready":
        pass
    if not line:
        raise RuntimeError(f"child ended before it was ready (status {proc.wait()})")


def follow(data: Path, url: str, rounds: int) -> list[tuple[float, float]]:
    """Per round, (seconds the writer's ingest took, seconds from its start to the follower
    finding the document); the follower keeps a copy of the keyword index (module docstring).
    Found before the ingest returned means the chunks were searchable before the ingest's
    last steps (version links, manifest) were done."""
    copy = data / "keyword-follower"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data / "keyword", copy)
    env = dict(os.environ, MINSHENG_CHROMA_URL=url)
    child = [sys.executable, "-m", "bench.instance", "--data-dir", str(data), "--rounds", str(rounds)]
    try:
        watcher = subprocess.Popen([*child, "--role", "watch"], env=dict(env, MINSHENG_KEYWORD_PATH=str(copy)),
                                   stdout=subprocess.PIPE, text=True)
        writer = subprocess.Popen([*child, "--role", "write"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        _wait_ready(watcher)
        _wait_ready(writer)
        delays = []
        for _ in range(rounds):
            writer.stdin.write("go\n")
            writer.stdin.flush()
            wrote = _json_line(writer)
            found = _json_line(watcher)
            took = wrote["written_at"] - wrote["started_at"]
            delays.append((took, float("inf") if found["found_at"] is None else found["found_at"] - wrote["started_at"]))
        writer.stdin.write("done\n")
        writer.stdin.flush()
        writer.wait(timeout=600)
        watcher.wait(timeout=60)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    return delays


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _wait_until_up(proc: subprocess.Popen, url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a built data folder (chroma/, keyword/, manifest)")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the team questions when timing queries")
    parser.add_argument("--follow", type=int, default=3, help="documents written by one instance and timed until another finds them")
    parser.add_argument("--name", default="instance", help="report name: bench/results/instance-NAME.md")
    parser.add_argument("--role", choices=["watch", "write"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = args.data_dir.resolve()
    if args.role:
        return (_watch if args.role == "watch" else _write)(data, args.rounds)
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    started = time.perf_counter()
    with open(data / "chroma-server.log", "w") as log:
        server = subprocess.Popen([str(chroma), "run", "--path", str(data / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(server, url + "/api/v2/heartbeat", 1800)
            server_up = time.perf_counter() - started
            env = dict(os.environ, MINSHENG_CHROMA_URL=url)
            first = _probe_in_child("minsheng", data, args.rounds, env=env)
            again = _probe_in_child("minsheng", data, 0, env=env)
            delays = follow(data, url, args.follow) if args.follow else []
            server_rss = _peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    report = Report(f"instance-{args.name}", f"One app instance over a Chroma server: {args.name}")
    out = report.line
    out(f"data folder: {data}")
    out(f"Chroma server up in {server_up:.1f} s; its peak RSS {server_rss:,.0f} MB")
    out("")
    out("| instance | start to first answer | restart | retrieval p50 / p95 ms | full answer p50 / p95 ms | peak RSS | of which, at the end: heap / mapped files |")
    out("|---|---|---|---|---|---|---|")
    out(f"| minsheng (MINSHENG_CHROMA_URL) | {first['cold_s']:.1f} s | {again['cold_s']:.1f} s | "
        f"{first['retrieval_p50']:.0f} / {first['retrieval_p95']:.0f} | {first['answer_p50']:.0f} / {first['answer_p95']:.0f} | "
        f"{max(first['rss_mb'], again['rss_mb']):,.0f} MB | {first.get('anon_mb', 0):,.0f} / {first.get('file_mb', 0):,.0f} MB |")
    out("")
    out(f"first retrieval after a one-document change: {first['after_change_ms']:,.0f} ms ({first['queries']} queries timed)")
    if delays:
        after = [max(0.0, found - took) for took, found in delays]
        out(f"a document ingested by another instance, found by this one (searching every {POLL_SECONDS * 1000:.0f} ms), "
            f"{len(delays)} documents: after the ingest returned, median {_pct(after, 50):.2f} s, worst {max(after):.2f} s; "
            f"from the ingest's start (ingest took {', '.join(f'{t:.2f}' for t, _ in delays)} s): "
            f"{', '.join(f'{f:.2f}' for _, f in delays)} s")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
