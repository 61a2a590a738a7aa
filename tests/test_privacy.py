"""Personal data never reaches logs or the feedback store; old feedback is deleted."""

import logging
from datetime import datetime, timedelta, timezone

from assistant.feedback import FeedbackStore
import json
from pathlib import Path

import pytest

from assistant.privacy import (CARD_LABEL, DOCUMENT_LABEL, EMAIL_LABEL, HOUSE_LABEL, ID_LABEL, MOBILE_LABEL, NAME_LABEL,
                               PHONE_LABEL, PLATE_LABEL, RedactingFilter, redact)

# Made-up numbers of the right shape: an ID with a valid date, a Luhn-valid card.
ID = "44010619900307123X"
MOBILE = "13912345678"
CARD = "6222 0212 3456 7890 128"


def test_numbers_are_replaced_and_ordinary_figures_kept():
    text = f"我的身份证{ID}，电话+86 139-1234-5678，卡号{CARD}，低保标准1309元，穗府办规〔2024〕13号，20250101起施行"
    out = redact(text)
    assert ID not in out and "1234-5678" not in out and "6222" not in out
    assert ID_LABEL in out and MOBILE_LABEL in out and CARD_LABEL in out
    assert "1309元" in out and "〔2024〕13号" in out and "20250101" in out
    assert redact("编号6222021234567890127") == "编号6222021234567890127", "fails the Luhn check: not a card"
    assert redact(f"手机{MOBILE}") == f"手机{MOBILE_LABEL}"


@pytest.mark.parametrize("text, expected", [
    ("我叫王建国，住在幸福路12号3栋502室，电话021-64371234，社保卡怎么补",
     f"我叫{NAME_LABEL}，住在幸福路{HOUSE_LABEL}，电话{PHONE_LABEL}，社保卡怎么补"),
    ("座机(020)83331234转123，邮箱wang.jg@example.com", f"座机{PHONE_LABEL}，邮箱{EMAIL_LABEL}"),
    ("联系人：李红，电话：88776655", f"联系人：{NAME_LABEL}，电话：{PHONE_LABEL}"),
    ("我妈叫陈桂英今年72岁，坐公交要钱吗", f"我妈叫{NAME_LABEL}今年72岁，坐公交要钱吗"),
    ("张阿姨住朝阳区安贞里5号院3号楼", f"{NAME_LABEL}住朝阳区安贞里{HOUSE_LABEL}"),
    ("幸福小区3栋2单元502室漏水", f"幸福小区{HOUSE_LABEL}漏水"),
    # As phones and habits type them (a helper's attempts to get past the filter).
    ("身份证１１０１０１１９９００３０７７５７８", f"身份证{ID_LABEL}"),
    ("身份证 1101 0119 9003 0775 78", f"身份证 {ID_LABEL}"),
    ("手机138.1234.5678或(+86)13812345678转1", f"手机{MOBILE_LABEL}或{MOBILE_LABEL}"),
    ("座机021 6437 1234分机808", f"座机{PHONE_LABEL}"),
    ("住漕溪北路595弄12号1201", f"住漕溪北路{HOUSE_LABEL}"),
    ("住在幸福里小区12-502，长乐路一百弄五号也是我家", f"住在幸福里小区{HOUSE_LABEL}，长乐路{HOUSE_LABEL}也是我家"),
    ("张家村3组15号", f"张家村{HOUSE_LABEL}"),
    ("户主王建国，联系人 洪小明，我姓王，叫建国", f"户主{NAME_LABEL}，联系人 {NAME_LABEL}，我{NAME_LABEL}"),
    ("本人李秀英，找王建国老师", f"本人{NAME_LABEL}，找{NAME_LABEL}"),
    ("微信号wx_zhang2024，车牌粤A12345，护照E12345678", f"微信号{DOCUMENT_LABEL}，车牌{PLATE_LABEL}，护照{DOCUMENT_LABEL}"),
])
def test_names_landlines_addresses_and_mail_are_replaced(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected, "labels are left alone: redacting twice changes nothing"


@pytest.mark.parametrize("text", [
    "我住济南莱芜区一栋六层的老楼，我们单元想装电梯", "衢州农村一户一宅自建房能盖几层", "我是高龄老人，有什么补贴",
    "人社部令第3号和穗府办规〔2024〕13号哪个新", "坐5号线去2号楼办事", "低保金额按月发放吗", "12345热线电话是多少",
    "市府3号文件怎么执行", "农村1户只能有1处宅基地", "小区3栋以上的要装电梯吗", "申请人为高龄老人的，可以代办",
    "申请人为高校毕业生", "钟点工阿姨的工资怎么算", "新建12座5G基站", "计划建设12栋2025年完工", "预算15000000000元",
    "有效期2024-03-01 2024-05-31", "到政务中心B座3楼办理", "本人申请低保要什么材料", "我家住一栋六层的老楼",
])
def test_policy_wording_is_not_read_as_personal_data(text):
    assert redact(text) == text


def test_no_question_of_the_question_sets_is_changed():
    """The sets' questions hold no personal data, so any change is a false alarm that would
    blur gap grouping."""
    folder = Path(__file__).resolve().parents[1] / "eval" / "questions"
    asked = []
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            asked += [item.get("question", "")] + [q for key in ("questions", "paraphrases", "near_misses") for q in item.get(key, [])]
    assert len(asked) > 1500
    assert [q for q in asked if q and redact(q) != q] == []


def test_personal_details_are_left_out_of_what_a_question_means():
    from assistant.privacy import without_personal

    assert without_personal("我叫[姓名]，电话[手机号]，座机[电话]，护照丢了怎么补办") == "护照丢了怎么补办"
    assert without_personal("我住在幸福路[门牌号]，楼里能装电梯吗") == "我住在幸福路，楼里能装电梯吗"
    assert without_personal("养狗要办证吗") == "养狗要办证吗"


def test_log_records_are_redacted():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "question from %s: %s", ("user", f"电话{MOBILE}"), None)
    RedactingFilter().filter(record)
    assert MOBILE not in record.getMessage() and MOBILE_LABEL in record.getMessage()


def test_feedback_is_redacted_and_kept_only_for_the_retention_period(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite", retention_days=30)
    # Nothing is written until feedback is: reading and purging create no file.
    assert store.recent() == [] and store.purge() == 0 and not (tmp_path / "feedback.sqlite").exists()
    store.add(f"我身份证{ID}能办低保吗", "……", -1, f"回电{MOBILE}")
    row = store.recent(1)[0]
    assert ID not in row["question"] and MOBILE not in row["comment"]
    assert row["question"] == f"我身份证{ID_LABEL}能办低保吗" and row["comment"] == f"回电{MOBILE_LABEL}"
    assert store.purge(now=datetime.now(timezone.utc) + timedelta(days=29)) == 0
    assert store.purge(now=datetime.now(timezone.utc) + timedelta(days=31)) == 1
    assert store.recent() == []


def test_hostile_questions_get_a_clear_answer_without_a_crash(services):
    from assistant.chain import MAX_QUESTION

    long = services.assistant.ask("异地就医" * 25_000)  # 100,000 characters
    assert long.refused and "太长" in long.text and not long.citations and "retrieval" not in long.timings
    assert services.assistant.ask("").refused and services.assistant.ask(" \x00\t ").refused
    nul = services.assistant.ask("异地\x00就医怎么\x07结算")
    assert not nul.refused and nul.question == "异地就医怎么结算"
    emoji = services.assistant.ask("😀😀异地就医怎么结算🙏")
    assert not emoji.refused and emoji.citations
    assert list(services.assistant.stream("异" * (MAX_QUESTION + 1)))[-1].refused


def test_serve_refuses_an_open_address_with_a_half_configured_admin(monkeypatch, settings_factory):
    from typer.testing import CliRunner

    from ui.cli import app
    from ui.services import build_services

    svc = build_services(settings_factory(admin_user="admin"))
    monkeypatch.setattr("ui.cli._services", lambda data_dir=None: svc)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2 and "MINSHENG_ADMIN_PASSWORD" in result.output


def test_ocr_runtime_telemetry_is_off_without_any_variable_set(tmp_path):
    """onnxruntime starts its telemetry (a device id under the cache folder, then reports to
    Microsoft) unless ORT_DISABLE_TELEMETRY is set; ``import assistant`` sets it."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    code = ("import assistant, numpy as np\nfrom rapidocr_onnxruntime import RapidOCR\n"
            "RapidOCR()(np.full((64, 256, 3), 255, np.uint8))\n")
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert not list(tmp_path.rglob("deviceid*")), "onnxruntime telemetry started"
