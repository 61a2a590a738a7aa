"""The six ways answers failed on questions nobody tuned for (issue 15), each checked on real
documents from ../shared with a question of that kind that is in neither question set:

1. an unanswerable question answered with a near text;
2. another year's figure passed off as the year asked;
3. a resident's story refused although one article answers it;
4. a figure stated as a multiple or share of a base, or in working days, not recognised;
5. the right document but the wrong sentence (web-page clutter, the title line, a 文号 that is
   in the metadata, the sentence of a review that states the figure);
6. a follow-up that loses the topic of the turn before.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CORPUS, LAWS, ROOT, SHARED, shared_ocr

#: Real files, read in place: Guangzhou's 2025 低保 standards, its elderly, long-term-care,
#: maternity-allowance and unemployment documents, a Xuzhou notice, Jinan's lift rules,
#: Shanghai's medical-security regulation, Guangdong's unemployment regulation and the
#: Qinghai review.
FILES = (
    CORPUS / "txt" / "gz_dibao_jiuzhu_biaozhun_2025.txt",
    CORPUS / "txt" / "gz_laonianren_youdai_banfa.txt",
    CORPUS / "txt" / "gz_changqi_huli_baoxian_2024.txt",
    CORPUS / "txt" / "gz_shengyu_jintie_2025.txt",
    CORPUS / "txt" / "gz_shiye_baoxian_faq_2025.txt",
    CORPUS / "txt" / "xuzhou_gzf_rent_subsidy_notice.txt",
    CORPUS / "txt" / "local_jinan_jiazhuang_dianti_guiding_2019.txt",
    CORPUS / "txt" / "local_shanghai_yiliao_baozhang_tiaoli_2024.txt",
    LAWS / "local" / "广东" / "广东省失业保险条例(2022-06-01).md",
    SHARED / "seed" / "qinghai_2024_minsheng_shishi_review.txt",
)

#: Every question asked below; none may be in a question set (checked).
QUESTIONS = {
    "near_region": "杭州现在的城乡低保标准是每人每月多少钱？",
    "near_phone": "徐州公租房租赁补贴的咨询电话是多少？",
    "near_topic": "办理美国签证需要哪些材料？",
    "near_short": "广州长护险能报销假牙吗？",
    "year": "广州2028年城乡最低生活保障标准是多少？",
    "old_version": "广东省失业保险条例2015年那一版，失业保险金按最低工资标准的百分之几发？",
    "past_year": "广州失业保险常见问题解答2023年版里，失业保险金每月标准是多少？",
    "narrative": "我爸今年66岁了，广州户口，平时喜欢坐公交去公园下棋，他坐车还用自己掏钱吗？",
    "multiple": "广州特困人员的基本生活标准是按低保标准的几倍来定的？",
    "price_cut": "我是广州的，今年61岁，坐地铁能便宜多少？",
    "quorum": "济南莱芜区老楼加装电梯，要多少业主签字同意？",
    "vague_story": "我在上海上班，攒了好几年的医保个人账户的钱，能给父母买商业健康保险吗？",
    "share": "在广东领失业金期间生了孩子，当月能额外领多少？",
    "clutter": "广州生育津贴从什么时候起可以由职工自己申请？",
    "doc_number": "广州市长期护理保险试行办法的文号是什么？",
    "review": "青海2024年民生实事里，就业方面打造了哪些特色劳务品牌？",
    "two_asks": "广州低保标准每人每月多少？低保边缘家庭怎么认定？",
    "follow_first": "广州失业保险金怎么申领？",
    "follow_up": "交了以后几天能审核完？",
}


@pytest.fixture(scope="module")
def real(settings_factory, embeddings):
    from ui.services import build_services
    
    missing = [p for p in FILES if not p.exists()]
    if missing:
        pytest.skip(f"needs ../shared beside this checkout (missing {missing[0]})")
    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest(list(FILES))
    assert not report.errors, report.errors
    svc.warm_up()
    return svc


def _files(answer):
    return {c.chunk.metadata["file_name"] for c in answer.citations}


def test_the_questions_here_are_in_no_question_set():
    asked = set(QUESTIONS.values())
    for name in ("team", "blind", "smoke"):
        path = ROOT / "eval" / "questions" / f"{name}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            texts = {q["question"], *(t["content"] for t in q["history"])}
            assert not texts & asked, (name, q["id"])


def test_1_an_unanswerable_question_is_not_answered_with_a_near_text(real):
    region = real.assistant.ask(QUESTIONS["near_region"])
    assert region.status == "refused" and "杭州" in region.text and "12345" in region.text
    assert "1309" not in region.text, "Guangzhou's figure must not pass for Hangzhou's"
    phone = real.assistant.ask(QUESTIONS["near_phone"])
    assert phone.status == "refused" and "电话" in phone.text, phone.text
    visa = real.assistant.ask(QUESTIONS["near_topic"])
    assert visa.status == "refused" and not visa.citations, visa.text


def test_1b_a_short_question_needs_its_words_in_the_text(real):
    """A short question whose words the nearest text mostly lacks is about something the
    knowledge base does not hold, however close the cosine (RelevancePolicy.min_topic_short)."""
    from dataclasses import replace

    question = QUESTIONS["near_short"]
    assert real.assistant.ask(question).refused
    policy = real.answerer.policy
    real.answerer.policy = replace(policy, min_topic_short=policy.min_topic)
    try:
        # With a story's bar, a rule on the long-term-care fund's assessment fees passes.
        assert not real.assistant.ask(question).refused
    finally:
        real.answerer.policy = policy


def test_2_another_year_is_said_to_be_another_year(real):
    a = real.assistant.ask(QUESTIONS["year"])
    assert a.status == "neighbour", a.text
    assert "2025年" in a.text and "2028年" in a.text and "1309" in a.text
    assert "2028" in a.neighbour and "2025" in a.neighbour
    assert _files(a) == {"gz_dibao_jiuzhu_biaozhun_2025.txt"}
    assert a.to_dict()["status"] == "neighbour"


def test_2b_a_text_speaks_from_its_date_on(real):
    """A rule that names no year of its own is the document version's: asked about an older
    version or an earlier year, it is given as the later text it is."""
    a = real.assistant.ask(QUESTIONS["old_version"])
    assert a.status == "neighbour", a.text
    assert "2022" in a.neighbour and "2015" in a.neighbour
    assert "百分之九十" in a.text
    b = real.assistant.ask(QUESTIONS["past_year"])
    assert b.status == "neighbour" and "2025" in b.neighbour and "2023" in b.neighbour, b.text


def test_3_a_story_in_everyday_words_is_answered_from_its_article(real):
    a = real.assistant.ask(QUESTIONS["narrative"])
    assert a.status == "answered", a.text
    assert "gz_laonianren_youdai_banfa.txt" in _files(a)
    assert "65周岁以上" in a.text and "免费" in a.text


def test_4_figures_stated_as_multiples_and_shares_are_figures(real):
    multiple = real.assistant.ask(QUESTIONS["multiple"])
    assert multiple.status == "answered" and "1.6倍" in multiple.text, multiple.text
    share = real.assistant.ask(QUESTIONS["share"])
    assert share.status == "answered" and "三倍" in share.text, share.text
    assert share.text.startswith("简要回答：广东"), "a figure question opens with the one-line answer"
    cut = real.assistant.ask(QUESTIONS["price_cut"])
    assert cut.status == "answered" and "半价" in cut.text, cut.text
    quorum = real.assistant.ask(QUESTIONS["quorum"])
    assert quorum.status == "answered" and "三分之二以上" in quorum.text, quorum.text


def test_3b_a_story_with_vague_time_words_is_asked_yes_or_no(real):
    """"攒了好几年" tells the story; it does not ask how long (which the regulation never says)."""
    a = real.assistant.ask(QUESTIONS["vague_story"])
    assert a.status == "answered", a.text
    assert "历年结余资金" in a.text and "近亲属" in a.text
    assert _files(a) == {"local_shanghai_yiliao_baozhang_tiaoli_2024.txt"}


def test_5_the_sentence_that_answers_not_its_neighbours_nor_page_furniture(real):
    clutter = real.assistant.ask(QUESTIONS["clutter"])
    assert clutter.status == "answered" and "2025年12月1日" in clutter.text, clutter.text
    quoted = "".join(c.quote for c in clutter.citations) + clutter.text
    for furniture in ("【", "来源：", "发布日期", "好消息来了"):
        assert furniture not in quoted, furniture
    number = real.assistant.ask(QUESTIONS["doc_number"])
    assert "穗医保规字〔2024〕1号" in number.text.split("\n")[0], number.text
    review = real.assistant.ask(QUESTIONS["review"])
    assert "拉面" in review.text and "青绣" in review.text, review.text


def test_5b_each_thing_a_question_asks_gets_its_sentence(real):
    # The second ask's sentence (边缘家庭, 1.5倍) is closest to the question as a whole; the
    # first ask's figure must be quoted too.
    a = real.assistant.ask(QUESTIONS["two_asks"])
    assert a.status == "answered", a.text
    assert "每人每月1309元" in a.text and "1.5倍" in a.text, a.text


def test_6_a_follow_up_keeps_the_topic_of_the_turn_before(real):
    first = real.assistant.ask(QUESTIONS["follow_first"])
    history = [{"role": "user", "content": QUESTIONS["follow_first"]}, {"role": "assistant", "content": first.text}]
    a = real.assistant.ask(QUESTIONS["follow_up"], history)
    assert "失业" in a.query, a.query
    assert a.status == "answered" and "7个工作日" in a.text, a.text
    assert "gz_shiye_baoxian_faq_2025.txt" in _files(a)
    # Guangdong's unemployment regulation sets the same 7-working-day review for Guangzhou.
    assert all("shiye" in f or "失业保险" in f for f in _files(a)), _files(a)

