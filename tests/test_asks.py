"""Reading a question (the slot it asks for, its years, regions, topic and asking clause) and
reading a sentence as evidence (what it states, which year it speaks for, whether it is page
furniture). Pure rules: the behaviour they produce on real documents is in test_answerability."""

import pytest

from assistant.asks import Slot, asked_parts, asking_clause, closing_provision, fills, filler, read_question
from assistant.core.text import Tokenizer
from assistant.evidence import is_clutter, is_title_line, years_of

#: jieba's own dictionary, without the term map: these rules must not lean on taught words.
TOKENIZER = Tokenizer()


def _slots(question):
    return read_question(question, 2026, TOKENIZER).slots


@pytest.mark.parametrize(
    "question,first",
    [
        ("上海低保标准是每人每月多少钱？", Slot.AMOUNT),
        ("失业保险金能领多久", Slot.DURATION),
        ("应当在多少个工作日内办结", Slot.DEADLINE),
        ("灵活就业人员缴费比例是多少", Slot.RATE),
        ("单身要多大年纪才能申请公租房", Slot.AGE),
        ("2024年改造了多少个老旧小区", Slot.COUNT),
        ("住房保障中心的咨询电话是多少", Slot.CONTACT),
        ("去哪里申请", Slot.CHANNEL),
        ("申请要带哪些材料", Slot.LIST),
        ("骗领低保会有什么后果", Slot.CONSEQUENCE),
        ("这个条例的文号是什么", Slot.META),
        ("村道路面宽度一般不低于多少", Slot.NUMBER),
        ("那这个补贴批下来一次能领几年？", Slot.DURATION),
        ("能领多少钱吗", Slot.AMOUNT),
    ],
)
def test_the_slot_a_question_asks_for(question, first):
    assert _slots(question)[0] is first


def test_a_specific_figure_replaces_the_bare_number_and_yes_no_comes_last():
    assert _slots("费用能报销多少比例？") == (Slot.RATE,)
    assert _slots("能罚款吗？罚多少？")[0] is Slot.AMOUNT
    assert _slots("异地就医怎么备案") == (Slot.PROCEDURE,)


def test_a_story_is_read_for_what_it_asks():
    q = "我去一家公司面试，HR还问我打算什么时候要孩子。公司这样做合法吗？"
    ask = read_question(q, 2026, TOKENIZER)
    assert ask.slots == (Slot.YESNO,), "the time word in the story is not what is asked"
    assert asking_clause("我爸瘫在床上三年了，请了保姆在家照顾，听说有个保险能报销护理费，每个月能报多少？") == (
        "听说有个保险能报销护理费，每个月能报多少？"
    )


def test_closing_provisions_answer_only_questions_about_validity():
    repeal = "2000年3月17日发布的《关于职工全年月平均工作时间和工资折算问题的通知》同时废止。"
    assert closing_provision(read_question("月计薪天数是多少天？", 2026, TOKENIZER), repeal)
    assert not closing_provision(read_question("这个通知什么时候施行？", 2026, TOKENIZER), "本通知自2008年1月1日起施行。")
    assert not closing_provision(read_question("月计薪天数是多少天？", 2026, TOKENIZER), "月计薪天数＝（365天-104天）÷12月＝21.75天")
    assert not _stated("流浪乞讨人员在救助站最多可以住多少天？", repeal), "its date is no duration asked"


def test_vague_question_words_ask_nothing():
    """好几年, 十几个, 几十岁 count vaguely and 没怎么 means "hardly": none of them asks."""
    ask = read_question("医保卡里攒了好几年的钱一直没怎么花，想给爸妈买商业健康险，这笔钱能拿来用吗？", 2026, TOKENIZER)
    assert ask.slots == (Slot.YESNO,)
    assert _slots("交了十几年社保，退休后能领几年？") == (Slot.DURATION,)
    assert _slots("干了几十年了，能领多少钱？") == (Slot.AMOUNT,)
    assert _slots("几乎没收入，怎么申请？") == (Slot.PROCEDURE,)


def test_shares_and_standards_state_what_is_asked():
    """A quorum is a count, a price cut an amount, and "按照…的标准" answers "按什么标准"."""
    lift = read_question("老楼加装电梯，得有多少户同意？", 2026, TOKENIZER)
    assert fills(Slot.COUNT, "三分之二以上的业主书面同意", lift.count_units)
    assert not fills(Slot.COUNT, "业主书面同意", lift.count_units)
    assert fills(Slot.AMOUNT, "乘坐城市轨道交通，享受半价优惠。")
    assert fills(Slot.AMOUNT, "持证免费乘坐公共汽车")
    assert fills(Slot.AMOUNT, "生育津贴按照用人单位上年度职工月平均工资的标准由生育保险基金支付")
    assert not fills(Slot.AMOUNT, "用人单位应当为职工缴纳生育保险费")


def test_years_regions_topic_and_count_units():
    ask = read_question("广州2027年的城乡低保标准是每人每月多少钱？", 2026, TOKENIZER)
    assert ask.years == {2027} and ask.regions == {"广州"}
    assert "2027" not in ask.topic_terms and "广州" not in ask.topic_terms and "多少钱" not in ask.topic_terms
    assert {"城乡", "低保"} <= set(ask.topic_terms)
    assert read_question("今年的补贴是多少", 2026, TOKENIZER).years == {2026}
    assert read_question("改造了多少个小区、惠及多少户", 2026, TOKENIZER).count_units == "个户"
    assert read_question("社会救助暂行办法 第十一条", 2026, TOKENIZER).articles == ("第十一条",)


@pytest.mark.parametrize(
    "slot,sentence,stated",
    [
        (Slot.AMOUNT, "全市城乡最低生活保障标准为每人每月1309元。", "1309元"),
        (Slot.AMOUNT, "标准为生育当月本人失业保险金的三倍。", "金的三倍"),
        (Slot.AMOUNT, "该单元三分之二以上的业主书面同意。", ""),
        (Slot.AMOUNT, "按照本市最低工资标准的百分之九十按月计发。", "资标准的百分之九十"),
        (Slot.AMOUNT, "滞纳金按日加收千分之五。", "金按日加收千分之五"),
        (Slot.AMOUNT, "对直接负责的主管人员依法给予处分。", ""),
        (Slot.DURATION, "后台工作人员将在2个工作日内完成审批。", "2个工作日内"),
        (Slot.DURATION, "公示七日。", "七日"),
        (Slot.DEADLINE, "大中专院校毕业未满5年的，可以申请。", "未满5年"),
        (Slot.AGE, "年满35周岁的单身人员可作为独立家庭进行申请。", "35周岁"),
        (Slot.CONTACT, "可拨打020-12345咨询。", "020-12345"),
        (Slot.RATE, "灵活就业人员的缴费比例为20%。", "20%"),
    ],
)
def test_what_a_sentence_states(slot, sentence, stated):
    assert filler(slot, sentence) == stated
    assert fills(slot, sentence) == bool(stated)


def test_a_count_is_of_the_units_asked_and_never_one_by_one():
    assert fills(Slot.COUNT, "共实施十大类44项民生实事工程。", "项")
    assert not fills(Slot.COUNT, "共实施十大类44项民生实事工程。", "户")
    assert not fills(Slot.COUNT, "一个个承诺在实干笃行中得以兑现。", "个")


def test_web_page_furniture_and_title_lines_are_not_evidence():
    for line in ("【文字解读】【一图读懂】【音频解读】", "来源：广州市医疗保障局", "发布日期：2025-12-03 16:47:44", "2025-12-03", "好消息来了！", "青海日报记者 贾泓"):
        assert is_clutter(line), line
    assert not is_clutter("符合条件的参保职工可按规定由职工本人申请生育津贴。")
    assert not is_clutter("【六个月以上单位发放工资的银行流水单】等材料需一并提交，缺一不可。")
    # A bare document number and a markup comment are metadata, a number inside a rule is not.
    assert is_clutter("劳社部发[2008]3号") and is_clutter("穗府办规〔2021〕19号") and is_clutter("INFO END -->")
    assert not is_clutter("根据《通知》（劳社部发[2008]3号）规定，日工资按21.75天折算。")
    assert is_title_line("《广州市长期护理保险试行办法》", "广州市长期护理保险试行办法")
    assert is_title_line("【人社】广州市劳动人事争议仲裁网上申请流程", "广州市劳动人事争议仲裁网上申请流程")
    assert not is_title_line("广州市长期护理保险试行办法所称失能人员，是指…", "广州市长期护理保险试行办法")


def test_the_year_a_text_speaks_for():
    bound = years_of("（一）全市城乡最低生活保障标准为每人每月1309元。", "广州市2025年城乡最低生活保障标准")
    assert bound.bound == {2025} and not bound.covers({2027}) and bound.covers({2025})
    standing = years_of("失业保险金的标准，不得低于城市居民最低生活保障标准。")
    assert standing.covers({2030}), "a rule bound to no year speaks for every year"
    started = years_of("2025年12月1日起生育津贴由参保职工本人申请，直接发放至个人。")
    assert started.bound == frozenset() and started.start == {2025} and started.covers({2026})


def _stated(question, sentence):
    from assistant.asks import slots_stated

    return slots_stated(read_question(question, 2026, TOKENIZER), sentence)


def test_a_sentence_states_the_figure_as_the_question_reads_it():
    # The kind of contact asked: a web address is no street address.
    assert not _stated("现场受理窗口的地址在哪里？", "现场受理地址详见服务指南(http://rsj.gz.gov.cn/zcgg)。")
    assert Slot.CONTACT in _stated("咨询电话是多少？", "可拨打020-12345咨询。")
    # Money asked is answered by money, not by a share of a base.
    assert not _stated("个人一年要交多少钱？", "年缴费费率个人缴费和财政补助各为0.15%。")
    assert Slot.AMOUNT in _stated("失业保险金按什么标准发？", "按照本市最低工资标准的百分之九十按月计发。")
    # A share may come before the money it is of; a share of people is no amount.
    assert Slot.AMOUNT in _stated("滞纳金按日加收多少？", "并自欠缴之日起，按日加收万分之五的滞纳金；")
    assert Slot.AMOUNT not in _stated("要交多少费用？", "经三分之二以上的业主同意。")
    # A limit in the direction asked; 最低 inside 最低生活保障 is no lower limit.
    assert not _stated("缴存比例最高不能超过百分之几？", "缴存比例均不得低于职工上一年度月平均工资的5%。")
    assert Slot.DURATION in _stated("审批最多要等多久？", "最低生活保障审批手续应当自受理申请之日起三十日内办结。")
    # Who pays is answered by whoever bears the cost, not by the office in charge.
    assert not _stated("老楼加装电梯，钱由谁出？", "具体工作由市房地产管理机构负责。")
    assert Slot.CHANNEL in _stated("老楼加装电梯，钱由谁出？", "由业主按一定分摊比例共同出资；")
    assert Slot.CHANNEL in _stated("加装电梯去哪里申请？", "具体工作由市房地产管理机构负责。")
    # The limit is read in the figure's own clause: the condition's 以上 does not bound 二个月.
    assert Slot.DURATION in _stated("试用期最长多久？", "劳动合同期限一年以上不满三年的，试用期不得超过二个月；")
    # A penalty's amount answers only a question about a penalty.
    fine = "以欺骗手段提取的，处违法所提款额百分之十以上百分之五十以下的罚款。"
    assert not _stated("住房公积金月缴存额的上限是多少钱？", fine)
    assert Slot.AMOUNT in _stated("骗提公积金会被罚多少？", fine)


def test_money_is_a_figure_or_a_payment_set_by_a_standard_not_a_condition():
    assert Slot.AMOUNT in _stated("那一般能给多少钱？", "每人每月一般不超过本市最低生活保障标准。")
    assert not _stated("一个月最少要交多少钱？", "已从事有稳定收入的劳动并且月收入不低于本市最低工资标准的。")
    assert Slot.DURATION in _stated("续上以后要多久才能报销？", "自缴费月起的第三个自然月开始享受职工基本医疗保险待遇。")


def test_a_bracket_is_the_condition_of_its_figure_not_its_limit():
    # "不足七年" bounds the years paid; 十五个月 is the figure and carries no limit of its own,
    # so it answers a question about the most one can get.
    scale = "（四）累计缴费时间满四年不足五年的为十二个月；（五）累计缴费时间满五年不足七年的为十五个月；"
    assert Slot.DURATION in _stated("交了六年，失业金最多能领几个月？", scale)
    assert not _stated("交了六年，失业金最少能领几个月？", "失业保险金领取期限最长不超过二十四个月。")


def test_dates_points_and_sums_are_read_as_such():
    # A calendar date is no period of days.
    assert not _stated("救助站最多能住几天？", "2003年6月18日 国务院第12次常务会议通过")
    assert Slot.DURATION in _stated("每个月什么时候发？", "发放时间为每月25日前；")
    # A point counted from an event answers "从什么时候开始".
    assert Slot.DATE in _stated("新入职的从什么时候开始交公积金？", "从参加工作的第二个月开始缴存住房公积金")
    # "多少万元" asks money: a share of wages is no sum.
    assert read_question("公积金最多能贷多少万元？", 2026, TOKENIZER).money
    assert not _stated("公积金最多能贷多少万元？", "月缴存额为职工本人当月工资乘以职工住房公积金缴存比例。")


def test_a_what_about_turn_asks_what_the_turn_before_asked(services):
    """"那城乡居民呢？" after a question on a rate asks the rate, of another subject."""
    from assistant.asks import asks_as_before
    from assistant.query import contextualise

    first, then = "广州长护险，职工在家里请人护理，基金按多少比例支付？", "那城乡居民呢？"
    assert asks_as_before(then) and not asks_as_before("那要交多少钱？")
    ask = services.answerer.read(contextualise(then, [{"role": "user", "content": first}], tokenizer=services.tokenizer), then)
    assert ask.slots and ask.slots[0] is Slot.RATE
    # A turn that asks something of its own keeps its own slot.
    own = "那要多久才能批下来呢？"
    ask = services.answerer.read(contextualise(own, [{"role": "user", "content": first}], tokenizer=services.tokenizer), own)
    assert ask.slots[0] is Slot.DURATION


def test_documents_are_asked_for_only_with_a_list_word_or_at_the_end():
    assert read_question("申请公租房需要提交什么证明材料？", 2026, TOKENIZER).slots[0] is Slot.LIST
    assert read_question("生育津贴申请材料？", 2026, TOKENIZER).slots[0] is Slot.LIST
    # "材料交齐以后" is part of the story; the question asks a time limit.
    assert read_question("贷款材料交齐以后银行多少个工作日内放款？", 2026, TOKENIZER).slots == (Slot.DEADLINE,)
    # The asker's own period does not state the number of days asked.
    assert not _stated("干了十二年了，年休假有几天？", "职工连续工作一年以上的，享受带薪年休假。")
    assert Slot.DURATION in _stated("干了十二年了，年休假有几天？", "已满10年不满20年的，年休假10天；")


def test_a_hotline_named_is_no_number_and_a_doc_numbers_year_is_not_asked():
    assert not _stated("心理援助热线的电话号码是多少？", "省卫生健康行政部门应当设立全省统一的二十四小时心理援助热线。")
    assert Slot.CONTACT in _stated("心理援助热线的电话号码是多少？", "心理援助热线：0571-85029595。")
    from assistant.asks import versions_named, years_in

    assert years_in("劳社部发〔2008〕3号 月计薪天数", 2026) == set()
    assert years_in("2025年的标准，按粤府〔2023〕8号执行吗", 2026) == {2025}
    assert versions_named("上海市计生条例2016年那版，生育假几天？") == {2016}
    assert versions_named("我2023年开始交社保，现在失业了能领多久？") == set()


def test_which_ones_is_a_list_and_what_fee_is_a_kind():
    # "哪几个" asks which ones; "几个" how many.
    assert read_question("广州城乡居民医保分哪几个档次？", 2026, TOKENIZER).slots[0] is Slot.LIST
    assert read_question("广州一共有几个区开通了长者饭堂？", 2026, TOKENIZER).slots[0] is Slot.COUNT
    # "支付什么费用" asks which fee, not its amount; "费用标准" alone is an amount.
    assert Slot.AMOUNT not in read_question("退订以后要交什么费用？", 2026, TOKENIZER).slots
    assert read_question("居家护理 费用标准", 2026, TOKENIZER).slots[0] is Slot.AMOUNT


def test_a_lookup_asks_for_the_head_of_each_phrase():
    # A noun phrase ends in what it names: 拨付周期 of 人工费用 is a period, 安排资金 an amount.
    assert read_question("农民工工资支付条例 人工费用拨付周期", 2026, TOKENIZER).slots == (Slot.DURATION,)
    assert read_question("青海2024民生实事 全年安排资金", 2026, TOKENIZER).slots == (Slot.AMOUNT,)
    assert read_question("青海民生实事 安排资金 项目数", 2026, TOKENIZER).slots == (Slot.AMOUNT, Slot.COUNT)


def test_the_separate_things_a_question_asks():
    parts = asked_parts("我爸退休后跟我来重庆带孙子。听说手机上能办，在哪办？提交后要等多久？")
    assert [p for p, _ in parts] == ["在哪办", "提交后要等多久"]
    assert parts[0][1][0] is Slot.CHANNEL and parts[1][1][0] is Slot.DURATION
    # One ask, or a second sentence that asks nothing, is no list of parts.
    assert asked_parts("广州低保标准每人每月多少？") == ()
    assert asked_parts("低保标准是多少？谢谢！") == ()
