"""The HTTP API next to the web page: ask, search, documents, and an OpenAI-compatible chat route.

``create_api(services)`` builds the FastAPI app; ``create_server(services)`` mounts the Gradio
page on it at ``/``. The routes only translate HTTP to the services and back. The document
routes need the admin credentials (HTTP Basic) and are absent while none are configured.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from assistant.core.scripts import AnswerScript, ScriptError
from assistant.core.settings import Settings
from ingest.scripts import MAX_IMPORT_BYTES
from ingest.documents import MAX_UPLOAD_BYTES, DocumentError
from assistant.filters import SearchFilters
from ui.services import Services
from ui.limits import BodyLimit

MODEL_NAME = "minsheng"


class Turn(BaseModel):
    role: str = Field(description="user or assistant")
    content: str


class AskRequest(BaseModel):
    question: str = Field(description="The question, e.g. 异地就医怎么结算 (over 1,000 characters gets a request to shorten it)", max_length=200_000)
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")


class SearchRequest(BaseModel):
    query: str = Field(max_length=2000)
    k: int = Field(default=10, ge=1, le=50)
    regions: list[str] = Field(default_factory=list, description="e.g. [\"广州\"]; national rules match unless national=false")
    national: bool = True
    topic: str = ""
    in_force: bool = False
    date_from: str = Field(default="", description="ISO date, inclusive")
    date_to: str = Field(default="", description="ISO date, inclusive")


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = ""


class ChatRequest(BaseModel):
    model: str = MODEL_NAME
    messages: list[ChatMessage]
    stream: bool = False


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def create_api(services: Services) -> FastAPI:
    """The FastAPI app over ``services`` (OpenAPI schema at ``/openapi.json``): questions and
    search, document administration behind the admin credentials, and an OpenAI-compatible
    chat endpoint."""
    # FastAPI's own docs page loads Swagger UI from a CDN, which an intranet never reaches;
    # fastapi-offline serves the same page with its files shipped in the package.
    app = FastAPIOffline(
        title="minsheng 民生政策问答 API", version="1", docs_url="/api/docs", redoc_url=None,
        static_url="/api/docs-static", openapi_url="/openapi.json",
    )
    app.include_router(_question_routes(services))
    admin = _admin_check(services.settings)
    app.include_router(_document_routes(services, admin))
    app.include_router(_script_routes(services, admin))
    app.include_router(_gap_routes(services, admin))
    app.include_router(_openai_routes(services))
    return app


def _admin_check(settings: Settings) -> Callable[..., str]:
    """A dependency that admits the configured admin (HTTP basic) and refuses everyone else:
    404 while admin is off, 401 without the right credentials."""
    basic = HTTPBasic(auto_error=False)

    def admin(credentials: HTTPBasicCredentials | None = Depends(basic)) -> str:
        if not settings.admin_enabled:
            raise HTTPException(404, "admin is off: set MINSHENG_ADMIN_USER and MINSHENG_ADMIN_PASSWORD")
        if credentials is None or not settings.admin_matches(credentials.username, credentials.password):
            raise HTTPException(401, "admin credentials required", headers={"WWW-Authenticate": "Basic"})
        return credentials.username

    return admin


def _question_routes(services: Services) -> APIRouter:
    """``/api/health``, ``/api/ask`` and ``/api/search``."""
    router = APIRouter()

    @router.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "chunks": services.store.count(), "model": services.store.model_name}

    @router.post("/api/ask")
    def ask(request: AskRequest) -> dict[str, Any]:
        """Answer a question with numbered sources (refused=true when the knowledge base has nothing)."""
        answer = services.assistant.ask(request.question, history=[t.model_dump() for t in request.history])
        services.record(answer)
        return {**answer.to_dict(), "ticket_note": services.lookup.ticket_note(answer)}

    @router.post("/api/search")
    def search(request: SearchRequest) -> dict[str, Any]:
        """Chunks for a query under metadata filters, with the query terms each contains."""
        filters = SearchFilters(
            regions=frozenset(request.regions), national=request.national, topic=request.topic,
            in_force=request.in_force, date_from=request.date_from, date_to=request.date_to,
        )
        hits = services.lookup.search(request.query, filters, request.k)
        return {"results": [{"chunk_id": h.chunk.id, "text": h.chunk.text, "terms": h.terms, "score": h.score, **h.chunk.metadata,
                             "versions": h.versions,
                             **({"script_in_force": not h.script_problems, "script_problems": h.script_problems}
                                if h.script_problems is not None else {})} for h in hits]}

    return router


def _document_routes(services: Services, admin: Callable[..., str]) -> APIRouter:
    """The admin's ``/api/documents`` and everyone's ``/documents/{id}`` (the original file)."""
    router = APIRouter()

    @router.get("/api/documents")
    def list_documents(user: str = Depends(admin)) -> dict[str, Any]:
        return {"documents": [d.to_dict() for d in services.documents.list()]}

    @router.post("/api/documents")
    def add_document(file: UploadFile = File(...), user: str = Depends(admin)) -> dict[str, Any]:
        try:
            result = services.documents.upload(file.filename or "upload", file.file.read())
        except DocumentError as exc:
            raise HTTPException(400, str(exc)) from None
        # The id the other document routes and a script's basis take.
        head = services.store.first_metadata({"source": result.path}) if result.chunks else None
        return {"id": str(head["doc_id"]) if head else None, "path": result.path, "status": result.status,
                "chunks": result.chunks, "detail": result.detail}

    @router.delete("/api/documents/{doc_id}")
    def delete_document(doc_id: str, user: str = Depends(admin)) -> dict[str, Any]:
        try:
            return {"deleted": services.documents.delete(doc_id).to_dict()}
        except DocumentError as exc:
            raise HTTPException(404, str(exc)) from None

    @router.post("/api/documents/{doc_id}/reindex")
    def reindex_document(doc_id: str, user: str = Depends(admin)) -> dict[str, Any]:
        try:
            result = services.documents.reindex(doc_id)
        except DocumentError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"path": result.path, "status": result.status, "chunks": result.chunks, "detail": result.detail}

    @router.get("/api/documents/{doc_id}/changes")
    def changes(doc_id: str) -> dict[str, Any]:
        """新旧对照: this document against its other version, article by article (404 when it
        has none). Public, like the original files: hotline staff read it without admin rights."""
        try:
            return services.documents.changes(doc_id).to_dict()
        except DocumentError as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/documents/{doc_id}/changes", response_class=HTMLResponse)
    def changes_page(doc_id: str) -> HTMLResponse:
        """The same comparison as a page (linked from answers and the lookup tab)."""
        from ui.app import render_changes

        try:
            comparison = services.documents.changes(doc_id)
        except DocumentError as exc:
            raise HTTPException(404, str(exc)) from None
        return HTMLResponse(render_changes(comparison, page=True), headers={"X-Content-Type-Options": "nosniff"})

    @router.get("/documents/{doc_id}")
    def original(doc_id: str) -> FileResponse:
        """The original file of an indexed document. HTML is sent as plain text, so nothing
        in a document ever runs in the browser."""
        try:
            doc = services.documents.get(doc_id)
        except DocumentError as exc:
            raise HTTPException(404, str(exc)) from None
        media = {".pdf": "application/pdf", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
        suffix = doc.file_name.rsplit(".", 1)[-1].lower()
        return FileResponse(
            doc.source, media_type=media.get("." + suffix, "text/plain; charset=utf-8"),
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{_quote(doc.file_name)}", "X-Content-Type-Options": "nosniff",
                     "Content-Security-Policy": "sandbox"},
        )

    return router


def _script_routes(services: Services, admin: Callable[..., str]) -> APIRouter:
    """The admin's ``/api/scripts``: approved answer scripts (答复口径). Bad input gets 400 with
    the field (and, on import, the line) named."""
    router = APIRouter()

    def listed(script: AnswerScript) -> dict[str, Any]:
        problems = services.script_book.problems(script, date.today())
        return {**script.model_dump(mode="json"), "in_force": not problems, "problems": problems}

    @router.get("/api/scripts")
    def list_scripts(user: str = Depends(admin)) -> dict[str, Any]:
        """Every script, with whether it may be used today and, if not, why (listed for review)."""
        return {"scripts": [listed(s) for s in services.scripts.list()]}

    @router.post("/api/scripts", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": AnswerScript.model_json_schema()}}}})
    async def save_script(request: Request, user: str = Depends(admin)) -> dict[str, Any]:
        """Create a script (no ``id``) or replace the one with that ``id`` (to renew it). Fields:
        ``questions`` (1-20 phrasings), ``answer``, ``basis`` ([{``doc_id``, ``article``}]:
        indexed documents and their articles, ``GET /api/documents/{id}/articles``),
        ``region``, ``approver``, ``approved_on``, ``valid_until`` (YYYY-MM-DD)."""
        try:
            data = json.loads(await request.body())
        except ValueError:
            raise HTTPException(400, "body: not JSON") from None
        if not isinstance(data, dict):
            raise HTTPException(400, "body: must be a JSON object of the script's fields")
        try:
            return {"script": listed(await run_in_threadpool(services.scripts.save, data))}
        except ScriptError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.delete("/api/scripts/{script_id}")
    def delete_script(script_id: str, user: str = Depends(admin)) -> dict[str, Any]:
        try:
            return {"deleted": services.scripts.delete(script_id).model_dump(mode="json")}
        except ScriptError as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/api/scripts/export")
    def export_scripts(user: str = Depends(admin)) -> Response:
        """Every script as one file, a JSON object a line (what the import reads)."""
        return Response(services.scripts.export(), media_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=scripts.jsonl"})

    @router.post("/api/scripts/import")
    def import_scripts(file: UploadFile = File(...), user: str = Depends(admin)) -> dict[str, Any]:
        """Store the scripts of an exported file; a bad line rejects the whole file (400)."""
        raw = file.file.read(MAX_IMPORT_BYTES + 1)
        try:
            if len(raw) > MAX_IMPORT_BYTES:
                raise ScriptError(f"file: over {MAX_IMPORT_BYTES} bytes")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ScriptError("file: not UTF-8 text") from None
            return {"imported": len(services.scripts.import_lines(text))}
        except ScriptError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get("/api/documents/{doc_id}/articles")
    def document_articles(doc_id: str, user: str = Depends(admin)) -> dict[str, Any]:
        """The 条 a document holds, for choosing a script's basis (404 for an unknown id)."""
        articles = services.scripts.articles(doc_id)
        if not articles and services.store.first_metadata({"doc_id": doc_id}) is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return {"doc_id": doc_id, "articles": articles}

    return router


def _gap_routes(services: Services, admin: Callable[..., str]) -> APIRouter:
    """The admin's ``/api/gaps`` and ``/api/gaps.csv``: knowledge gaps."""
    router = APIRouter()

    @router.get("/api/gaps")
    def gaps(since: str = "", until: str = "", topic: str = "", user: str = Depends(admin)) -> dict[str, Any]:
        """Knowledge gaps: refused questions and thumbs-down answers (redacted), grouped by
        similar question, newest group first; ``since``/``until`` are ISO dates, ``topic``
        one of ``topics`` (also returned, for a filter list)."""
        try:
            return {"groups": [g.to_dict() for g in services.gaps.groups(since, until, topic)],
                    "topics": services.gaps.topics}
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get("/api/gaps.csv")
    def gaps_csv(since: str = "", until: str = "", topic: str = "", user: str = Depends(admin)) -> Response:
        try:
            text = services.gaps.csv(since, until, topic)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=gaps.csv"})

    return router


def _openai_routes(services: Services) -> APIRouter:
    """``/v1/models`` and ``/v1/chat/completions`` for OpenAI clients."""
    router = APIRouter()

    @router.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "minsheng"}]}

    @router.post("/v1/chat/completions")
    def chat(request: ChatRequest):
        """OpenAI-compatible chat: the last user message is the question, earlier messages the
        history. The reply text ends with the numbered sources; ``sources`` carries them as data,
        ``status`` says whether it answers, refuses, or gives another year's figure
        (``neighbour``: what differs)."""
        turns = [{"role": m.role, "content": _text(m.content)} for m in request.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user":
            raise HTTPException(400, "messages must end with a user message")
        answer = services.assistant.ask(turns[-1]["content"], history=turns[:-1])
        services.record(answer)
        content = answer.text + (f"\n\n来源：\n{answer.sources_text()}" if answer.citations else "")
        sources = answer.to_dict()["citations"]
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not request.stream:
            return {
                "id": cid, "object": "chat.completion", "created": created, "model": MODEL_NAME,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "sources": sources,
                "status": answer.status,
                "neighbour": answer.neighbour,
            }

        def events():
            # The answer is checked before it is sent, so it streams as a whole in pieces.
            pieces = [content[i : i + 40] for i in range(0, len(content), 40)]
            for n, delta in enumerate([{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces] + [{}]):
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if n == len(pieces) + 1 else None}]}
                if n == len(pieces) + 1:
                    chunk.update(sources=sources, status=answer.status, neighbour=answer.neighbour)
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return router


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


def create_server(services: Services) -> FastAPI:
    """The API with the Gradio page mounted at ``/``; request bodies are limited
    (:class:`ui.limits.BodyLimit`: 1 MB, uploads 50 MB plus framing)."""
    import gradio as gr

    from ui.app import CSS, create_app, theme

    api = create_api(services)
    uploads = MAX_UPLOAD_BYTES + 1024 * 1024  # the file plus its multipart framing
    api.add_middleware(BodyLimit, by_prefix={"/api/documents": uploads, "/gradio_api/upload": uploads})
    blocks = create_app(services).queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(api, blocks, path="", css=CSS, theme=theme(), max_file_size=MAX_UPLOAD_BYTES)
