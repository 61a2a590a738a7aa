"""How much a word of a question can say what the question is about.

A resident's story is full of words a policy never uses: "一直", "还是", "上周", "这笔", "说".
The index gives them a high idf exactly because policy text lacks them, so by idf alone
they would outweigh "失业" or "低保". Two public models of ordinary Chinese tell them apart
without a hand list: jieba's part-of-speech tagger (adverbs, conjunctions, pronouns,
localisers, numerals, measure and time words never name a topic) and the idf table jieba
ships for keyword extraction (``jieba/analyse/idf.txt``, built from a large general corpus),
in which the commonest words of everyday speech ("说" 2.6, "去" 3.3, "公司" 3.5) score low
and topic words ("失业" 7.6, "医保" 8.6, "饭堂" 11.6) high.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Callable

from assistant.core.text import Tokenizer, normalise

#: jieba part-of-speech tags of words that place, count, connect or point, and so never say
#: what a question is about: adverbs (d), conjunctions (c), pronouns (r), prepositions (p),
#: localisers (f), numerals and measure words (m, q, mq), time words (t), particles (u*),
#: modal and interjection words (y, e, o) and affixes (h, k). Tag set: jieba's README
#: (the ICTCLAS set).
FUNCTION_TAGS = frozenset("d dg c p f m q mq t tg r rr rz u uj ul uz ud ug uv y e o h k".split())


class TermSpecificity:
    """Factors in [``floor``, 1] by which a question term's weight is multiplied.

    ``of(question)`` tags the question once and returns a function from a term (a jieba
    search-mode term of the question, normalised) to its factor: ``floor`` for a word tagged
    as a function word, else ``(g - low) / (high - low)`` clipped to [``content_floor``, 1],
    where ``g`` is the term's idf in jieba's general table (a word missing from the table gets
    the table's median, 11.95, so a rare policy term keeps its full weight).

    Args:
        tokenizer: tags the question (its taught policy terms are tagged ``x``, content).
        floor: what a function word counts; not 0, so that a mis-tagged word ("同意" is
            tagged as an adverb) still counts a little.
        low, high: general idf from which a content word starts to count more than
            ``content_floor``, and from which it counts fully. The commonest words of speech
            score 2.5-3.5 ("说" 2.6, "去" 3.3, "公司" 3.5); the policy terms of the tuning
            questions mostly 5.5 and up ("孩子" 5.2, "标准" 5.4, "失业" 7.6).
        content_floor: the least a content word counts: "公司" is common speech and still
            what a labour question is about.

    Calibrated on the tuning set (``eval/questions/team.jsonl``, 438 questions): key fact
    in the answer 0.644 -> 0.653 against floor 0.25 for every word below idf 3.5.
    """

    def __init__(
        self, tokenizer: Tokenizer, floor: float = 0.25, low: float = 2.5, high: float = 5.5, content_floor: float = 0.4
    ):
        self.tokenizer = tokenizer
        self.floor = floor
        self.content_floor = content_floor
        self.low = low
        self.high = high
        self._lock = threading.Lock()
        self._idf: dict[str, float] | None = None
        self._median = 0.0
        self._tagged = lru_cache(maxsize=2048)(self._tag)

    def _table(self) -> tuple[dict[str, float], float]:
        if self._idf is None:
            with self._lock:
                if self._idf is None:
                    from jieba.analyse.tfidf import TFIDF

                    idf, median = TFIDF().idf_loader.get_idf()
                    self._median = float(median)
                    self._idf = idf
        return self._idf, self._median

    def _tag(self, question: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for word, flag in self.tokenizer.tagged(question):
            tags.setdefault(word, flag)
        return tags

    def general_idf(self, term: str) -> float:
        """The term's idf in jieba's general table (its median for a word the table lacks)."""
        idf, median = self._table()
        return idf.get(term, median)

    def of(self, question: str) -> Callable[[str], float]:
        """The factor of each term of ``question`` (see the class docstring)."""
        tags = self._tagged(normalise(question))

        def factor(term: str) -> float:
            if tags.get(term) in FUNCTION_TAGS:
                return self.floor
            share = (self.general_idf(term) - self.low) / (self.high - self.low)
            return min(1.0, max(self.content_floor, share))

        return factor

    def warm_up(self) -> None:
        """Load the general table and the tagger now rather than on the first question."""
        self._table()
        self.of("预热")("预热")
