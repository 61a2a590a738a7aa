"""Quantities a resident states and the brackets a policy sets on them.

A story says "我爸今年67岁", "签了两年的劳动合同", "交了3年多失业保险费"; the rule that answers it
is the one whose bracket holds that quantity: "六十五周岁以上免费", "劳动合同期限一年以上不满三年的，
试用期不得超过二个月", "累计缴费时间满三年不足四年的为九个月". Policy texts write brackets with a
small set of words (以上, 以下, 满, 不满, 不足, 未满, 不超过, 至), which is what is read here.

Dimensions: ``age`` (岁, 周岁), ``months`` (a period: 年 counted as 12 months, 个月) and ``area``
(平方米, 平米, ㎡). A 4-digit year ("2025年") is a date, not a period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两三四五六七八九十百千"
_NUM = rf"(?:\d+(?:\.\d+)?|[{_CN}]+|半)"


def number(text: str) -> float | None:
    """"67" -> 67, "六十五" -> 65, "两" -> 2, "十二" -> 12, "一百零五" -> 105, "半" -> 0.5;
    None for anything else (numbers above 9999 are not needed for ages, periods or areas)."""
    if not text:
        return None
    if text == "半":
        return 0.5
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            return None
    return float(total + (digit or 0))


@dataclass(frozen=True)
class Quantity:
    """A quantity stated in a question: ``dim`` (age, months, area) and its ``value``."""

    dim: str
    value: float


@dataclass(frozen=True)
class Bracket:
    """A condition a sentence sets on one dimension: ``low`` <= value (or < when not
    ``low_inclusive``) and value < ``high`` (or <= when ``high_inclusive``); None is open."""

    dim: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive)):
            return False
        return True


# "<number><unit>": the unit decides the dimension, and how a number of it converts to the
# dimension's measure (a year of a period is 12 months).
_UNIT = r"(?P<unit>周岁|岁|个月|年|平方米|平米|㎡)"
_AMOUNT = re.compile(rf"(?<![\d{_CN}])(?P<num>{_NUM})(?P<more>多)?{_UNIT}(?P<more2>多|半)?")
_SCALE = {"周岁": ("age", 1), "岁": ("age", 1), "个月": ("months", 1), "年": ("months", 12), "平方米": ("area", 1), "平米": ("area", 1), "㎡": ("area", 1)}


def _in_measure(num: str, unit: str, extra: float = 0.0) -> tuple[str, float] | None:
    """(dimension, value in its measure) of "<num><unit>", plus ``extra`` units; None for a
    number that cannot be read or a 4-digit year (2025年 is a date)."""
    value = number(num)
    if value is None or (unit == "年" and value >= 1000):
        return None
    dim, scale = _SCALE[unit]
    return dim, (value + extra) * scale


def _measure(m: re.Match) -> tuple[str, float] | None:
    extra = 0.0
    if m.group("more2") == "半":  # 两年半
        extra = 0.5
    elif m.group("more") or m.group("more2"):
        # "二十多年" is 20-odd, "3年多" a little over 3: the middle of what they can mean.
        value = number(m.group("num")) or 0.0
        extra = 5 if value >= 10 and value % 10 == 0 else 0.5
    return _in_measure(m.group("num"), m.group("unit"), extra)


def stated_quantities(question: str) -> tuple[Quantity, ...]:
    """The ages, periods and areas ``question`` states ("我爸今年67岁" -> age 67; "签了两年的合同"
    -> months 24), in order, without repeats."""
    found = []
    for m in _AMOUNT.finditer(question):
        measured = _measure(m)
        if measured is not None:
            found.append(Quantity(*measured))
    return tuple(dict.fromkeys(found))


_CLAUSE = re.compile(r"[，,；;。：:]")
# A bound: "年满60周岁", "不满三年", "一年以上", "不超过55周岁".
_BOUND = re.compile(
    rf"(?P<pre>年满|未满|不满|不足|满|超过|不超过|达到|低于|高于)?(?P<num>{_NUM}){_UNIT}(?P<post>以上|以下|以内|之内|及以上|及以下|或以上)?"
)
_CONDITION_END = re.compile(r"(?:的|时|者|期间)[，,；;：:]?$")


def is_condition(clause: str) -> bool:
    """Whether a clause states a condition: it ends in 的, 时, 者 or 期间 ("劳动合同期限不满
    六个月的，", "在领取失业保险金期间")."""
    return bool(_CONDITION_END.search(clause.strip()))


def _condition_bounds(clause: str):
    """The bounds a clause sets as a condition: (match, dimension, value) for each."""
    conditional = is_condition(clause)
    for m in _BOUND.finditer(clause):
        measured = _in_measure(m.group("num"), m.group("unit"))
        if measured is None:
            continue
        pre = m.group("pre") or ""
        if measured[0] != "age" and not (conditional or pre in ("满", "年满", "不满", "未满", "不足")):
            continue
        yield m, *measured


def brackets(sentence: str) -> tuple[Bracket, ...]:
    """The conditions ``sentence`` sets on ages, periods and areas, one per clause and
    dimension ("劳动合同期限一年以上不满三年的，试用期不得超过二个月" -> months in [12, 36)).

    An age bound counts wherever it is (ages are always conditions on a person); a period or
    an area bound only in a clause that states a condition (ending in 的, 时 or 者, or opened
    by 满/年满/不满): "试用期不得超过二个月" is the rule's figure, not its condition.
    """
    out = []
    for clause in _CLAUSE.split(sentence):
        bounds: dict[str, dict] = {}
        for m, dim, value in _condition_bounds(clause.strip()):
            pre, post = m.group("pre") or "", m.group("post") or ""
            b = bounds.setdefault(dim, {})
            if pre in ("年满", "满", "达到") or post in ("以上", "及以上", "或以上"):
                b["low"], b["low_inclusive"] = value, True
            elif pre in ("超过", "高于"):
                b["low"], b["low_inclusive"] = value, False
            elif pre in ("未满", "不满", "不足", "低于"):
                b["high"], b["high_inclusive"] = value, False
            elif pre == "不超过" or post in ("以下", "及以下", "以内", "之内"):
                b["high"], b["high_inclusive"] = value, True
        out += [Bracket(dim, **b) for dim, b in bounds.items() if b]
    return tuple(out)


def without_held_conditions(quantities: tuple[Quantity, ...], sentence: str) -> str:
    """``sentence`` without the bounds of each clause whose condition holds a quantity the
    question states: for "干了十一年，年假有几天？" the 一年以上 of "连续工作一年以上的，享受带薪
    年休假" is the asker's own situation, not the number of days asked."""
    if not quantities:
        return sentence
    parts = re.split(rf"(?<={_CLAUSE.pattern})", sentence)
    for n, clause in enumerate(parts):
        bare = clause.rstrip("，,；;。：:")
        held = [b for b in brackets(bare) if any(q.dim == b.dim and b.holds(q.value) for q in quantities)]
        if held:
            dims = {b.dim for b in held}
            spans = [m.span() for m, dim, _ in _condition_bounds(bare) if dim in dims]
            for start, end in reversed(spans):
                clause = clause[:start] + clause[end:]
            parts[n] = clause
    return "".join(parts)


def fit(quantities: tuple[Quantity, ...], sentence: str) -> float | None:
    """How well ``sentence``'s brackets hold the question's quantities: 1.0 when a bracket
    closed at both ends holds a stated value ("满两年不足三年" for 两年半), 0.25 when only an
    open one does ("满一年以上": most conditions of eligibility are), 0.0 when brackets on stated dimensions exist and none holds,
    None when the sentence sets no bracket on what the question states."""
    if not quantities:
        return None
    result = None
    for b in brackets(sentence):
        for q in quantities:
            if q.dim != b.dim:
                continue
            if b.holds(q.value):
                closed = b.low is not None and b.high is not None
                result = max(result or 0.0, 1.0 if closed else 0.25)
            elif result is None:
                result = 0.0
    return result
