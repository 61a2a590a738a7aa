"""Region, validity, filters and follow-ups on real regulations from ../shared/corpus-laws.

The index holds 上海市社会救助条例 in its 2018 and 2024 versions, the elderly-rights rules of
上海, 山东, 河南 and the national law, 重庆's 低保 regulation and 浙江's consumer rules.
"""

from datetime import date

from assistant.filters import SearchFilters
from assistant.core.regions import chunk_regions
from assistant.core.versions import in_force

SH_2018 = "上海市社会救助条例(2018-11-22).md"
SH_2024 = "上海市社会救助条例(2024-12-31).md"


def _files(hits_or_citations):
    out = []
    for h in hits_or_citations:
        out.append(h.chunk.metadata["file_name"])
    return out


def test_the_older_version_records_what_replaced_it(laws_services):
    chunks = laws_services.store.all_chunks()
    old = [c for c in chunks if c.metadata["file_name"] == SH_2018]
    new = [c for c in chunks if c.metadata["file_name"] == SH_2024]
    assert old and new
    assert {c.metadata["replaced_by"] for c in old} == {"上海市社会救助条例（2024-12-31）"}
    assert {c.metadata["replaced_on"] for c in old} == {"2024-12-31"}
    assert all(not c.metadata.get("replaced_by") for c in new)
    assert not in_force(old[0].metadata) and in_force(new[0].metadata)
    # Before the 2024 amendment the 2018 text was the one in force.
    assert in_force(old[0].metadata, on=date(2020, 1, 1))


def test_answers_quote_the_version_in_force_and_show_its_date(laws_services):
    answer = laws_services.assistant.ask("上海的最低生活保障家庭是怎么定义的？")
    assert not answer.refused
    files = _files(answer.citations)
    assert SH_2024 in files and SH_2018 not in files
    assert all("2024-12-31" in c.label() for c in answer.citations if c.chunk.metadata["file_name"] == SH_2024)


def test_a_question_about_an_earlier_year_may_use_the_replaced_version_and_says_so(laws_services):
    hits = laws_services.searcher.search("2019年上海的最低生活保障家庭是怎么定义的？", 6)
    assert SH_2018 in _files(hits)
    answer = laws_services.assistant.ask("2019年上海的最低生活保障家庭是怎么定义的？")
    if SH_2018 in _files(answer.citations):
        assert any("已被上海市社会救助条例（2024-12-31）替代" in n for n in answer.notes)
        assert "替代" in answer.text


def test_filters_restrict_both_retrievers(laws_services):
    search = laws_services.searcher.search
    henan = search("老年人优待", 6, SearchFilters(regions=frozenset({"河南"}), national=False))
    assert henan and all(chunk_regions(h.chunk) == {"河南"} for h in henan)
    with_national = search("老年人优待", 8, SearchFilters(regions=frozenset({"河南"})))
    assert {r for h in with_national for r in chunk_regions(h.chunk)} <= {"河南", "全国"}
    current = search("最低生活保障家庭的定义", 8, SearchFilters(in_force=True))
    assert current and SH_2018 not in _files(current)
    assert SH_2018 in _files(search("最低生活保障家庭的定义", 8, SearchFilters(in_force=True, on=date(2020, 1, 1))))
    older = search("老年人优待", 8, SearchFilters(date_to="2016-12-31"))
    assert older and all(h.chunk.metadata["date"] <= "2016-12-31" for h in older)
    topic = search("老年人优待", 8, SearchFilters(topic="消费者"))
    assert all("消费者" in h.chunk.metadata["title"] for h in topic)
    assert search("老年人优待", 4, SearchFilters(regions=frozenset({"西藏"}), national=False)) == []


def test_a_named_region_is_preferred(laws_services):
    for region, file_name in (
        ("山东", "山东省老年人权益保障条例(2014-09-26).md"),
        ("河南", "河南省老年人权益保障条例(2018-07-30).md"),
        ("上海", "上海市老年人权益保障条例(2016-01-29).md"),
    ):
        hits = laws_services.searcher.search(f"{region}老年人可以享受哪些优待？", 4)
        assert hits[0].chunk.metadata["file_name"] == file_name, region


def test_answers_from_several_regions_are_labelled_by_region(laws_services):
    answer = laws_services.assistant.ask("老年人乘坐公共交通工具能得到哪些照顾？")
    assert not answer.refused
    regions = {r for c in answer.citations for r in chunk_regions(c.chunk)}
    if len(regions) > 1:
        lines = [line for line in answer.text.splitlines() if line[:1].isdigit()]
        assert lines and all("【" in line and "】" in line for line in lines)


def test_a_region_without_rules_gets_national_rules_with_a_warning_or_a_refusal(laws_services):
    national = laws_services.assistant.ask("江西的子女可以以放弃继承权为由不赡养老人吗？")
    assert not national.refused
    assert {r for c in national.citations for r in chunk_regions(c.chunk)} == {"全国"}
    assert any("江西" in n and "全国性规定" in n for n in national.notes)
    # A local figure is never taken from another region's or the national rules.
    figure = laws_services.assistant.ask("江西的最低生活保障标准是每人每月多少钱？")
    assert figure.refused and "江西" in figure.text and not figure.citations


def _follow_up(services, first: str, reply: str, question: str):
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": reply}]
    answer = services.assistant.ask(question, history=history)
    assert not answer.refused, answer.text
    return answer


def test_follow_up_questions_keep_the_topic(laws_services):
    answer = _follow_up(
        laws_services, "在浙江，美容院给我办的记名储值卡最多能充多少钱？", "单张记名预付凭证金额不得超过五千元。",
        "那要是店家不干了要关门，卡里没用完的钱怎么办？",
    )
    assert "浙江省实施《消费者权益保护法》办法(2017-03-31).md" in _files(answer.citations)
    assert "退还" in answer.text


def test_a_follow_up_naming_another_region_moves_to_that_region(laws_services):
    answer = _follow_up(laws_services, "上海的老年人可以享受哪些优待？", "……", "同样的问题，在山东呢？")
    assert {r for c in answer.citations for r in chunk_regions(c.chunk)} <= {"山东", "全国"}
    assert "山东省老年人权益保障条例(2014-09-26).md" in _files(answer.citations)
