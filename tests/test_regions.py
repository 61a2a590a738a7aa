"""Region awareness: another region's figures never answer a question about this one."""

from assistant.core.regions import NATIONAL, applies_to, chunk_regions, districts_in, regions_in, with_provinces
from assistant.core.types import Chunk


def test_regions_in_text():
    assert regions_in("北京的低保标准是多少") == {"北京"}
    assert regions_in("呼和浩特和广州的公租房") == {"呼和浩特", "广州"}
    assert regions_in("失业保险金能领多久") == set()


def test_districts_are_read_after_their_city():
    assert districts_in("济南历下区的老小区加装电梯补贴多少") == {"历下区": "济南"}
    assert districts_in("广州市天河区公租房") == {"天河区": "广州"}
    assert districts_in("去社区服务中心办理") == {}


def test_city_questions_accept_provincial_rules():
    assert with_provinces({"广州"}) == {"广州", "广东"}
    assert applies_to(Chunk("a", "", {"title": "广东省失业保险条例"}), {"广州"})
    assert not applies_to(Chunk("b", "", {"title": "上海市社会救助条例"}), {"广州"})


def test_document_regions():
    assert chunk_regions(Chunk("a", "", {"region": "广东省广州市"})) == {"广东", "广州"}
    assert chunk_regions(Chunk("b", "", {"title": "失业保险条例", "issuer": "国务院"})) == {NATIONAL}
    assert chunk_regions(Chunk("c", "", {"title": "社会保险法"})) == set()
    assert applies_to(Chunk("d", "", {"title": "社会保险法"}), {"北京"})


def test_other_regions_figures_are_refused_with_a_clear_reason(services):
    a = services.assistant.ask("北京的低保标准是多少")
    assert a.refused and not a.citations
    assert "北京" in a.text and "广州" in a.text and "12345" in a.text
    assert "1309" not in a.text


def test_the_region_asked_about_is_answered(services):
    a = services.assistant.ask("广州低保标准是多少")
    assert not a.refused and "1309元" in a.text


def test_a_district_is_named_when_its_rules_are_missing(services):
    a = services.assistant.ask("济南历下区的低保标准是多少？")
    assert a.refused and "济南历下区" in a.text and "12345" in a.text


def test_a_city_document_is_named_by_its_city():
    from assistant.core.regions import most_specific

    assert most_specific({"广东", "广州"}) == {"广州"}
    assert most_specific({"广东", "上海"}) == {"广东", "上海"}
    assert most_specific({"全国"}) == {"全国"}
