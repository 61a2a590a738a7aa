"""Chinese text helpers shared by BM25, sentence selection and splitting."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

_jieba_lock = threading.Lock()
_jieba = None
_user_words: set[str] = set()

# Function words and question words that carry no topic: "怎么", "多少" decide how a
# question is asked, not what it is about, so they must not make a chunk look relevant.
STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 把 被 为 以 于 等 其 之 也 都 就 而 并 但 如 从 由 向 将 到 这 那 有 无 个 吗 呢 吧 啊
    我 你 他 她 它 我们 你们 他们 自己 什么 怎么 怎样 怎么样 如何 多少 哪些 哪里 哪儿 哪个 为什么 是否 能否 可以 能 会 要 需要
    请问 请 一下 现在 可 该 应 应当 按照 依照 根据 规定 有关 相关 进行 一个 没有 还 又 再 吗 么 呀 了吗 么样""".split()
)

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_PUNCT_ONLY = re.compile(r"^[\W_]+$", re.UNICODE)


_opencc = None


def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC ``t2s``), for search only: documents keep
    their original characters for display."""
    global _opencc
    if _opencc is None:
        import opencc

        _opencc = opencc.OpenCC("t2s")
    return _opencc.convert(text)


def normalise(text: str) -> str:
    """Search form of ``text``: traditional to simplified, NFKC (full-width letters and digits
    to half-width), lower case."""
    return unicodedata.normalize("NFKC", to_simplified(text)).lower()


def _tokenizer():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in _user_words:
                    jieba.add_word(word)
                _jieba = jieba
    return _jieba


def add_words(words) -> None:
    """Teach jieba ``words`` (policy terms it should not cut apart); clears cached question terms.

    Cheap: jieba's dictionary (about 1 s to load) is not loaded here; the words are added
    when it is, or now if it already was.
    """
    new = {normalise(w) for w in words if len(w) > 1}
    with _jieba_lock:
        _user_words.update(new)
        if _jieba is not None:
            for word in new:
                _jieba.add_word(word)
    query_terms.cache_clear()


def tokenizer_fingerprint() -> str:
    """Hex digest of everything that decides how :func:`terms` splits text: jieba's version,
    the user words added so far and the stopwords. Cached terms made under another
    fingerprint are stale."""
    import hashlib
    from importlib.metadata import version

    with _jieba_lock:
        words = sorted(_user_words)
    parts = [version("jieba"), "\x1f".join(words), "\x1f".join(sorted(STOPWORDS))]
    return hashlib.sha1("\x1e".join(parts).encode("utf-8")).hexdigest()


def terms(text: str) -> list[str]:
    """Search terms of ``text``: jieba's search-mode words, normalised, without stopwords or punctuation.

    Search mode also yields the parts of long words (失业保险金 → 失业, 保险, 保险金,
    失业保险金), so a question in everyday words still meets the official compound.
    """
    jb = _tokenizer()
    out = []
    for tok in jb.lcut_for_search(normalise(text)):
        tok = tok.strip()
        if not tok or tok in STOPWORDS or _PUNCT_ONLY.match(tok):
            continue
        out.append(tok)
    return out


@lru_cache(maxsize=4096)
def query_terms(text: str) -> tuple[str, ...]:
    """:func:`terms` of a question, de-duplicated in order; cached because every stage asks."""
    return tuple(dict.fromkeys(terms(text)))


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
