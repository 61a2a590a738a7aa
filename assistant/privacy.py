"""Personal data out of what is stored: 身份证号, phone and bank card numbers, e-mail addresses,
other document numbers, number plates, house numbers and names.

Residents type these into questions and comments ("我叫王建国，住在幸福路12号3栋502室，电话
021-64371234，社保卡怎么办"). Logs and the feedback store keep the text with each item replaced by
a label. Full-width digits (１３８…) are read as ASCII first. Patterns:

- 身份证号: 18 characters per GB 11643-1999 (6-digit area code, birth date 19xx/20xx, 3-digit
  sequence, check digit 0-9 or X; the date part must be a real month and day), also typed in
  groups with spaces or hyphens, and the 15-digit number issued before 1999. The check digit
  is not verified: a mistyped number is still someone's.
- Mobile: 11 digits starting 13-19 (the mainland numbering plan), grouped or not, optionally
  +86 / 0086 / (+86) and an extension; not when 元/万 follows (an amount).
- Bank card: 16 to 19 digits, optionally grouped by spaces or hyphens, that pass the Luhn check
  (ISO/IEC 7812), so an ordinary long number (文号, amounts) is left alone; two dates in a row
  are not a card.
- Landline: an area code starting 0 (bracketed, or followed by a hyphen or space) or +86 and
  one without the 0, then 7 or 8 digits (grouped or not) and an optional extension (转, 分机);
  or 7 to 14 digits right after 电话/座机/手机/联系方式. The area code must be marked off, so an
  amount such as 02112345678 is not read as one.
- E-mail: local part, @, a dotted domain (a space or 。 typed in it too).
- Other numbers after what they identify: 微信号, QQ, 护照, 通行证, and any …证号/…卡号/…簿编号
  (社保卡号, 残疾证号, 户口簿编号); WeChat ids (wxid_…); number plates (粤A12345).
- House number: the numbered part after a road, lane, village or estate word (…路12号,
  …小区3栋2单元502室 or 3-2-502, …弄5号, 长乐路一百弄五号, 张家村3组15号), with a room number
  that follows bare; or a building-and-room pair on its own (3栋502室, B座1203). The road or
  estate name stays, so a gap still says where. A 文号 (〔2024〕13号) has no road word before
  its number, and a count (全村12户, 小区3栋以上) is no address.
- Name: a surname and one or two characters after a cue that introduces a name (我叫, 我妈叫,
  姓名：, 联系人：, 户主, 落款, 我姓王叫…), or after 本人; or a surname with a form of address (王先生,
  李女士, 王建国老师, 张阿姨, 李婶). The surnames are roughly the hundred commonest (as ranked by
  the Ministry of Public Security's yearly name reports), and after a cue some less common
  ones; characters that begin ordinary words (龄, 校: 高龄老人, 高校毕业生) end a name. A name
  with a rare surname, or given without a cue (张建国申请低保, 我是王建国), is not found: no name
  recogniser ships offline that tells 高龄 from 高建.
"""

from __future__ import annotations

import logging
import re

ID_LABEL, MOBILE_LABEL, CARD_LABEL = "[身份证号]", "[手机号]", "[银行卡号]"
PHONE_LABEL, EMAIL_LABEL, HOUSE_LABEL, NAME_LABEL = "[电话]", "[邮箱]", "[门牌号]", "[姓名]"
DOCUMENT_LABEL, PLATE_LABEL = "[证件号]", "[车牌号]"

#: Roughly the hundred commonest surnames, most frequent first: with a form of address
#: (王先生) they make a name.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵"
            "万覃武钱戴严欧莫孔向常汤康易乔赖文")
#: Less common ones, trusted only after a cue that introduces a name (我叫, 联系人：): alone,
#: 安, 关, 包, 单 and 申 begin ordinary words (安排, 关于, 包括, 单位, 申请).
MORE_SURNAMES = "洪施牛温关葛聂章岳齐安樊柳翟颜倪殷包季申鲁祝焦凌单庞左喻柏窦云苗凤俞柴华滕全车"
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容|尉迟|公孙"
_SURNAME = f"(?:{_COMPOUND_SURNAMES}|[{SURNAMES}])"
_ANY_SURNAME = f"(?:{_COMPOUND_SURNAMES}|[{SURNAMES}{MORE_SURNAMES}])"
_CJK = "[\u4e00-\u9fff]"
# A given name's characters: not a particle or an age or school word, so 高龄老人, 高校毕业生
# and 黄的师傅 are not read as names.
_GIVEN = "(?:(?![的之和与是在了龄老岁校级])[\u4e00-\u9fff])"

# Full-width digits and signs, as phone keyboards type them, are read as ASCII first.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９＋－．＠", "0123456789+-.@")
# Digits of one number, possibly grouped by a space, hyphen or dot ("138 1234 5678").
_SEP = "[-. ]{0,2}"

_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}[- ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?\d{3}[\dXx](?![0-9A-Za-z])"
                 # The 15-digit card issued before 1999: two-digit year.
                 r"|(?<![0-9A-Za-z])[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])")
_MOBILE = re.compile(rf"(?<!\d)(?:[(（]?(?:\+|00)?86[)）]?[- ]?)?1[3-9](?:{_SEP}\d){{9}}(?:转\d{{1,5}})?(?!\d)(?!\s*[元万亿块])")
# An ID number typed in groups ("1101 0119 9003 0775 78"): the digits, read again without the spaces.
_GROUPED_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d(?:[- ]?\d){13,16}[- ]?[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){15,18}(?!\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANDLINE = re.compile(
    r"(?<!\d)(?:\+?86[- ]?[1-9]\d{1,2}[- ]?|[(（]0\d{2,3}[)）][- ]?|0\d{2,3}[- ])\d{3,4}[- ]?\d{4}(?:(?:[-转]|分机)\d{1,5})?(?!\d)")
_LOCAL_PHONE = re.compile(r"((?:电话|座机|联系方式|固话|手机|号码)(?:号码)?[是为:：]?\s*)\d[\d -]{5,12}\d(?!\d)")
# Starts only where a run of address characters starts, so a long run costs one pass.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+\s?@\s?[\w-]+(?:\s?[.。]\s?[\w-]+)+")
# A number given after what it identifies: 微信号, QQ, 护照, 社保卡号, 车牌...
_DOCUMENT = re.compile(r"((?:微信号?|wx|(?:QQ|qq)号?|护照(?:号码?)?|通行证(?:号码?)?|[\u4e00-\u9fff]{1,4}(?:证|卡|簿)(?:编号|号码|号)"
                       r"|证件号码?|账号|帐号|卡号)[是为:：]?\s*)[A-Za-z0-9_-]{5,}")
_WXID = re.compile(r"wxid_[A-Za-z0-9_-]+")
_PLATE = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][·・ ]?[A-HJ-NP-Z0-9]{5,6}(?![A-Za-z0-9])")
# House numbers: digits, or Chinese numerals right after a road word (长乐路一百弄五号).
_NUM = "[0-9]+"
_CN_NUM = "[一二三四五六七八九十百零〇两]+"
# One numbered unit of an address: 12号, 甲12号, 12-3号, 3栋, 2单元, 502室, 5弄, 8号楼, 3组, A座.
_UNIT = (rf"(?:[甲乙丙丁附]?{_NUM}(?:-{_NUM})*\s?(?:号楼|号院|单元|[号栋幢弄室层楼组])|[A-Za-z]座|{_NUM}-{_NUM}(?:-{_NUM})?(?![0-9年月日])"
         f"|{_CN_NUM}(?:号楼|号院|单元|[号弄室组]))")
_HOUSE = re.compile(f"((?:路|街|大道|巷|弄|胡同|里|村|屯|庄|小区|花园|公寓|大厦|新村|家园|苑|园|广场|社区|小组|居委会|村委会)(?:[东西南北中]|[一二三四五六七八九十]段)?)"
                    # A room number may follow without a unit word (…12号1201); a count (2025年) may not.
                    f"[- ]?(?:{_UNIT}[- ]?)+(?:{_NUM}(?![0-9年月日元万%个人户岁]))?(?!地块|工程|文件|令|线|号|以上|以下|以内)")
_BUILDING_ROOM = re.compile(f"(?<![0-9〔〕\\]]){_NUM}(?:号楼|栋|幢)(?:{_NUM}单元)?{_NUM}(?:室|号)?(?![0-9A-Za-z层年户])"
                            f"|(?<![A-Za-z])[A-Za-z]座[0-9]{{3,5}}(?:室)?(?![0-9])")
_NAME_CUE = ("(?:我|他|她|名|名字|老人|儿子|女儿|父亲|母亲|爸爸|妈妈|我爸|我妈|老公|老婆|丈夫|妻子|老伴|孩子|奶奶|爷爷"
             "|外婆|外公|姥姥|姥爷|婆婆|公公|哥哥|姐姐|弟弟|妹妹|朋友|邻居)(?:叫|名叫|叫做)\\s*"
             "|(?:姓名|名字)[是为:：\\s]\\s*|(?:联系人|申请人|经办人|本人姓名)[:：\\s]\\s*|(?:户主|落款|签名)[:：\\s]?\\s*")
_NAME_AFTER_CUE = re.compile(f"({_NAME_CUE}){_ANY_SURNAME}{_GIVEN}{{1,2}}")
# "我姓王，叫建国": the surname and the given name apart.
_SPLIT_NAME = re.compile(f"(我|他|她)姓{_ANY_SURNAME}[，,]?(?:名|叫){_GIVEN}{{1,2}}")
# "本人王建国": only with a common surname, since 本人 starts many other phrases.
_NAME_AFTER_SELF = re.compile(f"(本人)(?:{_COMPOUND_SURNAMES}|[{SURNAMES}]){_GIVEN}{{1,2}}(?=[，,。；;：:\\s（(]|$)")
_NAME_WITH_TITLE = re.compile(f"{_SURNAME}{_GIVEN}{{0,2}}(?:先生|女士|小姐|同志|老师)"
                              # Kin-like forms of address follow the surname alone: 王阿姨, 张叔叔.
                              f"|{_SURNAME}(?:阿姨|大爷|大妈|奶奶|爷爷|师傅|叔叔|大姐|大哥|姐|哥|婶|老先生|医生|主任)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    number = match.group(0)
    if _DATE.search(number):  # two dates in a row ("2024-03-01 2024-05-31") may pass Luhn
        return number
    return CARD_LABEL if _luhn(re.sub(r"\D", "", number)) else number


def _id_in_groups(match: re.Match) -> str:
    digits = re.sub(r"[- ]", "", match.group(0))
    return ID_LABEL if len(digits) in (15, 18) and _ID.fullmatch(digits) else match.group(0)


def redact(text: str) -> str:
    """``text`` with 身份证号, phone and bank card numbers, e-mail addresses, other document
    numbers, number plates, house numbers and names replaced by labels (see the module
    docstring for what is found). Full-width digits come back as ASCII. Idempotent."""
    if not text:
        return text
    text = text.translate(_HALF_WIDTH)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_LABEL, text)
    text = _WXID.sub(DOCUMENT_LABEL, text)
    text = _DOCUMENT.sub(lambda m: m.group(1) + DOCUMENT_LABEL, text)
    text = _ID.sub(ID_LABEL, text)
    text = _GROUPED_DIGITS.sub(_id_in_groups, text)
    text = _CARD.sub(_card, text)
    text = _MOBILE.sub(MOBILE_LABEL, text)
    text = _LANDLINE.sub(PHONE_LABEL, text)
    text = _LOCAL_PHONE.sub(lambda m: m.group(1) + PHONE_LABEL, text)
    text = _PLATE.sub(PLATE_LABEL, text)
    text = _HOUSE.sub(lambda m: m.group(1) + HOUSE_LABEL, text)
    text = _BUILDING_ROOM.sub(HOUSE_LABEL, text)
    text = _SPLIT_NAME.sub(lambda m: m.group(1) + NAME_LABEL, text)
    text = _NAME_AFTER_CUE.sub(lambda m: m.group(1) + NAME_LABEL, text)
    text = _NAME_AFTER_SELF.sub(lambda m: m.group(1) + NAME_LABEL, text)
    return _NAME_WITH_TITLE.sub(NAME_LABEL, text)


_LABEL = re.compile(r"\[(?:身份证号|手机号|银行卡号|电话|邮箱|门牌号|姓名|证件号|车牌号)\]")
_CLAUSE = re.compile(r"[^，,。；;！!？?\n]+[，,。；;！!？?\n]*")


def without_personal(text: str) -> str:
    """Redacted ``text`` as it reads without the personal details: a clause that only gave
    one ("我叫[姓名]，", "电话[手机号]，") is dropped, and labels elsewhere are removed, so
    that "我叫[姓名]，养狗要办证吗" means, to the embedding model, what "养狗要办证吗" does."""
    kept = []
    for clause in _CLAUSE.findall(text):
        if _LABEL.search(clause):
            rest = _LABEL.sub("", clause)
            if len(re.sub(r"[，,。；;！!？?\s]", "", rest)) <= 4:
                continue
            clause = rest
        kept.append(clause)
    return "".join(kept).strip() or text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Add :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
