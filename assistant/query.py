"""Turning a question and its conversation into the text that is searched.

Follow-ups such as "那需要什么材料？" name no topic; rule-based, without an LLM, the topic is
carried over from the user's earlier turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.text import query_terms

# A follow-up leans on the previous turn when it opens with a connective or a pronoun, or
# is too short to name a topic by itself.
_FOLLOW_UP = re.compile(r"^(那|那么|还有|另外|然后|这个|那个|它|他们|这些|那些|这种|如果|要是|需要|可以|是不是|多久|多少|在哪)")
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


def contextualise(question: str, history: Sequence[Any] = ()) -> str:
    """The search text for ``question`` given earlier turns (oldest first).

    A self-contained question is returned unchanged. A follow-up gets the last earlier user
    question put in front, e.g. ("广州公租房怎么申请？", "那需要什么材料？") ->
    "广州公租房怎么申请？ 那需要什么材料？".
    """
    question = question.strip()
    previous = [content for role, content in map(turn_text, history) if role == "user" and content.strip()]
    if not previous:
        return question
    if _FOLLOW_UP.match(question) or len(query_terms(question)) < _MIN_TERMS:
        return f"{previous[-1].strip()} {question}"
    return question
