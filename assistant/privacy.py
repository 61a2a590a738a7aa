"""Personal data out of what is stored: 身份证号, phone and bank card numbers, e-mail addresses,
house numbers and names.

Residents type these into questions and comments ("我叫王建国，住在幸福路12号3栋502室，电话
021-64371234，社保卡怎么办"). Logs and the feedback store keep the text with each item replaced by
a label. Patterns:

- 身份证号: 18 characters per GB 11643-1999 (6-digit area code, birth date 19xx/20xx, 3-digit
  sequence, check digit 0-9 or X); the date part must be a real month and day.
- Mobile: 11 digits starting 13-19 (the mainland numbering plan), optionally +86 / 86.
- Bank card: 16 to 19 digits, optionally grouped by spaces or hyphens, that pass the Luhn check
  (ISO/IEC 7812), so an ordinary long number (文号, amounts) is left alone.
- Landline: a 3- or 4-digit area code starting 0 (bracketed or followed by a hyphen or space)
  and a 7- or 8-digit number, optionally an extension; or 7 to 8 digits right after 电话/座机/
  联系方式. The area code must be marked off, so an amount such as 02112345678 is not read as one.
- E-mail: local part, @, a dotted domain.
- House number: the numbered part after a road, lane or estate word (…路12号, …小区3栋2单元502室,
  …弄5号), or a building-and-room pair on its own (3栋502室); the road or estate name stays, so a
  gap still says where. A 文号 (〔2024〕13号) has no road word before its number and is kept.
- Name: two or three characters after a cue that introduces a name (我叫, 名叫, 姓名：, 联系人：)
  when the first is one of the common surnames, or a common surname with a form of address
  (王先生, 李女士, 张阿姨). The surnames are the most frequent ones in the 2020 census report of
  the Ministry of Public Security (about 85 % of residents); cues keep 高龄, 金额 and the like
  from being read as names. A name given without a cue (张建国申请低保) is not found: no name
  recogniser ships offline that tells 高龄 from 高建.
"""

from __future__ import annotations

import logging
import re

ID_LABEL, MOBILE_LABEL, CARD_LABEL = "[身份证号]", "[手机号]", "[银行卡号]"
PHONE_LABEL, EMAIL_LABEL, HOUSE_LABEL, NAME_LABEL = "[电话]", "[邮箱]", "[门牌号]", "[姓名]"

#: Common single-character surnames (and a few two-character ones), most frequent first.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵"
            "万覃武钱戴严欧莫孔向常汤康易乔赖文")
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容|尉迟|公孙"
_SURNAME = f"(?:{_COMPOUND_SURNAMES}|[{SURNAMES}])"
_CJK = "[\u4e00-\u9fff]"
# House numbers are written in digits; 一栋六层 and 一户一宅 are counts, not addresses.
_NUM = "[0-9０-９]+"

_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){15,18}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:[(（]0\d{2,3}[)）][- ]?|0\d{2,3}[- ])\d{7,8}(?:[-转]\d{1,5})?(?!\d)")
_LOCAL_PHONE = re.compile(r"((?:电话|座机|联系方式|固话)(?:号码)?[是为:：]?\s*)\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# One numbered unit of an address: 12号, 3栋, 2单元, 502室, 5弄, 8号楼, 12层.
_UNIT = f"{_NUM}(?:号楼|号院|单元|[号栋幢座弄室层楼户])"
_HOUSE = re.compile(f"((?:路|街|大道|巷|弄|胡同|里|村|小区|花园|公寓|大厦|新村|家园|苑|园|府|广场|社区)[东西南北中]?)"
                    f"[- ]?(?:{_UNIT}[- ]?)+")
_BUILDING_ROOM = re.compile(f"(?<![0-9〔〕\\]]){_NUM}(?:号楼|栋|幢|座)(?:{_NUM}单元)?{_NUM}(?:室|号|户)?(?![0-9层])")
_NAME_AFTER_CUE = re.compile(f"((?:我|名|名字|本人|老人|他|她|儿子|女儿|父亲|母亲|爸爸|妈妈|我爸|我妈|老公|老婆|丈夫|妻子)"
                             f"(?:叫|名叫|叫做)|(?:姓名|名字|联系人|申请人)[是为:：]\\s*){_SURNAME}{_CJK}{{1,2}}")
# A given name's characters: not a particle or an age word, so 高龄奶奶 and 黄的师傅 are kept.
_GIVEN = "(?:(?![的之和与是在了龄老岁])[\\u4e00-\\u9fff])"
_NAME_WITH_TITLE = re.compile(f"{_SURNAME}{_GIVEN}{{0,2}}(?:先生|女士|小姐|阿姨|大爷|大妈|奶奶|爷爷|师傅)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(text: str) -> str:
    """``text`` with 身份证号, phone and bank card numbers, e-mail addresses, house numbers and
    names replaced by labels (see the module docstring for what is found). Idempotent."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_LABEL, text)
    text = _ID.sub(ID_LABEL, text)
    text = _CARD.sub(lambda m: CARD_LABEL if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    text = _MOBILE.sub(MOBILE_LABEL, text)
    text = _LANDLINE.sub(PHONE_LABEL, text)
    text = _LOCAL_PHONE.sub(lambda m: m.group(1) + PHONE_LABEL, text)
    text = _HOUSE.sub(lambda m: m.group(1) + HOUSE_LABEL, text)
    text = _BUILDING_ROOM.sub(HOUSE_LABEL, text)
    text = _NAME_AFTER_CUE.sub(lambda m: m.group(1) + NAME_LABEL, text)
    return _NAME_WITH_TITLE.sub(NAME_LABEL, text)


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
