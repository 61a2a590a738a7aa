"""Helpers for tests that start a real server in a child process on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, url: str, log: Path, seconds: float) -> None:
    """Poll ``url`` until it answers; fail with the child's log if it exits or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text("utf-8", errors="replace")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer within {seconds:.0f} s"
            time.sleep(0.5)


def remote_peers(pid: int) -> set[str]:
    """Non-loopback addresses the process's TCP/UDP sockets are connected to (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    peers = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            remote, inode = cols[2], cols[9]
            host = remote.split(":")[0]
            if inode in inodes and set(host) != {"0"} and host not in ("0100007F", "00000000000000000000000001000000"):
                peers.add(f"{table} {remote}")
    return peers
