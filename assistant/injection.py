"""Sentences in a document that speak to an AI assistant instead of to residents.

A policy text tells residents and officials what to do; it never tells "the assistant" to
ignore its instructions, to stop citing sources or to answer every question with a phone
number. Such a sentence is a planted instruction (prompt injection). Ingest leaves it out of
the index (the stored original keeps it) and names the file in its report, so it sways
neither search nor answers. Chunks indexed some other way are guarded at answer time too:
the extractive answerer never quotes such a sentence and the LLM never sees it (it is
replaced by :data:`WITHHELD` inside ``<sources>``).

The patterns are the team's own list of the usual phrasings, Chinese and English, plus the
chat-template tokens of common open models. They were checked against every sentence of
../shared/corpus, ../shared/corpus-laws and ../shared/seed (about 400 documents), where they
match nothing but bad/prompt_injection.txt.
"""

from __future__ import annotations

import re
from assistant.text import normalise, sentences

#: What the LLM sees in place of a withheld sentence.
WITHHELD = "〔此处原文有一句针对问答助手的指令，已略去〕"

_PATTERNS = [
    # 忽略/无视/忘记 … 指令/提示/规则/设定
    r"(忽略|无视|忘记|忘掉|不要理会|不必遵守)[^。！？\n]{0,20}(指令|指示|提示词|规则|设定|系统消息)",
    r"从现在(开始|起)[^。！？\n]{0,30}(回答|回复|输出|扮演|你)",
    r"(对|无论)(任何|所有|什么)问题[^。！？\n]{0,6}(都|一律)(回答|回复|输出)",
    r"不(要|得|必|需)(再)?(引用|标注|列出|给出|注明)[^。！？\n]{0,4}(来源|出处|引用|编号)",
    r"你(现在)?(是|扮演|作为|充当)[^。！？\n]{0,12}(助手|机器人|人工智能|ai|模型|gpt)",
    r"(系统|system)\s*(提示词|prompt|指令)",
    r"(输出|泄露|透露|告诉我|打印)[^。！？\n]{0,10}(提示词|系统指令|system prompt)",
    r"\b(ignore|disregard|forget)\b[^.!?\n]{0,30}\b(instructions?|prompts?|rules)\b",
    r"\byou are now\b|\bact as (an?|the)\b|\bpretend (to be|you are)\b",
    r"<\|?(im_start|im_end|system|assistant|user|endoftext)\|?>|\[/?inst\]|^\s*(system|assistant)\s*[:：]",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)


def addresses_assistant(sentence: str) -> bool:
    """True when ``sentence`` gives orders to an AI assistant (see the module docstring).

    The sentence is normalised first (NFKC, simplified characters, lower case), so full-width
    or traditional spellings are caught too.
    """
    return bool(_INSTRUCTION.search(normalise(sentence)))


def instructions_in(text: str) -> list[str]:
    """The sentences of ``text`` that :func:`addresses_assistant`, in order."""
    return [s.strip() for s in sentences(text) if addresses_assistant(s)]


def withhold(text: str) -> str:
    """``text`` with each instruction sentence replaced by :data:`WITHHELD`; text without
    one is returned unchanged (the same object)."""
    found = instructions_in(text)
    for s in dict.fromkeys(found):
        text = text.replace(s, WITHHELD)
    return text


def strip_instructions(text: str) -> str:
    """``text`` without its instruction sentences (what ingest indexes)."""
    for s in dict.fromkeys(instructions_in(text)):
        text = text.replace(s, "")
    return text
