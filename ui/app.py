"""The Gradio chat page: thin, it receives the assistant and only renders.

``create_app(assistant)`` builds the page; ``launch(app, host, port)`` serves it. No
retrieval or answering logic lives here.
"""

from __future__ import annotations

import html
from typing import Any

import assistant as _offline  # noqa: F401 - offline switches before gradio is imported
import gradio as gr

from assistant.types import Answer

EXAMPLES = [
    "异地就医怎么结算",
    "失业了能领多长时间失业保险金",
    "广州低保标准是多少",
    "2024年青海省实施了多少项民生实事工程",
]


def render_answer(answer: Answer) -> str:
    """Markdown for one answer: the text, then a collapsible block per source.

    Document text is escaped, so nothing in a document is ever rendered as HTML.
    """
    parts = [html.escape(answer.text).replace("\n", "  \n")]
    if answer.partial:
        return parts[0] + " …"
    if answer.flagged:
        parts.append(f"\n\n（已删去{len(answer.flagged)}句无法在原文中核实的内容）")
    if answer.citations:
        parts.append("\n\n**来源**")
        for c in answer.citations:
            md = c.chunk.metadata
            rows = []
            for key, name in (("issuer", "发文机关"), ("doc_number", "文号"), ("article", "条款"), ("heading", "章节"), ("date", "日期")):
                if md.get(key):
                    rows.append(f"{name}：{html.escape(str(md[key]))}")
            if md.get("page"):
                rows.append(f"页码：第{md['page']}页")
            rows.append(f"文件：{html.escape(str(md.get('file_name', '')))}")
            rows.append(f"依据原文：“{html.escape(c.quote)}”")
            parts.append(
                f"<details><summary>[{c.n}] {html.escape(c.chunk.title)}</summary>"
                + "<br>".join(rows)
                + "</details>"
            )
    return "\n".join(parts)


def create_app(assistant: Any) -> gr.Blocks:
    """The chat page over ``assistant`` (anything with ``stream(question, history)`` yielding
    :class:`Answer` objects, the last one final)."""

    def respond(message: str, history: list):
        # Gradio's history is a list of {"role", "content"} messages, oldest first. An LLM's
        # answer streams in; the checked final answer replaces the draft.
        for answer in assistant.stream(message, history=history or []):
            yield render_answer(answer)

    with gr.Blocks(title="民生政策问答") as app:
        gr.Markdown("## 民生政策问答\n回答只来自知识库中的政策原文，并列出出处；知识库没有的，会如实告知。")
        gr.ChatInterface(
            fn=respond,
            examples=EXAMPLES,
            cache_examples=False,
            api_name="chat",
            chatbot=gr.Chatbot(height=520, sanitize_html=True, render_markdown=True, label="对话"),
            textbox=gr.Textbox(placeholder="请输入您的问题，例如：异地就医怎么结算", label="问题"),
        )
    return app


def launch(app: gr.Blocks, host: str, port: int) -> None:
    """Serve ``app`` on ``host:port``; no share link, no analytics."""
    app.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, share=False, show_error=True)
