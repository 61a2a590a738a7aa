"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol.

No LLM can run here, so the replies are scripted: ``reply(messages) -> str`` decides each one.
The protocol is real: JSON request bodies, ``stream: true`` answered as server-sent events
(``data: {chunk}`` lines ending with ``data: [DONE]``), as vLLM, llama.cpp's server and
Ollama send them. Every request body is kept for the test to inspect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIStub:
    """``with OpenAIStub(reply) as stub:`` serves ``stub.base_url`` (``http://127.0.0.1:port/v1``)."""

    def __init__(self, reply: Callable[[list[dict[str, Any]]], str], piece: int = 4):
        self.reply = reply
        self.piece = piece
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                text = stub.reply(body["messages"])
                if body.get("stream"):
                    self._stream(body, text)
                else:
                    self._json(body, text)

            def _json(self, body: dict, text: str) -> None:
                payload = json.dumps({
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, body: dict, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + stub.piece] for i in range(0, len(text), stub.piece)]
                deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
                for n, delta in enumerate(deltas + [{}]):
                    chunk = {
                        "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if n == len(deltas) else None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "OpenAIStub":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
