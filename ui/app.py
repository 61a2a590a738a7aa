"""The Gradio page: resident chat, hotline lookup, knowledge admin. Thin: it receives the
services, renders, and holds no retrieval or answering logic.

``create_app(services)`` builds the page; ``launch(app, host, port)`` serves it alone, and
:func:`ui.api.create_server` mounts it next to the HTTP API. Document text is always escaped:
nothing in a document is ever rendered as HTML.
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path
from typing import Any

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
import gradio as gr

from assistant.filters import SearchFilters
from assistant.core.types import Answer

EXAMPLES = [
    "异地就医怎么结算",
    "失业了能领多长时间失业保险金",
    "广州低保标准是多少",
    "2024年青海省实施了多少项民生实事工程",
]

CSS = """
.gradio-container {max-width: 960px !important; margin: auto;}
mark {background: #ffe58a; padding: 0 1px;}
ins {background: #d4f7d4; text-decoration: none;}
del {background: #fbd3d3;}
.hit {border-bottom: 1px solid #ddd; padding: 6px 0;}
@media (max-width: 600px) { .gradio-container {padding: 4px !important;} }
"""


def render_answer(answer: Answer) -> str:
    """Markdown for one answer: a warning line when it gives another year's figure than the one
    asked (:attr:`Answer.neighbour`), the text, then a collapsible block per source with 发文机关,
    文号, 条款, page, date, the supporting sentence and a link to the original document.

    Document text is escaped, so nothing in a document is ever rendered as HTML.
    """
    parts = [html.escape(answer.text).replace("\n", "  \n")]
    if answer.partial:
        return parts[0] + " …"
    if answer.status == "neighbour":
        # Not the answer asked for, but the nearest the knowledge base holds: say so first.
        parts.insert(0, f"**⚠ 不是所问内容，仅供参考：{html.escape(answer.neighbour)}**\n\n")
    if answer.flagged:
        parts.append(f"\n\n（已删去{len(answer.flagged)}句无法在原文中核实的内容）")
    for r in answer.revisions:
        which = "所引为修订前的旧版本" if r["cited"] == "old" else "所引为修订后的新版本"
        parts.append(f'\n\n**ℹ 《{html.escape(r["title"])}》于{html.escape(r["on"])}修订，{which}。**'
                     f'<a href="/documents/{html.escape(r["doc_id"])}/changes" target="_blank" rel="noopener">查看新旧对照</a>')
    if answer.citations:
        parts.append("\n\n**来源**")
        for c in answer.citations:
            meta = c.chunk.meta
            rows = []
            for value, name in ((meta.issuer, "发文机关"), (meta.doc_number, "文号"), (meta.article, "条款"), (meta.heading, "章节"), (meta.date, "日期")):
                if value:
                    rows.append(f"{name}：{html.escape(value)}")
            if meta.effective_date:
                rows.append(f"施行日期：{html.escape(meta.effective_date)}")
            if meta.replaced_by:
                rows.append(html.escape(meta.replaced_note()))
            if meta.page:
                rows.append(f"页码：第{meta.page}页")
            rows.append(f"依据原文：<mark>{html.escape(c.quote)}</mark>")
            if meta.doc_id:
                anchor = f"#page={meta.page}" if meta.page else ""
                rows.append(f'<a href="/documents/{html.escape(meta.doc_id)}{anchor}" target="_blank" rel="noopener">查看原文：{html.escape(meta.file_name)}</a>')
            parts.append(
                f"<details><summary>[{c.n}] {html.escape(c.chunk.title)}</summary>" + "<br>".join(rows) + "</details>"
            )
    return "\n".join(parts)


def render_hits(hits: list) -> str:
    """HTML for lookup results: escaped text with the matched terms marked."""
    if not hits:
        return "<p>没有找到相关条文。可以换个说法，或放宽筛选条件。</p>"
    out = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.chunk.meta
        text = html.escape(hit.chunk.text)
        if hit.terms:
            pattern = re.compile("|".join(re.escape(html.escape(t)) for t in hit.terms))
            text = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", text)
        head = " ".join(html.escape(v) for v in (meta.doc_number, meta.article, meta.region, meta.date) if v)
        status = f"（{meta.replaced_note(named=False)}）" if meta.replaced_by else ""
        if hit.versions > 1 and meta.doc_id:
            status += (f' <a class="changes" href="/documents/{html.escape(meta.doc_id)}/changes" target="_blank" '
                       f'rel="noopener">新旧对照（{hit.versions}个版本）</a>')
        out.append(
            f'<div class="hit"><b>{n}. 《{html.escape(hit.chunk.title)}》</b> {head}{status}<br>'
            f'{text.replace(chr(10), "<br>")}</div>'
        )
    return "\n".join(out)


_STATUS = {"added": "新增", "removed": "删除", "changed": "修改", "unchanged": "未变"}


def render_changes(comparison: Any, page: bool = False, unchanged: bool = False) -> str:
    """HTML for a 新旧对照 (:class:`ingest.documents.Comparison`): the two versions, the counts,
    then each added, removed and changed article (``unchanged`` ones too when asked), new
    words in <ins>, dropped words in <del>. All text is escaped. ``page``: a whole HTML page."""
    old, new, counts = comparison.old, comparison.new, comparison.counts()
    e = html.escape
    out = [
        f"<h3>新旧对照：《{e(new['title'])}》</h3>",
        f"<p>旧版：{e(old['date'] or old['file_name'])}　→　新版：{e(new['date'] or new['file_name'])}<br>"
        f"新增 {counts['added']} 条，删除 {counts['removed']} 条，修改 {counts['changed']} 条，未变 {counts['unchanged']} 条</p>",
    ]
    for a in comparison.articles:
        if a.status == "unchanged" and not unchanged:
            continue
        label = a.new_label or a.old_label
        if a.old_label and a.new_label and a.old_label != a.new_label:
            label = f"{a.new_label}（原{a.old_label}）"
        if a.status == "changed":
            body = "".join(f"<{s.op[:3]}>{e(s.text)}</{s.op[:3]}>" if s.op != "equal" else e(s.text) for s in a.segments)
        elif a.status == "removed":
            body = f"<del>{e(a.old_text)}</del>"
        else:
            body = f"<ins>{e(a.new_text)}</ins>" if a.status == "added" else e(a.new_text)
        out.append(f'<div class="change change-{a.status}"><b>[{_STATUS[a.status]}] {e(label)}</b><br>{body.replace(chr(10), "<br>")}</div>')
    body = "\n".join(out)
    if not page:
        return body
    style = "ins{background:#d4f7d4;text-decoration:none} del{background:#fbd3d3} .change{border-bottom:1px solid #ddd;padding:6px 0}"
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>新旧对照</title><style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:auto;padding:8px}}{style}</style>"
            f"</head><body>{body}</body></html>")


def create_app(services: Any) -> gr.Blocks:
    """The page over ``services`` (``assistant``, ``lookup``, ``documents``, ``feedback``,
    ``settings`` as built by :func:`ui.services.build_services`)."""
    assistant = services.assistant
    settings = services.settings

    with gr.Blocks(title="民生政策问答") as app:
        gr.Markdown("## 民生政策问答\n回答只来自知识库中的政策原文，并列出出处；知识库没有的，会如实告知。")
        with gr.Tab("居民问答", id="chat"):
            _chat_tab(assistant, services.feedback, services.record)
        with gr.Tab("热线查询", id="lookup"):
            _lookup_tab(assistant, services.lookup)
        with gr.Tab("知识库管理", id="admin"):
            _admin_tab(services.documents, settings)
    return app


def _chat_tab(assistant: Any, feedback: Any, record: Any) -> None:
    chatbot = gr.Chatbot(height=480, sanitize_html=True, render_markdown=True, label="对话", elem_id="chatbot")

    def respond(message: str, history: list):
        # Gradio's history is a list of {"role", "content"} messages, oldest first. An LLM's
        # answer streams in; the checked final answer replaces the draft.
        for answer in assistant.stream(message, history=history or []):
            if not answer.partial:
                record(answer)
            yield render_answer(answer)

    gr.ChatInterface(
        fn=respond,
        chatbot=chatbot,
        examples=EXAMPLES,
        cache_examples=False,
        api_name="chat",
        textbox=gr.Textbox(placeholder="请输入您的问题，例如：异地就医怎么结算", label="问题", elem_id="question"),
    )
    with gr.Row():
        comment = gr.Textbox(label="意见（可选）", placeholder="这个回答哪里不对或不清楚？", scale=4, elem_id="comment")
        new = gr.Button("新对话", scale=1, elem_id="new-conversation")
    thanks = gr.Markdown("")

    def judged(data: gr.LikeData, history: list, note: str) -> tuple[str, str]:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        answer = history[index]["content"] if 0 <= index < len(history) else ""
        question = next((m["content"] for m in reversed(history[:index]) if m.get("role") == "user"), "")
        feedback.add(_plain(question), _plain(answer), 1 if data.liked else -1, note or "")
        return "谢谢您的反馈，我们会据此改进。", ""

    chatbot.like(judged, [chatbot, comment], [thanks, comment])
    new.click(lambda: ([], "", ""), None, [chatbot, comment, thanks])


def _plain(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def _lookup_tab(assistant: Any, lookup: Any) -> None:
    with gr.Row():
        query = gr.Textbox(label="查询", placeholder="关键词或问题，例如：失业保险金 领取期限", scale=4, elem_id="lookup-query")
        go = gr.Button("查询", variant="primary", scale=1, elem_id="lookup-go")
    with gr.Row():
        region = gr.Textbox(label="地区", placeholder="如：广州、上海（多个用、分隔）", elem_id="lookup-region")
        topic = gr.Textbox(label="主题", placeholder="如：住房、医疗", elem_id="lookup-topic")
        in_force = gr.Checkbox(label="只看现行有效", value=True, elem_id="lookup-in-force")
    with gr.Row():
        date_from = gr.Textbox(label="发布日期起", placeholder="2020-01-01", elem_id="lookup-from")
        date_to = gr.Textbox(label="发布日期止", placeholder="2026-12-31", elem_id="lookup-to")
    results = gr.HTML(elem_id="lookup-results")
    note_btn = gr.Button("生成工单摘要", elem_id="ticket-go")
    note = gr.Textbox(label="工单摘要（可复制）", lines=12, buttons=["copy"], elem_id="ticket-note")
    download = gr.File(label="下载工单摘要", elem_id="ticket-file")

    def filters(regions: str, topic_text: str, current: bool, start: str, end: str) -> SearchFilters:
        names = frozenset(r.strip() for r in re.split(r"[、,，\s]+", regions or "") if r.strip())
        return SearchFilters(regions=names, topic=(topic_text or "").strip(), in_force=current,
                             date_from=(start or "").strip(), date_to=(end or "").strip())

    def search(q: str, regions: str, topic_text: str, current: bool, start: str, end: str) -> str:
        return render_hits(lookup.search(q, filters(regions, topic_text, current, start, end), k=10))

    def ticket(q: str):
        if not (q or "").strip():
            return "请先输入问题。", None
        text = lookup.ticket_note(assistant.ask(q))
        path = Path(tempfile.mkdtemp(prefix="minsheng-note-")) / "工单摘要.txt"
        path.write_text(text, encoding="utf-8")
        return text, str(path)

    inputs = [query, region, topic, in_force, date_from, date_to]
    go.click(search, inputs, results, api_name="lookup")
    query.submit(search, inputs, results)
    note_btn.click(ticket, query, [note, download], api_name="ticket_note")


def _admin_tab(documents: Any, settings: Any) -> None:
    if not settings.admin_enabled:
        gr.Markdown("管理功能未开启：设置 `MINSHENG_ADMIN_USER` 和 `MINSHENG_ADMIN_PASSWORD` 后重启服务即可使用。")
        return
    logged_in = gr.State(False)
    with gr.Group(visible=True) as login_box:
        user = gr.Textbox(label="用户名", elem_id="admin-user")
        password = gr.Textbox(label="密码", type="password", elem_id="admin-password")
        login = gr.Button("登录", elem_id="admin-login")
        login_msg = gr.Markdown("")
    with gr.Group(visible=False) as panel:
        upload = gr.File(label="上传文件（txt、md、pdf、docx、html）", file_count="multiple", elem_id="admin-upload")
        upload_msg = gr.Markdown("", elem_id="admin-upload-result")
        table = gr.Dataframe(
            headers=["id", "标题", "文号", "日期", "地区", "状态", "分块数", "错误"], interactive=False, wrap=True, elem_id="admin-docs"
        )
        with gr.Row():
            doc_id = gr.Textbox(label="文档 id", elem_id="admin-doc-id")
            delete = gr.Button("删除", variant="stop", elem_id="admin-delete")
            reindex = gr.Button("重新索引", elem_id="admin-reindex")
        action_msg = gr.Markdown("")

    def rows() -> list[list[Any]]:
        return [[d.id, d.title, d.doc_number, d.date, d.region, d.status, d.chunks, d.error] for d in documents.list()]

    def check(name: str, secret: str):
        if not settings.admin_matches(name, secret):
            return False, gr.update(visible=True), gr.update(visible=False), "用户名或密码不对。", gr.update()
        return True, gr.update(visible=False), gr.update(visible=True), "", rows()

    def add(files: list | None, ok: bool, progress=gr.Progress()):
        if not ok:
            return "请先登录。", gr.update()
        lines = []
        for f in progress.tqdm(files or [], desc="正在索引"):
            path = Path(f if isinstance(f, str) else f.name)
            try:
                result = documents.upload(path.name, path.read_bytes())
                lines.append(f"- {html.escape(path.name)}：{result.status}，{result.chunks} 个分块 {html.escape(result.detail)}")
            except ValueError as exc:
                lines.append(f"- {html.escape(str(exc))}")
        return "\n".join(lines) or "没有选择文件。", rows()

    def act(kind: str):
        def run(target: str, ok: bool):
            if not ok:
                return "请先登录。", gr.update()
            try:
                if kind == "delete":
                    doc = documents.delete((target or "").strip())
                    return f"已删除：{html.escape(doc.title)}", rows()
                result = documents.reindex((target or "").strip())
                return f"已重新索引：{html.escape(result.path)}（{result.status}，{result.chunks} 个分块）", rows()
            except ValueError as exc:
                return html.escape(str(exc)), rows()

        return run

    login.click(check, [user, password], [logged_in, login_box, panel, login_msg, table])
    upload.upload(add, [upload, logged_in], [upload_msg, table])
    delete.click(act("delete"), [doc_id, logged_in], [action_msg, table])
    reindex.click(act("reindex"), [doc_id, logged_in], [action_msg, table])


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts: the stock theme fetches web fonts from
    the internet, which an intranet cannot reach."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(app: gr.Blocks, host: str, port: int) -> None:
    """Serve ``app`` alone on ``host:port``; no share link, no analytics."""
    app.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, share=False, show_error=True, css=CSS, theme=theme()
    )
