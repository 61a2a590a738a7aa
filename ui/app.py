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
from datetime import date
from pathlib import Path
from typing import Any

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
import gradio as gr

from assistant.filters import SearchFilters
from assistant.lookup import revision_text
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
/* Wide tables scroll inside their own box instead of widening the page (a table is as wide
   as its columns need, and that width would otherwise set the page's). */
#admin-panel .virtual-table-viewport {max-width: calc(100vw - 72px);}
#scripts-panel .virtual-table-viewport, #gaps-panel .virtual-table-viewport {max-width: calc(100vw - 104px);}
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
        parts.append(f'\n\n**ℹ {html.escape(revision_text(r))}。**'
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
        if hit.script_problems is not None:
            state = "可用" if not hit.script_problems else "待复核：" + "；".join(hit.script_problems)
            status += f' <span class="script">【答复口径 {html.escape(state)}】</span>'
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
        f'<p>旧版：<a href="/documents/{e(old["id"])}" target="_blank" rel="noopener">{e(old["date"] or old["file_name"])}</a>'
        f'　→　新版：<a href="/documents/{e(new["id"])}" target="_blank" rel="noopener">{e(new["date"] or new["file_name"])}</a><br>'

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
            _admin_tab(services, settings)
    return app


def _chat_tab(assistant: Any, feedback: Any, record: Any) -> None:
    chatbot = gr.Chatbot(height=480, sanitize_html=True, render_markdown=True, label="对话", elem_id="chatbot")
    # On a phone there is no Enter key to rely on: a labelled button sends.
    question = gr.Textbox(placeholder="请输入您的问题，例如：异地就医怎么结算", label="问题", elem_id="question", submit_btn="发送")

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
        textbox=question,
    )
    # The chat's own examples vanish after the first answer; these stay under the box.
    gr.Examples(EXAMPLES, inputs=[question], label="可以这样问", elem_id="examples-below")
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


def _admin_tab(services: Any, settings: Any) -> None:
    if not settings.admin_enabled:
        gr.Markdown("管理功能未开启：设置 `MINSHENG_ADMIN_USER` 和 `MINSHENG_ADMIN_PASSWORD` 后重启服务即可使用。")
        return
    logged_in = gr.State(False)
    with gr.Group(visible=True) as login_box:
        user = gr.Textbox(label="用户名", elem_id="admin-user")
        password = gr.Textbox(label="密码", type="password", elem_id="admin-password")
        login = gr.Button("登录", elem_id="admin-login")
        login_msg = gr.Markdown("")
    with gr.Column(visible=False, elem_id="admin-panel") as panel:
        table, rows = _documents_panel(services.documents, logged_in)
        with gr.Accordion("热线答复口径", open=False, elem_id="scripts-panel") as scripts_box:
            questions, script_rows, script_table = _scripts_panel(services, logged_in)
        with gr.Accordion("知识缺口（拒答和差评的问题）", open=False, elem_id="gaps-panel"):
            _gaps_panel(services, logged_in, questions, scripts_box)

    def check(name: str, secret: str):
        if not settings.admin_matches(name, secret):
            return False, gr.update(visible=True), gr.update(visible=False), "用户名或密码不对。", gr.update(), gr.update()
        return True, gr.update(visible=False), gr.update(visible=True), "", rows(""), script_rows()

    login.click(check, [user, password], [logged_in, login_box, panel, login_msg, table, script_table])


def _selected_row(evt: gr.SelectData, shown: Any) -> list[Any]:
    """The values of the table row a click selected (Gradio hands the table as a DataFrame)."""
    if getattr(evt, "row_value", None):
        return list(evt.row_value)
    return list(shown.iloc[evt.index[0]]) if hasattr(shown, "iloc") else list(shown[evt.index[0]])


#: Columns of the admin's document table.
DOC_COLUMNS = ["id", "标题", "文号", "日期", "地区", "状态", "分块数", "错误"]


def _documents_panel(documents: Any, logged_in: gr.State):
    """Upload, the document table (search, select a row), delete after a confirmation naming
    the document and its chunk count, re-index. Returns the table and its row function."""
    upload = gr.File(label="上传文件（txt、md、pdf、docx、html）", file_count="multiple", elem_id="admin-upload")
    upload_msg = gr.Markdown("", elem_id="admin-upload-result")
    find = gr.Textbox(label="查找文档", placeholder="标题或文号中的字词", elem_id="admin-find")
    table = gr.Dataframe(headers=DOC_COLUMNS, interactive=False, wrap=True, elem_id="admin-docs")
    chosen = gr.State("")
    chosen_msg = gr.Markdown("在表格中点选一个文档。", elem_id="admin-chosen")
    with gr.Row():
        delete = gr.Button("删除", variant="stop", elem_id="admin-delete")
        reindex = gr.Button("重新索引", elem_id="admin-reindex")
    with gr.Row(visible=False) as confirm_row:
        confirm_msg = gr.Markdown("", elem_id="admin-confirm-text")
        confirm = gr.Button("确认删除", variant="stop", elem_id="admin-confirm")
        cancel = gr.Button("取消", elem_id="admin-cancel")
    action_msg = gr.Markdown("", elem_id="admin-action-result")

    def rows(text: str) -> list[list[Any]]:
        wanted = (text or "").strip()
        return [[d.id, d.title, d.doc_number, d.date, d.region, d.status, d.chunks, d.error] for d in documents.list()
                if not wanted or wanted in d.title or wanted in d.doc_number or wanted in d.file_name]

    def pick(evt: gr.SelectData, shown: Any):
        row = _selected_row(evt, shown)
        doc_id, title, chunks = str(row[0]), str(row[1]), row[6]
        return doc_id, f"已选：《{html.escape(title)}》（{chunks} 个分块，id {doc_id}）", gr.update(visible=False)

    def ask_first(doc_id: str, ok: bool):
        if not ok or not doc_id:
            return gr.update(visible=False), "请先登录并在表格中点选一个文档。"
        try:
            doc = documents.get(doc_id)
        except ValueError as exc:
            return gr.update(visible=False), html.escape(str(exc))
        return gr.update(visible=True), f"确定删除《{html.escape(doc.title)}》（{doc.chunks} 个分块）吗？删除后不能恢复。"

    def do(kind: str):
        def run(doc_id: str, ok: bool, text: str):
            if not ok:
                return "请先登录。", gr.update(), gr.update(visible=False), ""
            try:
                if kind == "delete":
                    doc = documents.delete(doc_id)
                    message = f"已删除：《{html.escape(doc.title)}》（{doc.chunks} 个分块）"
                else:
                    result = documents.reindex(doc_id)
                    message = f"已重新索引：{html.escape(result.path)}（{result.status}，{result.chunks} 个分块）"
            except ValueError as exc:
                message = html.escape(str(exc))
            return message, rows(text), gr.update(visible=False), "" if kind == "delete" else doc_id

        return run

    def add(files: list | None, ok: bool, text: str, progress=gr.Progress()):
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
        return "\n".join(lines) or "没有选择文件。", rows(text)

    find.change(lambda text, ok: rows(text) if ok else gr.update(), [find, logged_in], table)
    table.select(pick, [table], [chosen, chosen_msg, confirm_row])
    upload.upload(add, [upload, logged_in, find], [upload_msg, table])
    delete.click(ask_first, [chosen, logged_in], [confirm_row, confirm_msg])
    cancel.click(lambda: (gr.update(visible=False), "已取消。"), None, [confirm_row, action_msg])
    confirm.click(do("delete"), [chosen, logged_in, find], [action_msg, table, confirm_row, chosen])
    reindex.click(do("reindex"), [chosen, logged_in, find], [action_msg, table, confirm_row, chosen])
    return table, rows


#: Columns of the admin's script table.
SCRIPT_COLUMNS = ["id", "问题", "审核人", "审核日期", "有效期至", "状态"]
_WHOLE = "（整个文件）"


def _scripts_panel(services: Any, logged_in: gr.State):
    """Write an answer script (questions, answer, basis chosen from the index, approver,
    dates), the script table with each script's state, delete after confirming, export and
    import. Returns the questions box, the table's row function and the table."""
    today = date.today()
    questions = gr.Textbox(label="问题（每行一种问法）", lines=3, elem_id="script-questions")
    answer = gr.Textbox(label="答复口径（批准的答复内容）", lines=4, elem_id="script-answer")
    with gr.Row():
        find = gr.Textbox(label="查找依据文件", placeholder="标题或文号中的字词", elem_id="script-doc-find")
        doc = gr.Dropdown(label="依据文件", choices=[], elem_id="script-doc")
        article = gr.Dropdown(label="条款", choices=[_WHOLE], value=_WHOLE, elem_id="script-article")
        add_basis = gr.Button("加入依据", elem_id="script-add-basis")
    basis = gr.State([])
    basis_msg = gr.Markdown("依据：（还没有选择）", elem_id="script-basis")
    with gr.Row():
        region = gr.Textbox(label="地区", placeholder="如：广州；不填表示不限", elem_id="script-region")
        approver = gr.Textbox(label="审核人", elem_id="script-approver")
        approved_on = gr.Textbox(label="审核日期", value=today.isoformat(), elem_id="script-approved-on")
        valid_until = gr.Textbox(label="有效期至", value=today.replace(year=today.year + 1).isoformat(), elem_id="script-valid-until")
    save = gr.Button("保存答复口径", variant="primary", elem_id="script-save")
    save_msg = gr.Markdown("", elem_id="script-save-result")
    table = gr.Dataframe(headers=SCRIPT_COLUMNS, interactive=False, wrap=True, elem_id="scripts-table")
    with gr.Row():
        chosen = gr.State("")
        delete = gr.Button("删除所选答复口径", variant="stop", elem_id="script-delete")
        confirm = gr.Button("确认删除", variant="stop", visible=False, elem_id="script-confirm")
        export = gr.Button("导出全部", elem_id="script-export")
    export_file = gr.File(label="导出文件", elem_id="script-export-file")
    import_file = gr.File(label="导入答复口径（导出的 .jsonl 文件）", file_types=[".jsonl"], elem_id="script-import")

    def rows() -> list[list[Any]]:
        out = []
        for script in services.scripts.list():
            problems = services.script_book.problems(script, date.today())
            state = "可用" if not problems else "待复核：" + "；".join(problems)
            out.append([script.id, " / ".join(script.questions), script.approver, script.approved_on.isoformat(),
                        script.valid_until.isoformat(), state])
        return out

    def documents(text: str):
        wanted = (text or "").strip()
        found = [(f"{d.title}（{d.doc_number or d.date or d.file_name}）", d.id) for d in services.documents.list()
                 if d.status == "indexed" and not d.title.startswith("热线答复口径") and (not wanted or wanted in d.title or wanted in d.doc_number)]
        return gr.update(choices=found[:50], value=found[0][1] if found else None)

    def articles(doc_id: str | None):
        choices = [_WHOLE, *services.scripts.articles(doc_id)] if doc_id else [_WHOLE]
        return gr.update(choices=choices, value=_WHOLE)

    def added(current: list, doc_id: str | None, art: str):
        if not doc_id:
            return current, "依据：请先选择依据文件。"
        chosen_basis = [*current, {"doc_id": doc_id, "article": "" if art == _WHOLE else art}]
        return chosen_basis, _basis_text(services, chosen_basis)

    def saved(ok: bool, qs: str, text: str, chosen_basis: list, where: str, who: str, start: str, until: str):
        if not ok:
            return "请先登录。", gr.update(), chosen_basis, gr.update()
        data = {"questions": [q for q in (qs or "").splitlines() if q.strip()], "answer": text or "", "basis": chosen_basis,
                "region": where or "", "approver": who or "", "approved_on": start or "", "valid_until": until or ""}
        try:
            script = services.scripts.save(data)
        except ValueError as exc:
            return f"没有保存：{html.escape(str(exc))}", gr.update(), chosen_basis, gr.update()
        return f"已保存答复口径 {script.id}。", rows(), [], "依据：（还没有选择）"

    find.change(documents, find, doc)
    doc.change(articles, doc, article)
    add_basis.click(added, [basis, doc, article], [basis, basis_msg])
    save.click(saved, [logged_in, questions, answer, basis, region, approver, approved_on, valid_until],
               [save_msg, table, basis, basis_msg])
    _script_table_actions(services, logged_in, table, chosen, delete, confirm, export, export_file, import_file, save_msg, rows)
    return questions, rows, table


def _basis_text(services: Any, basis: list[dict[str, str]]) -> str:
    names = []
    for b in basis:
        try:
            title = services.documents.get(b["doc_id"]).title
        except ValueError:
            title = b["doc_id"]
        names.append(f"《{html.escape(title)}》{html.escape(b['article'])}")
    return "依据：" + "；".join(names)


def _script_table_actions(services, logged_in, table, chosen, delete, confirm, export, export_file, import_file, message, rows):
    """Select, delete after confirming, export and import, for the script table."""

    def pick(evt: gr.SelectData, shown: Any):
        row = _selected_row(evt, shown)
        return str(row[0]), f"已选答复口径：{html.escape(str(row[1]))}", gr.update(visible=False)

    def ask_first(script_id: str, ok: bool):
        if not ok or not script_id:
            return gr.update(visible=False), "请先登录并在表格中点选一条答复口径。"
        return gr.update(visible=True), f"确定删除答复口径 {html.escape(script_id)} 吗？"

    def deleted(script_id: str, ok: bool):
        if not ok:
            return "请先登录。", gr.update(), gr.update(visible=False)
        try:
            script = services.scripts.delete(script_id)
        except ValueError as exc:
            return html.escape(str(exc)), rows(), gr.update(visible=False)
        return f"已删除答复口径：{html.escape(script.questions[0])}", rows(), gr.update(visible=False)

    def exported(ok: bool):
        if not ok:
            return None
        path = Path(tempfile.mkdtemp(prefix="minsheng-scripts-")) / "scripts.jsonl"
        path.write_text(services.scripts.export(), encoding="utf-8")
        return str(path)

    def imported(f: Any, ok: bool):
        if not ok or f is None:
            return "请先登录。" if not ok else "", gr.update()
        try:
            done = services.scripts.import_lines(Path(f if isinstance(f, str) else f.name).read_text("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            return f"没有导入：{html.escape(str(exc))}", gr.update()
        return f"已导入 {len(done)} 条答复口径。", rows()

    table.select(pick, [table], [chosen, message, confirm])
    delete.click(ask_first, [chosen, logged_in], [confirm, message])
    confirm.click(deleted, [chosen, logged_in], [message, table, confirm])
    export.click(exported, [logged_in], export_file)
    import_file.upload(imported, [import_file, logged_in], [message, table])


#: Columns of the admin's knowledge-gap table.
GAP_COLUMNS = ["id", "主题", "次数", "拒答", "差评", "首次出现", "最近出现", "问题"]


def _gaps_panel(services: Any, logged_in: gr.State, script_questions: gr.Textbox, scripts_box: gr.Accordion) -> None:
    """Groups of refused and thumbs-down questions, filtered by date and topic; a chosen
    group starts an answer script with its questions filled in; CSV export."""
    with gr.Row():
        since = gr.Textbox(label="起始日期", placeholder="2026-01-01", elem_id="gaps-since")
        until = gr.Textbox(label="截止日期", placeholder="2026-12-31", elem_id="gaps-until")
        topic = gr.Dropdown(label="主题", choices=[("全部", "")] + [(t, t) for t in services.gaps.topics], value="",
                            elem_id="gaps-topic")
        show = gr.Button("查看", elem_id="gaps-show")
    gaps_msg = gr.Markdown("", elem_id="gaps-result")
    table = gr.Dataframe(headers=GAP_COLUMNS, interactive=False, wrap=True, elem_id="gaps-table")
    chosen = gr.State([])
    with gr.Row():
        start_script = gr.Button("用所选问题写答复口径", elem_id="gap-to-script")
        export = gr.Button("导出 CSV", elem_id="gaps-export")
    export_file = gr.File(label="CSV 文件", elem_id="gaps-file")

    def listed(ok: bool, start: str, end: str, wanted: str):
        if not ok:
            return "请先登录。", gr.update(), []
        try:
            groups = services.gaps.groups(start, end, (wanted or "").strip())
        except ValueError as exc:
            return html.escape(str(exc)), gr.update(), []
        table_rows = [[g.id, g.topic, g.count, g.refused, g.thumbs_down, g.first_seen, g.last_seen, " / ".join(g.questions)] for g in groups]
        return f"{len(groups)} 组问题。", table_rows, []

    def pick(evt: gr.SelectData, shown: Any):
        row = _selected_row(evt, shown)
        return [q for q in str(row[7]).split(" / ") if q], f"已选：{html.escape(str(row[7]))}"

    def to_script(qs: list[str]):
        if not qs:
            return gr.update(), gr.update(), "请先在表格中点选一组问题。"
        return "\n".join(qs), gr.update(open=True), "问题已填入上方“热线答复口径”，请补全答复内容、依据和审核信息后保存。"

    def exported(ok: bool, start: str, end: str, wanted: str):
        if not ok:
            return None
        try:
            text = services.gaps.csv(start, end, (wanted or "").strip())
        except ValueError:
            return None  # the 查看 button shows why
        path = Path(tempfile.mkdtemp(prefix="minsheng-gaps-")) / "gaps.csv"
        path.write_text("\ufeff" + text, encoding="utf-8")
        return str(path)

    show.click(listed, [logged_in, since, until, topic], [gaps_msg, table, chosen])
    table.select(pick, [table], [chosen, gaps_msg])
    start_script.click(to_script, [chosen], [script_questions, scripts_box, gaps_msg])
    export.click(exported, [logged_in, since, until, topic], export_file)


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts: the stock theme fetches web fonts from
    the internet, which an intranet cannot reach."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(app: gr.Blocks, host: str, port: int) -> None:
    """Serve ``app`` alone on ``host:port``; no share link, no analytics."""
    app.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, share=False, show_error=True, css=CSS, theme=theme()
    )
