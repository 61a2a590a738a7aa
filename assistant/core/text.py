"""Chinese text helpers shared by BM25, sentence selection and splitting."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import cache, lru_cache
from typing import Any, Iterable

# Function words and question words that carry no topic: "怎么", "多少" decide how a
# question is asked, not what it is about, so they must not make a chunk look relevant.
STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 把 被 为 以 于 等 其 之 也 都 就 而 并 但 如 从 由 向 将 到 这 那 有 无 个 吗 呢 吧 啊
    我 你 他 她 它 我们 你们 他们 自己 什么 怎么 怎样 怎么样 如何 多少 哪些 哪里 哪儿 哪个 为什么 是否 能否 可以 能 会 要 需要
    请问 请 一下 现在 可 该 应 应当 按照 依照 根据 规定 有关 相关 进行 一个 没有 还 又 再 吗 么 呀 了吗 么样""".split()
)

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_PUNCT_ONLY = re.compile(r"^[\W_]+$", re.UNICODE)


@cache
def _t2s() -> Any:
    # A fixed, stateless conversion table: loaded once per process, never changed.
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC ``t2s``), for search only: documents keep
    their original characters for display."""
    return _t2s().convert(text)


def normalise(text: str) -> str:
    """Search form of ``text``: traditional to simplified, NFKC (full-width letters and digits
    to half-width), lower case."""
    return unicodedata.normalize("NFKC", to_simplified(text)).lower()


class Tokenizer:
    """Cuts text into search terms with its own jieba dictionary: jieba's standard one plus the
    policy terms it is taught (:meth:`add_words`), which it must not cut apart.

    One per composition root (:func:`ui.services.build_services`), handed to every stage that
    needs terms, so two services built in one process (a test's two indexes, with and without a
    term map) never see each other's words. The dictionary (about 1 s to load) is loaded on
    first use. Thread-safe.

    Args:
        words: policy terms to add at once (same as :meth:`add_words`).
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._jieba: Any = None  # jieba.Tokenizer once loaded
        self._pos: Any = None  # jieba.posseg.POSTokenizer over the same dictionary
        self._words: set[str] = set()
        # Every stage asks for a question's terms; a per-object cache keeps two tokenizers apart.
        self.query_terms = lru_cache(maxsize=4096)(self._query_terms)
        self.add_words(words)

    def _loaded(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba
                    import jieba.posseg

                    logging.getLogger("jieba").setLevel(logging.WARNING)
                    cutter = jieba.Tokenizer()
                    cutter.initialize()
                    for word in sorted(self._words):
                        cutter.add_word(word)
                    self._pos = jieba.posseg.POSTokenizer(cutter)
                    self._jieba = cutter
        return self._jieba

    def add_words(self, words: Iterable[str]) -> None:
        """Keep ``words`` whole when cutting (normalised; single characters are ignored)."""
        new = {normalise(w) for w in words if len(w) > 1}
        with self._lock:
            new -= self._words
            self._words.update(new)
            if self._jieba is not None:
                for word in sorted(new):
                    self._jieba.add_word(word)
        if new:
            self.query_terms.cache_clear()

    @property
    def fingerprint(self) -> str:
        """Hex digest of everything that decides how :meth:`terms` cuts text: jieba's version,
        the words added and the stopwords. Terms cached under another fingerprint are stale."""
        import hashlib
        from importlib.metadata import version

        with self._lock:
            words = sorted(self._words)
        parts = [version("jieba"), "\x1f".join(words), "\x1f".join(sorted(STOPWORDS))]
        return hashlib.sha1("\x1e".join(parts).encode("utf-8")).hexdigest()

    def terms(self, text: str) -> list[str]:
        """Search terms of ``text``: jieba's search-mode words, normalised, without stopwords or
        punctuation.

        Search mode also yields the parts of long words (失业保险金 → 失业, 保险, 保险金,
        失业保险金), so a question in everyday words still meets the official compound.
        """
        out = []
        for tok in self._loaded().lcut_for_search(normalise(text)):
            tok = tok.strip()
            if not tok or tok in STOPWORDS or _PUNCT_ONLY.match(tok):
                continue
            out.append(tok)
        return out

    def words(self, text: str) -> list[str]:
        """``text`` cut into words as written (jieba's precise mode, nothing normalised or
        dropped): ``"".join(words(text)) == text``. For marking changed words."""
        return self._loaded().lcut(text, HMM=False)

    def _query_terms(self, text: str) -> tuple[str, ...]:
        """:meth:`terms` of a question, de-duplicated in order (cached as ``query_terms``)."""
        return tuple(dict.fromkeys(self.terms(text)))

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """``text`` cut into (word, part-of-speech tag) pairs by jieba's tagger over this
        dictionary (ICTCLAS tags; a taught word is tagged ``x``)."""
        self._loaded()
        return [(pair.word, pair.flag) for pair in self._pos.cut(text)]


def sentences(text: str) -> list[str]:
    """Split ``text`` after 。！？； (and ASCII equivalents) and at line breaks, but not inside
    a title in 《》 on the same line ("《本月起，这笔钱直接发放至个人！》" is one name); drops
    blanks."""
    out: list[str] = []
    for line in text.splitlines():
        pieces: list[str] = []
        for part in _SENTENCE_END.split(line):
            if pieces and pieces[-1].count("《") > pieces[-1].count("》"):
                pieces[-1] += part  # the break fell inside a book title: keep the title whole
            elif part:
                pieces.append(part)
        out += [p.strip() for p in pieces if p.strip()]
    return out


def after_overlap(text: str, following: str, limit: int = 120) -> str:
    """``following`` without the characters it shares with the end of ``text``: neighbouring
    chunks overlap (``chunk_overlap``), and joined text must say things once."""
    for n in range(min(len(text), len(following), limit), 0, -1):
        if text.endswith(following[:n]):
            return following[n:]
    return following
