"""The composition root: builds every service once from one :class:`Settings`.

This is the only place that reads settings and picks backends; services get plain values
and each other through their constructors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from assistant.answering import ExtractiveAnswerer, RelevancePolicy
from assistant.chain import Assistant, Rewriter
from assistant.generative import GenerativeAnswerer, LlmRewriter
from assistant.scripts import ScriptBook
from ingest.documents import DocumentService
from ingest.scripts import ScriptService
from assistant.core.embeddings import LazyEmbeddings, SentenceSimilarity
from assistant.core.types import Answer
from assistant.feedback import FeedbackStore, SharedFeedbackStore
from assistant.gaps import Gaps
from assistant.topics import TopicClassifier
from assistant.lookup import Lookup
from assistant.prompts import Prompts
from assistant.query import TermMap, contextualise
from assistant.core.text import Tokenizer
from assistant.reranking import CrossEncoderReranker
from assistant.retrieval import HybridRetriever, HybridSearcher
from assistant.specificity import TermSpecificity
from assistant.core.settings import Settings
from assistant.core.keyword import KeywordIndex
from assistant.core.versions import VersionGroups, cited_revisions
from assistant.core.store import ChromaStore, open_client
from ingest.loaders import DocumentLoader
from ingest.manifest import Manifest
from ingest.ocr import RapidOcr
from ingest.pipeline import Ingestor
from ingest.splitting import PolicySplitter


@dataclass
class Services:
    """Everything the entry points need, wired together."""

    settings: Settings
    embeddings: LazyEmbeddings
    store: ChromaStore
    ingestor: Ingestor
    searcher: HybridSearcher
    retriever: HybridRetriever
    answerer: ExtractiveAnswerer | GenerativeAnswerer
    assistant: Assistant
    lookup: Lookup
    documents: DocumentService
    feedback: FeedbackStore | SharedFeedbackStore
    specificity: TermSpecificity
    tokenizer: Tokenizer
    scripts: ScriptService
    script_book: ScriptBook
    gaps: Gaps

    def record(self, answer: Answer) -> None:
        """Keep a refused question (redacted) for the knowledge-gap review. The resident-facing
        entry points (API, chat page) call it; evaluation and the CLI do not, so test
        questions never show up as residents' gaps."""
        if answer.refused and answer.question.strip() and not answer.partial:
            topic = answer.retrieved[0].chunk.meta.topic if answer.retrieved else ""
            self.feedback.add_refusal(answer.question, topic)

    def warm_up(self) -> None:
        """Load the embedding model, the BM25 index and the term tagger now rather than on the
        first question, and delete feedback older than its retention period."""
        self.feedback.purge()
        self.embeddings.load()
        self.embeddings.embed_query("预热")
        self.searcher.search("预热", 1)  # opens and, if behind, brings up to date the keyword index
        self.specificity.warm_up()


def build_services(
    settings: Settings,
    *,
    embeddings: LazyEmbeddings | None = None,
    ocr: RapidOcr | None = None,
    chat_model: BaseChatModel | None = None,
) -> Services:
    """Build all services from ``settings``. Loads no model yet (see :meth:`Services.warm_up`).

    Args:
        embeddings: an embedding model to use instead of the one ``settings`` name (tests
            share one loaded model across their indexes).
        ocr: an OCR engine to use instead of a new one (when ``settings`` enable OCR).
        chat_model: a chat model to answer with instead of the configured LLM server (a
            deterministic fake in tests); with one, the generative answerer is used.
    """
    embeddings = embeddings or LazyEmbeddings.from_settings(settings)
    assert settings.chroma_path and settings.manifest_path and settings.keyword_path  # set by the settings validator
    client = open_client(settings.chroma_path, settings.chroma_url)
    store = ChromaStore(
        client,
        settings.chroma_collection,
        embeddings,
        location=settings.chroma_url or str(settings.chroma_path),
    )
    term_map = TermMap.load(settings.term_map) if settings.term_map else None
    # The term map's phrases stay whole in BM25, question reading and tagging alike.
    tokenizer = Tokenizer(term_map.words() if term_map is not None else ())
    keyword = KeywordIndex(settings.keyword_path, store, tokenizer, refresh_seconds=settings.lexical_refresh_seconds)
    ocr = (ocr or RapidOcr(min_score=settings.ocr_min_score)) if settings.ocr_enabled else None
    ingestor = Ingestor(
        store,
        PolicySplitter(settings.chunk_size, settings.chunk_overlap),
        Manifest(settings.manifest_path),
        DocumentLoader(ocr),
        after_write=keyword.sync,
        kept=[settings.data_dir / "uploads", settings.data_dir / "scripts"],
    )
    specificity = TermSpecificity(tokenizer)
    searcher = _searcher(settings, store, keyword, term_map)
    retriever = HybridRetriever(searcher=searcher, k=settings.top_k)
    prompts = Prompts(settings.prompts_dir)
    extractive = ExtractiveAnswerer(
        prompts,
        tokenizer,
        term_weight=searcher.term_idf,
        policy=RelevancePolicy.from_settings(settings),
        hotline=settings.hotline,
        synonyms=term_map.alternatives if term_map is not None else None,
        similarity=SentenceSimilarity(embeddings),
        specificity=specificity.of,
    )
    answerer: ExtractiveAnswerer | GenerativeAnswerer = extractive
    rewrite: Rewriter = functools.partial(contextualise, tokenizer=tokenizer, known=searcher.knows)
    if chat_model is not None or settings.llm_base_url or settings.llm_gguf_path:
        chat_model = chat_model or _chat_model(settings)
        answerer = GenerativeAnswerer(chat_model, prompts, extractive)
        rewrite = LlmRewriter(chat_model, prompts, fallback=rewrite)
    versions = VersionGroups(keyword)
    book = ScriptBook(keyword, store, embeddings.embed_query, tokenizer, searcher.term_idf, prompts,
                      synonyms=term_map.alternatives if term_map is not None else None, embed_passages=embeddings.embed_passages)
    assistant = Assistant(searcher, answerer, rewrite, k=settings.top_k, revisions=functools.partial(cited_revisions, versions),
                          scripts=book)
    lookup = Lookup(searcher, term_map, settings.hotline, versions=versions, scripts=book)
    documents = DocumentService(store, ingestor.manifest, ingestor, settings.data_dir / "uploads", cut=tokenizer.words)
    scripts = ScriptService(store, ingestor, settings.data_dir / "scripts")
    feedback: FeedbackStore | SharedFeedbackStore
    if settings.feedback_shared:
        feedback = SharedFeedbackStore(client, f"{settings.chroma_collection}_feedback", embeddings.embed_query,
                                       settings.feedback_retention_days)
    else:
        feedback = FeedbackStore(settings.feedback_path or settings.data_dir / "feedback.sqlite", settings.feedback_retention_days)
    gaps = Gaps(feedback, embeddings.embed_query,
                TopicClassifier(embeddings.embed_query, cache_dir=settings.model_cache_dir, model=embeddings.model_name))
    return Services(settings, embeddings, store, ingestor, searcher, retriever, answerer, assistant, lookup, documents, feedback,
                    specificity, tokenizer, scripts, book, gaps)


def _searcher(settings: Settings, store: ChromaStore, keyword: KeywordIndex, term_map: TermMap | None) -> HybridSearcher:
    """The hybrid search over ``store`` and ``keyword`` as ``settings`` tune it (fusion,
    spread, neighbours, an optional reranker)."""
    return HybridSearcher(
        store,
        keyword,
        fetch_k=settings.fetch_k,
        rrf_k=settings.rrf_k,
        term_map=term_map,
        max_per_document=settings.max_per_document,
        neighbour_chars=settings.neighbour_chars,
        sibling_depth=settings.sibling_depth,
        reranker=(
            CrossEncoderReranker(settings.reranker_model, settings.reranker_top_n, settings.embedding_device)
            if settings.reranker_model
            else None
        ),
    )


def _chat_model(settings: Settings):
    """The configured chat model: an OpenAI-compatible server, else a local GGUF file
    (imported only when an LLM is configured).

    Raises:
        RuntimeError: a GGUF file is configured but the ``gguf`` extra is not installed, or
            the file does not exist.
    """
    if not settings.llm_base_url and settings.llm_gguf_path:
        path = settings.llm_gguf_path
        if not path.is_file():
            raise RuntimeError(f"MINSHENG_LLM_GGUF_PATH: no such file: {path}")
        try:
            from langchain_community.chat_models import ChatLlamaCpp
        except ImportError as exc:
            raise RuntimeError(
                "MINSHENG_LLM_GGUF_PATH needs the optional extra: pip install -e '.[gguf]' "
                f"(llama-cpp-python, langchain-community): {exc}"
            ) from exc
        return ChatLlamaCpp(model_path=str(path), temperature=settings.llm_temperature, n_ctx=4096, verbose=False)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        timeout=60,
        max_retries=1,
    )
