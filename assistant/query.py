"""Turning a question and its conversation into the text that is searched.

Follow-ups such as "那需要什么材料？" name no topic; rule-based, without an LLM, the topic is
carried over from the user's earlier turns. Everyday words get the official terms policies
use added (:class:`TermMap`): 外地看病 → 异地就医.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from assistant import asks
from assistant.core.regions import regions_in
from assistant.core.text import Tokenizer, normalise

#: The team's map from everyday words to official policy terms.
TERM_MAP = Path(__file__).with_name("data") / "term_map.tsv"

# A follow-up leans on the previous turn when it opens with a connective or a pronoun, or
# is too short to name a topic by itself.
_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|另外|然后|其中|其他|同样|同一|这个|那个|它|他们|这些|那些|这种|这样|如果|要是|需要|可以|是不是|多久|多少|在哪)"
)
_MIN_TERMS = 2


def turn_text(turn: Any) -> tuple[str, str]:
    """(role, content) of a turn given as a dict, a pydantic model or a (user, assistant) pair."""
    if isinstance(turn, dict):
        role, content = turn.get("role", ""), turn.get("content", "")
    else:
        role, content = getattr(turn, "role", ""), getattr(turn, "content", "")
    if isinstance(content, list):  # Gradio 6 may send [{"type": "text", "text": ...}, ...]
        content = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(role), str(content or "")


def contextualise(
    question: str, history: Sequence[Any] = (), *, tokenizer: Tokenizer, known: Callable[[str], bool] | None = None
) -> str:
    """The search text for ``question`` given earlier turns (oldest first).

    A self-contained question is returned unchanged. A follow-up gets the last earlier user
    question put in front, e.g. ("广州公租房怎么申请？", "那需要什么材料？") ->
    "广州公租房怎么申请？ 那需要什么材料？". When the follow-up names a region, the earlier
    question's regions are left out ("北京…怎么处罚？", "同样的情况如果发生在山东呢？"
    is searched as a question about 山东).

    A turn is a follow-up when it opens with a connective or pronoun ("那", "其中", "这个"), or
    when it names no subject of its own: it is short (:data:`SHORT_TURN` characters) and holds
    no policy term of three or more characters that the index knows (``known``) and the
    earlier question lacks ("失业保险金最长能领多久？" after a question on 公租房 is a new
    question; "批下来以后每个月什么时候发钱？" is not).

    Args:
        tokenizer: cuts the turn into terms.
        known: whether the index holds a term; without it, a turn of fewer than two terms is a
            follow-up.
    """
    question = question.strip()
    previous = [content for role, content in map(turn_text, history) if role == "user" and content.strip()]
    if not previous:
        return question
    earlier = previous[-1].strip()
    if _FOLLOW_UP.match(question) or _names_no_subject(question, earlier, known, tokenizer):
        if regions_in(question):
            for name in sorted(regions_in(earlier), key=len, reverse=True):
                earlier = re.sub(f"{re.escape(name)}(?:省|市|自治区)?", "", earlier)
        return f"{earlier} {question}"
    return question


#: Characters up to which a turn that names no policy term of its own is a follow-up.
SHORT_TURN = 25


def _names_no_subject(question: str, earlier: str, known: Callable[[str], bool] | None, tokenizer: Tokenizer) -> bool:
    terms = tokenizer.query_terms(question)
    if known is None:
        return len(terms) < _MIN_TERMS
    if len(question) > SHORT_TURN:
        return False
    before = normalise(earlier)
    return not any(len(t) >= 3 and t not in before and known(t) for t in terms)


class TermMap:
    """Everyday words and the official terms policy texts use for them.

    Args:
        pairs: (everyday phrase, official terms) pairs.

    The file format (:meth:`load`) is UTF-8, tab-separated ``everyday<TAB>term term ...``,
    ``#`` starting a comment line.
    """

    def __init__(self, pairs: Sequence[tuple[str, tuple[str, ...]]]):
        self._pairs = [(normalise(everyday), official) for everyday, official in pairs]
        # Only phrases of three or more characters (外地看病, 拖着工资) stand in for their
        # official terms when relevance is judged: two-character words (老人, 社保) are so
        # broad that counting them made unanswerable questions look answered.
        self._official = {e: tuple(normalise(t) for t in o) for e, o in self._pairs if len(e) >= 3}

    @classmethod
    def load(cls, path: Path = TERM_MAP) -> "TermMap":
        """Read a term map file.

        Raises:
            ValueError: a line without a tab or without official terms (names file and line).
        """
        pairs = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            everyday, sep, official = line.partition("\t")
            terms = tuple(official.split())
            if not sep or not everyday.strip() or not terms:
                raise ValueError(f"{path}:{number}: expected 'everyday<TAB>official terms'")
            pairs.append((everyday.strip(), terms))
        return cls(pairs)

    def words(self) -> set[str]:
        """Every phrase and term in the map: a jieba user dictionary keeps them whole."""
        return {w for everyday, official in self._pairs for w in (everyday, *official)}

    def alternatives(self, term: str) -> tuple[str, ...]:
        """Official terms for ``term`` when it is an everyday phrase of three or more
        characters in the map, else ()."""
        return self._official.get(normalise(term), ())

    def expand(self, question: str) -> str:
        """``question`` followed by the official terms for the everyday words it contains,
        those it does not already contain, in map order; unchanged when none apply.

        Example: "外地看病怎么报销" -> "外地看病怎么报销 异地就医 结算".
        """
        text = normalise(question)
        extra: list[str] = []
        for everyday, official in self._pairs:
            if everyday in text:
                extra.extend(t for t in official if t not in text and t not in extra)
        return f"{question} {' '.join(extra)}" if extra else question


def years_in(question: str, today: date | None = None) -> set[int]:
    """Years a question asks about: "2025年" -> {2025}; 今年/去年/明年/前年 count from
    ``today`` (default: the current date). See :func:`assistant.asks.years_in`."""
    return asks.years_in(question, (today or date.today()).year)
