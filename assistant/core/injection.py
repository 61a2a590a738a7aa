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

import hashlib
import re
from assistant.core.text import normalise, sentences

#: What the LLM sees in place of a withheld sentence.
WITHHELD = "〔此处原文有一句针对问答助手的指令，已略去〕"

# Gaps never cross a clause mark (，、；：) or a sentence end, and each rule needs words that
# only an order to an assistant has (之前的…指令, 对任何问题都回答, 你是…助手), so penalty
# clauses such as "不得忽略安全操作规则" or "服从调度系统指令" are not caught.
_GAP = r"[^。！？\n，、；：,;:]"
_PATTERNS = [
    rf"(忽略|无视|忘记|忘掉|不要理会|不必遵守){_GAP}{{0,8}}(之前|以上|上面|前面|先前|此前|所有|全部|一切){_GAP}{{0,8}}"
    r"(指令|指示|提示词|规则|设定|要求)",
    r"从现在(开始|起)[，,]?\s*(你|对(任何|所有|一切)问题|只(回答|回复|输出)|一律(回答|回复))",
    rf"(对|无论)(任何|所有|一切|什么)问题{_GAP}{{0,6}}(都|一律)(只)?(回答|回复|输出)",
    r"不要(再)?(引用|标注|注明|给出)(任何)?(来源|出处)",
    rf"你(现在)?(是|扮演|作为|充当){_GAP}{{0,12}}(助手|机器人|人工智能|ai|语言模型|大模型|gpt)",
    r"系统提示词|system\s*prompt|(输出|泄露|透露|告诉我|打印)[^。！？\n，、；：,;:]{0,10}提示词",
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|preceding)\s+"
    r"(instructions?|prompts?|rules)\b|\b(ignore|disregard)\s+(all\s+|the\s+)*(instructions?|rules)\s+above\b",
    r"\byou are now (an?|the|my)\b|\bpretend (to be|you are)\b",
    r"<\|?(im_start|im_end|system|assistant|user|endoftext)\|?>|\[/?inst\]|^\s*(system|assistant)\s*[:：]",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)
#: Changes whenever the rules do; part of each file's ingest fingerprint, so new rules
#: re-index every file, not only the files that changed.
RULES_FINGERPRINT = hashlib.sha256(_INSTRUCTION.pattern.encode()).hexdigest()[:12]


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
