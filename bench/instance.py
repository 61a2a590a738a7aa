"""Memory and latency of one app instance when the index lives on a Chroma server, as the
deployment guide runs it (deploy/README.md).

Embedded Chroma keeps its HNSW index (about 1.7 kB a chunk) inside the serving process; with
a server that memory is the server's, shared by every instance. Given a data folder built
by ``bench.scale --keep DIR`` (or ``minsheng ingest``), this starts ``chroma run`` on its ``chroma``
folder, then measures an instance in a fresh process over it (the keyword index in the same
data folder, in step with the collection's journal): start to the first answer, warm
retrieval and answer p50/p95, and the peak RSS of the instance and of the server.

    .venv/bin/python -m bench.instance --data-dir DATA [--rounds 1] [--name province]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from bench.report import Report
from bench.scale import _probe_in_child


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
    parser.add_argument("--name", default="instance", help="report name: bench/results/instance-NAME.md")
    args = parser.parse_args(argv)
    data = args.data_dir.resolve()
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
            server_rss = _peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    report = Report(f"instance-{args.name}", f"One app instance over a Chroma server: {args.name}")
    out = report.line
    out(f"data folder: {data}")
    out(f"Chroma server up in {server_up:.1f} s; its peak RSS {server_rss:,.0f} MB")
    out("")
    out("| instance | start to first answer | restart | retrieval p50 / p95 ms | full answer p50 / p95 ms | peak RSS |")
    out("|---|---|---|---|---|---|")
    out(f"| minsheng (MINSHENG_CHROMA_URL) | {first['cold_s']:.1f} s | {again['cold_s']:.1f} s | "
        f"{first['retrieval_p50']:.0f} / {first['retrieval_p95']:.0f} | {first['answer_p50']:.0f} / {first['answer_p95']:.0f} | "
        f"{max(first['rss_mb'], again['rss_mb']):,.0f} MB |")
    out("")
    out(f"first retrieval after a one-document change: {first['after_change_ms']:,.0f} ms ({first['queries']} queries timed)")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
