"""Ages, periods and areas a question states, and the brackets a rule sets on them."""

from assistant.quantities import Bracket, brackets, fit, number, stated_quantities


def test_chinese_and_arabic_numbers():
    assert [number(t) for t in ("67", "六十五", "两", "十二", "一百零五", "半", "abc")] == [67, 65, 2, 12, 105, 0.5, None]


def test_what_a_story_states():
    assert [(q.dim, q.value) for q in stated_quantities("我跟公司签了两年的劳动合同，我爸今年67岁")] == [("months", 24), ("age", 67)]
    assert stated_quantities("上了两年半班")[0].value == 30
    assert stated_quantities("交了3年多")[0].value == 42
    assert stated_quantities("干了二十多年")[0].value == 300
    assert stated_quantities("2025年的标准") == (), "a 4-digit year is a date"


def test_brackets_are_conditions_not_the_rules_figures():
    assert brackets("劳动合同期限一年以上不满三年的，试用期不得超过二个月；") == (Bracket("months", 12, 36),)
    assert brackets("第六条 年满60周岁不满65周岁的老年人乘坐城市轨道交通，享受半价优惠。") == (Bracket("age", 60, 65),)
    assert brackets("试用期不得超过六个月。") == (), "the figure of the rule is no condition"
    listed = brackets("（一）累计缴费时间满一年不足两年的为三个月；（二）累计缴费时间满两年不足三年的为六个月")
    assert [(b.low, b.high) for b in listed] == [(12, 24), (24, 36)]


def test_the_bracket_that_holds_the_quantity_fits_best():
    two_years = stated_quantities("签了两年的劳动合同")
    assert fit(two_years, "劳动合同期限一年以上不满三年的，试用期不得超过二个月") == 1.0
    assert fit(two_years, "劳动合同期限不满六个月的，不得设试用期") == 0.0
    assert fit(two_years, "缴费满一年以上的") == 0.25, "an open bracket holds more loosely"
    assert fit(two_years, "应当按时足额支付工资") is None
    assert fit(stated_quantities("我爸今年67岁"), "六十五周岁以上免费乘坐市内公共交通工具") == 0.25


def test_a_condition_holding_the_askers_own_period_is_not_the_figure_asked():
    from assistant.quantities import stated_quantities, without_held_conditions

    worked = stated_quantities("在一家单位干了十二年了，每年的年休假有几天？")
    assert without_held_conditions(worked, "职工连续工作一年以上的，享受带薪年休假。") == "职工连续工作的，享受带薪年休假。"
    # A bracket the quantity falls outside of is another rule, left as written.
    rule = "累计缴费满一年不足五年的，领取期限最长为十二个月；"
    assert without_held_conditions(stated_quantities("交了六年"), rule) == rule
    # The rule's own figure stays: only the condition's bounds go.
    assert "十八个月" in without_held_conditions(stated_quantities("交了六年"), "满五年不足十年的，领取期限最长为十八个月；")
