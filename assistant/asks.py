"""What a question asks for, read from its wording: the slot an answer must fill, the years
and regions it is about, the words that name its topic, and, for a long question told as a
story, the clause that asks.

The slot decides what counts as an answer: "一个月能领多少钱" is answered only by a sentence
that states an amount, "要等几天" only by a duration, "打什么电话" only by a number. A policy
on the right topic that states none of these does not answer the question, however close
its words are. The patterns below are the ways Chinese asks for each kind of answer and the
ways Chinese policy texts state it; they describe the language, not particular questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from assistant.quantities import Quantity, brackets, stated_quantities, without_held_conditions
from assistant.core.regions import regions_in
from assistant.core.text import Tokenizer, normalise, sentences

#: Chinese and Arabic numerals as policies write them (after NFKC: full-width digits are ASCII).
CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
NUMBER = rf"(?:\d+(?:[.,，]\d+)*|[{CN_DIGITS}]+(?:点[{CN_DIGITS}]+)?)"
_SHARE = rf"(?:百分之[{CN_DIGITS}\d.]+|\d+(?:\.\d+)?\s*[%‰]|[{CN_DIGITS}\d.]+倍|[{CN_DIGITS}\d]+成|[{CN_DIGITS}\d]+分之[{CN_DIGITS}\d]+|一半|减半|半价)"
# What an amount stated as a share or multiple is a share of: money, which Chinese names with
# words ending in 金, 费, 款, 资 or 薪 or by a standard ("失业保险金的三倍", "最低工资标准的
# 百分之九十", "就餐费用的四分之一", "供养金20%"); "三分之二以上的业主" is no amount.
_MONEY_BASE = "金|费|款|资|薪|标准|收入|待遇|津贴|补贴|补助|基数|所得|价格|租|额"
# How many must agree or take part is stated as a share of them: "三分之二以上的业主", "过半数".
_QUORUM = rf"[{CN_DIGITS}\d]+分之[{CN_DIGITS}\d]+(?:以上|以下)?|过半数|半数以上"
_PRICE_CUT = rf"半价|减半|免费|免收|免缴|[{CN_DIGITS}\d](?:\.\d)?折(?!叠|扣)"
_RANGE = rf"(?:{NUMBER}\s*(?:至|到|-|－|—|~|～)\s*)?{NUMBER}"


class Slot(str, Enum):
    """The kind of answer a question asks for; the value is how answers name it."""

    AMOUNT = "金额"
    RATE = "比例"
    DURATION = "期限"
    DEADLINE = "时限"
    DATE = "日期"
    COUNT = "数量"
    AGE = "年龄"
    CONTACT = "联系电话或地址"
    CHANNEL = "办理地点或渠道"
    ELIGIBILITY = "适用对象或条件"
    LIST = "所需材料或条件"
    PROCEDURE = "办理流程"
    CONSEQUENCE = "处理或后果"
    NUMBER = "数字"
    YESNO = "是否"
    META = "文件信息"


#: Slots only a stated figure (or number, or address) answers: a text on the topic without
#: one does not answer the question.
FIGURE_SLOTS = frozenset(
    {Slot.AMOUNT, Slot.RATE, Slot.DURATION, Slot.DEADLINE, Slot.DATE, Slot.COUNT, Slot.AGE, Slot.CONTACT, Slot.NUMBER}
)

# How each slot is asked for. Order matters only for which slot is named first when one
# phrase could be read two ways ("多久内" is a time limit before it is a duration).
_ASKED: tuple[tuple[Slot, re.Pattern], ...] = tuple(
    (slot, re.compile(pattern))
    for slot, pattern in (
        (Slot.META, r"文号|发文(?:机关|单位|部门)|哪个(?:部门|单位|机关)(?:发布|印发|制定|颁布|出台|发的)|(?:什么时候|何时|哪天)(?:开始)?(?:施行|实施|生效)|施行日期|生效日期|是否(?:仍然|还)?有效|还有效|现行有效|废止"),
        (Slot.CONTACT, r"电话|热线|号码|地址|联系方式|网址|邮箱|怎么联系"),
        (Slot.RATE, r"比例|费率|百分之几|百分之多少|几成|多少%|占多少"),
        (Slot.AGE, r"多大(?:年纪|岁数|年龄)|多大了|几岁|多少岁|什么年龄|年龄(?:要求|限制|条件|是多少)"),
        # "哪几个环节" asks which ones (a list), "几个" how many.
        (Slot.COUNT, r"(?:多少|(?<!哪)几)(?:项|个(?!月|工作日|人)|家|类|件|次|名|户|所|套|条|批|处|座|部)"),
        (Slot.DEADLINE, r"(?:多久|几天|多少天|多长时间|几个工作日|多少个工作日)(?:之内|以内|内)|什么时候(?:前|之前|以前)|截止|最晚|最迟|几号(?:前|之前)?|期限内"),
        (Slot.DATE, r"哪一年|哪年|从什么时候|什么时候(?:开始|起)|哪天开始|几月几[日号]"),
        (Slot.DURATION, r"多久|多长时间|多长|几个月|几年|几天|多少天|多少个月|多少年|(?:几|多少)个?工作日|期限|有效期|时限|多少小时|几小时|什么时候|何时|啥时候"),
        (Slot.AMOUNT, r"多少钱|多少元|几元|多少块|几块|(?:交|缴|领|拿|付|花|补|报|赔|罚|发|给|贷|借|收)(?:了|得|到)?(?:多少|几)(?!个?(?:年|月|天|日|周|小时|工作日|次|岁|项|个|家|人|户))|(?:标准|补贴|补助|费用|价格|租金|金额|工资|钱|津贴|救助金|保险金|养老金|罚款|赔偿|资助|奖励|额度|限额|费)(?:是|为|有|能有|大概|一般|要|能|可以)?(?:多少|几)|多少(?:补贴|补助|费用|罚款|资助|钱)|怎么(?:算|计算|计发|收费)|按什么(?:标准|计算|算)|什么标准|标准是什么|便宜多少|优惠多少|省多少"),
        (Slot.CONSEQUENCE, r"有什么(?:后果|影响|处罚|责任)|会有什么(?:后果|影响)"),
        (Slot.CHANNEL, r"由谁|谁(?:出|付|承担|交|支付|清偿|赔|来出)|在哪|去哪|到哪|哪里|哪儿|找谁|向谁|找哪|哪个部门|什么部门|什么机构|哪个机构|谁(?:负责|管|来办)|渠道|什么地方|哪个单位|哪家|网上(?:能|可以)?办|线上"),
        (Slot.ELIGIBILITY, r"谁(?:可以|能|有资格)|哪些人|什么人|什么样的人|哪类人|什么条件|条件|资格|够不够|符不符合|能不能(?:申请|领|享受|办)|可以申请吗|能申请吗"),
        # A document named is asked for when a list word comes with it, or the question ends
        # on it ("生育津贴申请材料？"); "材料交齐以后多久放款" asks how long.
        (Slot.LIST, r"(?:(?<=什么)|(?<=哪些)|(?<=啥)|(?<=要)|(?<=需)|(?<=带)|(?<=准备)|(?<=提交)|(?<=提供)|(?<=交))(?:证明)?(?:材料|资料|证件|证明)|(?:材料|资料|证件|证明)(?=[？?。！!]|$|呢|吗|是什么)|哪些|哪几|包括什么|包括哪些|有什么|有啥|什么东西|带什么|准备什么"),
        (Slot.CONSEQUENCE, r"怎么处理|怎么处罚|如何处罚|如何处理|什么后果|什么处罚|会怎样|会怎么样|会不会被|罚不罚|罚吗|处罚|追究|什么责任|什么影响|怎么办"),
        # Only the asking words: in "怎么结算" the verb says what the question is about.
        (Slot.PROCEDURE, r"怎么(?!样|回事)|如何|流程|手续|步骤"),
        (Slot.NUMBER, r"多少|(?<!哪)几(?=[\u4e00-\u9fff])|多远|多宽|多高|多重|多大(?!年纪|岁数|年龄|了)"),
        (Slot.YESNO, r"吗(?=[？?，,。！!]|$)|能不能|可不可以|是否|有没有|算不算|是不是|要不要|会不会|行不行|合不合法|可以吗|呢(?=[？?]|$)"),
    )
)

# A phone number, a street address, a web address: the contacts a question may ask for. A
# sentence that names a hotline without its number ("设立…心理援助热线") gives no phone.
_PHONE = re.compile(r"(?<!\d)\d{3,4}[-－—]\d{5,8}(?!\d)|(?<!\d)(?:\d{3,4}[-－—]?)?\d{7,8}(?!\d)|(?<!\d)1\d{4}(?!\d)|400[-－]?\d{3}[-－]?\d{4}")
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,}(?:路|街|大道|巷)\d+号|\d+号(?:楼|院)|\d+(?:楼|层|室)")
_WEB = re.compile(r"https?://|www\.|网址|网站")

# How policy texts state each slot. A sentence "fills" a slot when one of these occurs in it.
_FILLED: dict[Slot, re.Pattern] = {
    Slot.AMOUNT: re.compile(
        rf"{_RANGE}\s*(?:元|块|万元|亿元|万)(?![\u4e00-\u9fff]{{0,1}}[年月日])|(?:{_MONEY_BASE})[\u4e00-\u9fff]{{0,4}}?的?{_SHARE}"
        # The share may come first: "按日加收万分之五的滞纳金", "三倍的赔偿金".
        rf"|{_SHARE}的[\u4e00-\u9fff]{{0,4}}?(?:{_MONEY_BASE})"
        rf"|{NUMBER}\s*个月(?:的)?[\u4e00-\u9fff]{{0,10}}(?:{_MONEY_BASE})"
        # A price cut is an amount asked as "能便宜多少" (半价, 免费, 八折), and a payment set
        # "按照…的标准" answers "按什么标准发".
        rf"|{_PRICE_CUT}|按照?[\u4e00-\u9fff（）]{{2,24}}的标准"
    ),
    Slot.RATE: re.compile(_SHARE),
    Slot.DURATION: re.compile(rf"第[\d{CN_DIGITS}]+个(?:自然)?(?:月|年|工作日)|(?<![\d年])(?<!\d月)(?:\d{{1,3}}|[{CN_DIGITS}]+|半)\s*(?:个)?(?:工作日|小时|个月|月(?![\d{CN_DIGITS}]+日)|周(?!岁)|天|日(?![常期])|年(?!\d))(?:内|以内|之内|以上|以下|后|前|起)?"),
    Slot.DEADLINE: re.compile(
        rf"(?:未满|不满|不超过|不足|满)?(?:\d{{1,3}}|[{CN_DIGITS}]+)\s*(?:个)?(?:工作日|日|天|个月|月|周|年|小时)(?:内|以内|之内|前|后)?"
        rf"|(?:当月|次月|每月|每年)\s*\d{{1,2}}\s*日|\d{{1,2}}\s*月\s*\d{{1,2}}\s*日|期满前|届满前|当日|即时|当场"
        rf"|第[\d{CN_DIGITS}]+个(?:自然)?(?:月|年|工作日)"
    ),
    Slot.DATE: re.compile(rf"\d{{4}}\s*年\s*\d{{1,2}}\s*月(?:\s*\d{{1,2}}\s*日)?|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}月\d{{1,2}}日|[{CN_DIGITS}]+年[{CN_DIGITS}]+月[{CN_DIGITS}]+日|起施行|之日起"
        # A point counted from an event: "从参加工作的第二个月开始", "次月起".
        rf"|第[\d{CN_DIGITS}]+个(?:自然)?(?:月|年|工作日)(?:起|开始)|(?:次|下)[月年](?:起|开始)"),
    Slot.COUNT: re.compile(rf"{NUMBER}\s*(?:项|个(?!月|工作日)|家|类|件|次|名|户|所|套|条|批|处|座|部|人)|{_QUORUM}"),
    Slot.AGE: re.compile(rf"{NUMBER}\s*(?:周岁|岁)"),
    Slot.CONTACT: re.compile(f"{_PHONE.pattern}|{_ADDRESS.pattern}|{_WEB.pattern}"),
    Slot.CHANNEL: re.compile(r"窗口|大厅|服务中心|服务站|经办机构|办事处|街道|乡镇|乡、镇|居委会|村委会|居民委员会|村民委员会|社区|人民政府|部门|机构|平台|APP|app|小程序|公众号|网站|网上|线上|好办|省事|一网通办|随申办|医院|银行|向[\u4e00-\u9fff（）]{1,20}(?:申请|提出|提交|投诉|举报|报告|申报|反映)|由[\u4e00-\u9fff]{1,15}(?:承担|负责|交纳|支付|清偿|缴纳|出资|先行)|到[\u4e00-\u9fff]{1,20}(?:办理|申请)"),
    Slot.ELIGIBILITY: re.compile(r"符合|条件|对象|年满|户籍|具有|具备|人员|家庭|可以申请|有权|享受|适用于|范围"),
    Slot.LIST: re.compile(r"包括|包含|如下|下列|以下(?:几|各|材料|条件|情形)|[:：]\s*$|（[一二三四五六七八九十]+）|^\s*\d+[.、]|材料|证明|证件|身份证|户口簿|申请表|复印件|、.+、"),
    Slot.PROCEDURE: re.compile(r"申请|提交|审核|审批|登录|办理|受理|填写|上传|核实|公示|申报|登记|备案"),
    Slot.CONSEQUENCE: re.compile(r"罚款|处分|责令|追究|吊销|没收|停发|减发|取消|赔偿|承担|处以|给予|警告|拘留|退回|追回|不予|视作|视为"),
    Slot.NUMBER: re.compile(rf"{NUMBER}|{_SHARE}"),
    Slot.YESNO: re.compile(r"可以|应当|不得|禁止|有权|免费|享受|视为|属于|予以|无需|不需|不再|需要|须|必须|不能|能够|不予"),
    Slot.META: re.compile(r"〔\d{4}〕|\[\d{4}\]|第\d+号|令第"),
}

_CLAUSE = re.compile(r"[，,。！!？?；;\n]+")
# A clause that asks: a question mark, a question particle or a question word.
#: Question words used vaguely, not asking: 几 counting (好几年, 十几个, 这几天, 几十岁, 几乎)
#: and 怎么 after a negation (没怎么花 "hardly spent", 不怎么样).
_VAGUE = re.compile(r"(?<=[好十这那])几|几(?=[十百千万乎])|(?<=[没不])怎么")


def _asking_words(text: str) -> str:
    """``text`` with vague question words masked (one character for one), so only words
    that ask are read."""
    return _VAGUE.sub(lambda m: "某" * len(m.group(0)), text)


_ASK_MARK = re.compile(r"[？?]|吗|呢|怎|多少|几|哪|什么|啥|谁|能不能|可不可以|是否|有没有|要不要|算不算|如何|多久|多长")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*(?:年|年度)?")
_RELATIVE_YEAR = {"前年": -2, "去年": -1, "今年": 0, "本年度": 0, "明年": 1, "后年": 2}

#: Characters from which a question is read as a story with an ask in it, not as one ask.
LONG_QUESTION = 30


@dataclass(frozen=True)
class Ask:
    """A question, read.

    Attributes:
        text: the question as the user typed it (control characters removed).
        slots: the kinds of answer asked for, in the order asked (may be empty: "说说公租房").
        years: years the question is about (2025年, 今年...), counted from ``this_year``.
        regions: regions it names (without 省/市).
        count_units: the units a count is asked in ("多少户" -> "户"), for :func:`fills`.
        articles: the articles the question names ("社会救助暂行办法 第十一条" -> ("第十一条",)).
        contact: which contact is asked for: "phone", "address", "web", or "" (any).
        money: the question asks for money itself ("多少钱", "几元"): a share of a base
            ("工资的百分之九十") does not say how much money.
        bound: "max" when it asks for an upper limit ("最多", "最高", "上限"), "min" for a lower
            one ("最少", "最低", "起码"), else "".
        penalty: the question is about a penalty or a consequence; otherwise an amount in a
            penalty clause ("处…罚款") is not the amount asked for.
        topic_terms: its search terms without the words that only say what kind of answer is
            wanted ("多少钱", "材料", "怎么办"), region names and years: what the question is
            about. A long question's story counts too: it often names the benefit the ask
            leaves out ("…每个月领着失业金…生孩子那个月，能不能多给点钱？").
        clause_terms: the topic terms of the asking clause (all of them for a short question).
        clause: the clause that asks, for a question told as a story ("…每个月能报多少？");
            the whole question when it is short.
        quantities: the ages, periods and areas the question states ("我爸今年67岁"), which
            pick the bracket of a rule that applies (:mod:`assistant.quantities`).
        about_validity: the question asks when a document takes effect, what it repeals or
            whether it is in force (施行, 废止, 有效...).
        payer: the question asks who pays ("钱由谁出", "医药费该谁出"): only a sentence naming
            who bears or pays a cost states it, not one naming an office.
    """

    text: str
    slots: tuple[Slot, ...] = ()
    years: frozenset[int] = frozenset()
    regions: frozenset[str] = frozenset()
    topic_terms: tuple[str, ...] = ()
    clause_terms: tuple[str, ...] = ()
    clause: str = ""
    asked_spans: tuple[str, ...] = field(default=(), repr=False)
    count_units: str = ""
    articles: tuple[str, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    about_validity: bool = False
    payer: bool = False
    contact: str = ""
    money: bool = False
    bound: str = ""
    penalty: bool = False

    @property
    def figure_slots(self) -> tuple[Slot, ...]:
        """The slots of :data:`FIGURE_SLOTS` asked for."""
        return tuple(s for s in self.slots if s in FIGURE_SLOTS)

    @property
    def is_long(self) -> bool:
        return len(self.text) >= LONG_QUESTION


def read_question(question: str, this_year: int, tokenizer: Tokenizer) -> Ask:
    """Read ``question``: its slots, years, regions, topic terms and asking clause.

    A long question is read the way a person hears it: the story sets the scene, and what is
    asked, with the kind of answer wanted, is in its asking sentences (those ending in ？, or
    the last one). "HR还问我打算什么时候要孩子。公司这样做合法吗？" asks yes or no, not when.

    Args:
        this_year: the year 今年 means (the current year in the product; fixed in tests).
        tokenizer: cuts the topic terms.
    """
    asking = normalise(asking_sentences(question))
    slots, spans = _slots(_asking_words(asking))
    if not slots:
        slots, spans = _lookup_slots(_asking_words(asking))
    clause = asking_clause(question)
    units = "".join(dict.fromkeys(m for p in spans for m in _COUNT_UNIT.findall(p)))
    text = normalise(question)
    return Ask(
        contact=next((kind for kind, words in _CONTACT_KINDS if any(w in text for w in words)), ""),
        money=bool(_ASKS_MONEY.search(text)),
        bound="max" if _ASKS_MAX.search(text) else ("min" if _ASKS_MIN.search(text) else ""),
        penalty=bool(_ASKS_PENALTY.search(text)) or Slot.CONSEQUENCE in slots,
        count_units=units,
        articles=tuple(dict.fromkeys(_ARTICLE.findall(question))),
        text=question,
        slots=slots,
        years=frozenset(years_in(question, this_year)),
        regions=frozenset(regions_in(question)),
        topic_terms=topic_terms(question, tokenizer, spans),
        clause_terms=topic_terms(clause, tokenizer, spans),
        clause=clause,
        asked_spans=spans,
        quantities=stated_quantities(text),
        about_validity=bool(_ASKS_VALIDITY.search(text)),
        payer=bool(_ASKS_PAYER.search(asking)),
    )


def _slots(text: str) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """The slots ``text`` asks for, and the phrases that ask them."""
    found = [(m.start(), slot, m.group(0)) for slot, pattern in _ASKED for m in pattern.finditer(text)]
    slots: list[Slot] = []
    spans: list[str] = []
    # One phrase, one slot: "多久内" is a time limit, not also a duration; at one place the
    # longest phrase wins ("多少钱" over "多少").
    taken: list[tuple[int, int]] = []
    for start, slot, phrase in sorted(found, key=lambda f: (f[0], -len(f[2]))):
        end = start + len(phrase)
        if any(s < end and start < e for s, e in taken):
            continue
        taken.append((start, end))
        spans.append(phrase)
        if slot not in slots:
            slots.append(slot)
    # "报销多少比例" asks for a rate, not for any number: the bare "多少" says no more.
    if Slot.NUMBER in slots and any(s in FIGURE_SLOTS and s is not Slot.NUMBER for s in slots):
        slots.remove(Slot.NUMBER)
    # Slots as asked, but a yes/no reading last: "能领多少钱吗" asks for an amount first.
    return tuple(sorted(slots, key=lambda s: s is Slot.YESNO)), tuple(spans)


# A lookup typed without a question word ("青海2024民生实事 全年安排资金", "求职补贴 标准 期限")
# asks by naming what it wants.
_NAMED: tuple[tuple[Slot, re.Pattern], ...] = tuple(
    (slot, re.compile(pattern))
    for slot, pattern in (
        (Slot.AMOUNT, r"资金|金额|费用|标准|价格|租金|补贴额|限额|额度"),
        (Slot.COUNT, r"项目数|人数|户数|数量|个数|几项"),
        (Slot.LIST, r"名称|名单|清单|目录"),
        (Slot.DURATION, r"周期|期限|时限|时长|天数"),
    )
)


def _lookup_slots(text: str) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """The slots a lookup without a question word names, by its own nouns: in each of its
    space-separated phrases the last one, since a Chinese noun phrase ends in its head
    ("人工费用拨付周期" asks for a period; 费用 only says of what)."""
    # "应当支付什么费用" asks which fee, not how much: a noun after 什么/哪种 names a kind.
    found = []
    for part in re.finditer(r"\S+", text):
        named = [
            (m.start() + part.start(), slot, m.group(0))
            for slot, pattern in _NAMED
            for m in pattern.finditer(part.group(0))
            if not text[: m.start() + part.start()].endswith(("什么", "哪种", "哪类", "哪项", "哪些", "啥"))
        ]
        if named:
            found.append(max(named))
    found.sort()
    slots = tuple(dict.fromkeys(slot for _, slot, _ in found))
    return slots, tuple(phrase for _, _, phrase in found)


def topic_terms(text: str, tokenizer: Tokenizer, asked: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Search terms of ``text`` once the phrases that ask (``asked``), region names and years
    are taken out: what the question is about."""
    text = normalise(text)
    for phrase in sorted(asked, key=len, reverse=True):
        text = text.replace(phrase, " ")
    text = _REGION_MENTION.sub(" ", _drop_regions(text))
    text = _YEAR.sub(" ", text)
    return tuple(t for t in tokenizer.query_terms(text) if t not in _NOT_TOPIC)


#: Words of quantity and time that say how often or how much, never what about: "每个月",
#: "一次", "现在", "已经" appear in questions on every topic.
_NOT_TOPIC = frozenset("每个 每月 每年 每人 每天 每次 一个 一次 一年 一般 现在 目前 已经 还要 还能 还有 之前 以后 时候 的话".split())


_REGION_MENTION = re.compile(r"(?<![\u4e00-\u9fff])(?:省|市|区|县)(?=[\u4e00-\u9fff]|$)")


def _drop_regions(text: str) -> str:
    for name in sorted(regions_in(text), key=len, reverse=True):
        text = re.sub(f"{re.escape(name)}(?:省|市|自治区|特别行政区)?", " ", text)
    return text


def asking_sentences(question: str) -> str:
    """The sentences of ``question`` that ask: the last run of sentences ending in ？ (or the
    last sentence when none does); a short question whole."""
    if len(question) < LONG_QUESTION:
        return question.strip()
    parts = sentences(question)
    if not parts:
        return question.strip()
    asks = [i for i, p in enumerate(parts) if p.endswith(("？", "?"))]
    if not asks:
        return parts[-1]
    last = first = asks[-1]
    while first - 1 in asks:
        first -= 1
    return "".join(parts[first : last + 1])


def asking_clause(question: str) -> str:
    """What a long question asks, with enough context to name it: the clauses of its asking
    sentences that ask ("…护理费，每个月能报多少？" -> the last two clauses), with the clause
    before them when they alone are too short to name anything; a short question whole."""
    if len(question) < LONG_QUESTION:
        return question.strip()
    asking = asking_sentences(question)
    clauses = [c.strip() for c in _CLAUSE.split(asking) if c.strip()]
    asks = [i for i, c in enumerate(clauses) if _ASK_MARK.search(_asking_words(c))]
    if len(asking) >= LONG_QUESTION and asks:
        first = last = asks[-1]
        while first - 1 in asks:
            first -= 1
        clauses = clauses[: last + 1]
        picked = clauses[first:]
    else:
        before = question[: question.rfind(asking)] if asking in question else ""
        first, picked = 0, [asking.rstrip("？?。！!；; ")]
        clauses = [c.strip() for c in _CLAUSE.split(before) if c.strip()] + picked
        first = len(clauses) - 1
    if sum(len(c) for c in picked) < 14 and first > 0:
        picked = [clauses[first - 1], *picked]
    return "，".join(picked) + ("？" if question.rstrip().endswith(("？", "?")) else "")


def asked_parts(question: str) -> tuple[tuple[str, tuple[Slot, ...]], ...]:
    """The separate things a question asks, each with its slots, when it asks more than one
    ("在哪办？提交后要等多久？" -> ("在哪办", (CHANNEL,)), ("提交后要等多久", (DURATION,))); ()
    when it asks one. A part is a sentence of the asking sentences that ends in a question mark
    and holds a question word."""
    asking = asking_sentences(question)
    parts = [p.strip() for p in re.split(r"[？?]+", asking) if p.strip()]
    out = []
    for part in parts:
        clauses = [c for c in _CLAUSE.split(part) if c.strip()]
        first = next((i for i, c in enumerate(clauses) if _ASK_MARK.search(_asking_words(normalise(c)))), None)
        if first is None:
            continue
        # The part from its first asking clause on: "听说手机上能办，在哪办" asks where.
        part = "，".join(clauses[first:])
        out.append((part, _slots(_asking_words(normalise(part)))[0]))
    return tuple(out) if len(out) >= 2 else ()


_DOC_NUMBER_YEAR = re.compile(r"[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]")


def years_in(text: str, this_year: int) -> set[int]:
    """Years ``text`` is about: "2025年" -> {2025}; 今年/去年/明年/前年/后年 count from ``this_year``
    when no year is written out."""
    # The year inside a 文号 ("劳社部发〔2008〕3号") dates the document, not what is asked.
    text = _DOC_NUMBER_YEAR.sub("", normalise(text))
    found = {int(y) for y in _YEAR.findall(text) if 1949 <= int(y) <= this_year + 10}
    if found:
        # "我今年大学毕业，省里2024年有什么安排": the year written out is the one asked about;
        # 今年 or 去年 beside it dates the asker's own story.
        return found
    return {this_year + delta for word, delta in _RELATIVE_YEAR.items() if word in text}


_VERSION = re.compile(r"((?:19|20)\d{2})\s*年?[^，,。？?；;\s]{0,6}?(?:版|修订|修正|原版|那一版)")


def versions_named(text: str) -> set[int]:
    """Years of document versions a question names ("2016年那版", "2013年修订版"): asked about
    wherever they stand in the question."""
    return {int(y) for y in _VERSION.findall(normalise(text))}


_CONTACT_KINDS = (("phone", ("电话", "热线", "号码")), ("web", ("网址", "网站", "链接")), ("address", ("地址", "在哪个位置", "门牌")))
_ASKS_MONEY = re.compile(r"(?:多少|几)(?:块)?钱|(?:多少|几)(?:百|千|万|亿)?(?:元|块)")
_ASKS_MAX = re.compile(r"最多|最高|上限|最长|不能超过|不超过|顶多|封顶")
_ASKS_MIN = re.compile(r"最少|最低|下限|最短|起码|至少|不能低于|不低于")
# "谁出/由谁付/该谁承担": a place or channel that answers it is the one who pays.
_ASKS_PAYER = re.compile(r"谁(?:来)?(?:出|付|交|承担|支付|清偿|赔|掏|负担)|由谁")
_PAYER = re.compile(r"由[\u4e00-\u9fff（）、]{1,24}(?:承担|交纳|缴纳|支付|清偿|出资|负担|先行|筹集|垫付|赔偿)|共同出资|分摊|出资|筹集|承担|负担")
_ASKS_PENALTY = re.compile(r"罚|处分|处理|后果|责任|违法|违规|追究|处罚|滞纳金|没收")
# How a sentence bounds a figure: an upper limit or a lower one.
_STATES_MAX = re.compile(r"不得超过|不超过|最高|最多|最长|以内|之内|以下|上限|封顶|不高于")
_STATES_MIN = re.compile(r"不得低于|不低于|不少于|最低(?!生活|工资)|最少|以上|下限|起付|不足")
# A document's closing provisions (when it takes effect, what it repeals, who interprets it)
# carry dates and numbers of the document itself, which answer a figure question only when
# the question asks about the document's validity.
_CLOSING = re.compile(r"起施行|起实施|起执行|同时废止|予以废止|负责解释|解释权|有效期至|有效期为?\d+年")
_ASKS_VALIDITY = re.compile(r"施行|实施|生效|废止|有效期|失效|有效|出台|印发|发布|颁布|执行")
# A penalty clause: "处…罚款", "罚金", "没收".
_PENALTY = re.compile(r"处[^。；;]{0,30}罚款|罚款[^。；;]{0,6}元|罚金|没收|滞纳金")
# Money, in figures or as a payment per person or month set by a named standard ("每人每月一般
# 不超过本市最低生活保障标准"): either says how much ("月收入不低于最低工资标准" is a condition).
_MONEY = re.compile(
    rf"{_RANGE}\s*(?:元|块|万元|亿元)|每(?:人|户|月|年)[\u4e00-\u9fff]{{0,6}}(?:不超过|不低于|不高于|相当于|按)[\u4e00-\u9fff]{{0,12}}标准"
)


def slots_stated(ask: Ask, sentence: str) -> frozenset[Slot]:
    """Which of ``ask``'s slots ``sentence`` states, read as that question reads them: a
    count in the units asked, the kind of contact asked (a URL is no street address), who
    pays when that is asked (an office in charge is not), money when money is asked
    ("多少钱" is not answered by "工资的百分之九十"), a limit in the
    direction asked ("最高不能超过" is not answered by "不得低于"), no amount from a penalty
    clause unless the question is about a penalty, and no figure from a closing provision
    ("本法自2025年6月1日起施行") unless the question is about the document's validity."""
    whole = normalise(sentence)
    closing = closing_provision(ask, whole)
    # The bounds of a condition that holds the asker's own age or period describe the asker,
    # not the figure asked.
    figures = without_held_conditions(ask.quantities, whole)
    out = set()
    for slot in ask.slots:
        text = figures if slot in FIGURE_SLOTS else whole
        if closing and slot in FIGURE_SLOTS:
            continue
        if slot is Slot.AMOUNT and ask.money:
            if not _MONEY.search(text):
                continue
        elif slot is Slot.CHANNEL and ask.payer:
            if not _PAYER.search(text):
                continue
        elif not fills(slot, text, ask.count_units):
            continue
        if slot in FIGURE_SLOTS and not ask.penalty and _PENALTY.search(text) and slot is not Slot.CONTACT:
            continue
        if slot is Slot.CONTACT and ask.contact:
            pattern = {"phone": _PHONE, "address": _ADDRESS, "web": _WEB}[ask.contact]
            if not pattern.search(text):
                continue
        if slot in FIGURE_SLOTS and ask.bound and not _bound_agrees(ask.bound, text, _pattern(slot, ask.count_units)):
            continue
        out.add(slot)
    return frozenset(out)


#: The fields of an :class:`Ask` that say what is asked and how it is to be read (as against
#: what it is about): a "what about X" follow-up takes them from the turn before.
HOW_ASKED = ("slots", "asked_spans", "count_units", "contact", "money", "bound", "penalty", "payer")
_WHAT_ABOUT = re.compile(r"呢\s*[？?]?\s*$")


def asks_as_before(turn: str) -> bool:
    """Whether a follow-up turn asks what the turn before asked, of another subject: "那在读
    小学的孩子呢？", "那生孩子领的津贴呢？" (a turn ending in 呢 that asks nothing of its own)."""
    return bool(_WHAT_ABOUT.search(turn.strip()))


def closing_provision(ask: Ask, sentence: str) -> bool:
    """Whether ``sentence`` (normalised, :func:`assistant.core.text.normalise`) is one of a
    document's closing provisions (when it takes effect, what it repeals, who interprets it)
    and ``ask`` is not about the document's validity: such a sentence then answers nothing
    that was asked."""
    return not ask.about_validity and bool(_CLOSING.search(sentence))


def _bound_agrees(asked: str, text: str, figure: re.Pattern) -> bool:
    """Whether the limit a sentence puts on its figure goes the way the question's does, read
    in the characters around each figure (最低 in 最低生活保障 or 最低工资 is no lower limit);
    true when no figure carries a limit, or one carries both ends."""
    found = False
    for m in figure.finditer(text):
        # The limit words of the figure's own clause: in "一年以上不满三年的，试用期不得超过二个月"
        # the 以上 of the condition does not bound 二个月.
        start = max(max(text.rfind(p, 0, m.start()) for p in "，；。,;") + 1, m.start() - 16)
        end = min([i for i in (text.find(p, m.end()) for p in "，；。,;") if i >= 0] + [m.end() + 6])
        near = text[start:end]
        # A bracket the figure depends on is its condition, not its limit: in
        # "满五年不足七年的为十五个月" the 不足 bounds the years paid, not the months, and
        # 五年, 七年 are the condition's figures, not the rule's.
        after = near.find("的", m.end() - start)
        if after >= 0 and brackets(near[: after + 1]):
            continue
        cut = near.rfind("的", 0, m.start() - start)
        if cut > 0 and brackets(near[: cut + 1]):
            near = near[cut + 1 :]
        says_max, says_min = bool(_STATES_MAX.search(near)), bool(_STATES_MIN.search(near))
        if says_max == says_min:
            continue
        found = True
        if says_max == (asked == "max"):
            return True
    return not found


_ARTICLE = re.compile(r"第[零〇一二两三四五六七八九十百千\d]+条")
_COUNT_UNIT = re.compile(r"(?:多少|几)(项|个|家|类|件|次|名|户|所|套|条|批|处|座|部)")


def _pattern(slot: Slot, units: str = "") -> re.Pattern:
    """How a sentence states ``slot``; a count of the units the question asks for ("多少个
    小区、惠及多少户" is answered by a count of 个 or 户, not of 项), never "一个个"."""
    if slot is Slot.COUNT and units:
        return re.compile(rf"{NUMBER}\s*([{re.escape(units)}])(?!\1)(?!月|工作日)|{_QUORUM}")
    return _FILLED[slot]


def fills(slot: Slot, sentence: str, units: str = "") -> bool:
    """Whether ``sentence`` states what ``slot`` asks for (``units``: see :attr:`Ask.count_units`)."""
    return bool(_pattern(slot, units).search(normalise(sentence)))


def filler(slot: Slot, sentence: str, units: str = "") -> str:
    """The words of ``sentence`` that fill ``slot`` ("每人每月1309元" -> "1309元"), or ""."""
    m = _pattern(slot, units).search(normalise(sentence))
    return m.group(0) if m else ""
