"""Everyday words meet official terms: the term map, jieba's user words, BM25 expansion."""

from __future__ import annotations

import pytest

from assistant.query import TERM_MAP, TermMap
from assistant.retrieval import HybridSearcher
from assistant.core.text import Tokenizer
from tests.conftest import corpus_path


def test_the_shipped_term_map_loads_and_expands():
    tm = TermMap.load()
    assert len(tm.words()) > 100
    assert tm.expand("外地看病怎么报销") == "外地看病怎么报销 异地就医 结算 就医 医疗"
    assert tm.expand("失业金每个月多少钱").endswith("失业保险金")
    assert tm.expand("公共租赁住房的租金") == "公共租赁住房的租金"  # nothing everyday in it
    assert "最低生活保障" in tm.expand("低保怎么申请")
    assert "乘坐" in tm.expand("老人坐地鐵要錢嗎")  # traditional characters too


def test_a_broken_term_map_line_names_file_and_line(tmp_path):
    bad = tmp_path / "terms.tsv"
    bad.write_text("# comment\n低保\t最低生活保障\n只有一列\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"terms.tsv:3: expected"):
        TermMap.load(bad)


def test_policy_terms_stay_whole_words(services):
    # build_services taught its tokenizer the map's words, and no other tokenizer
    assert "异地就医" in services.tokenizer.query_terms("外地看病 异地就医")
    assert "最低生活保障" in services.tokenizer.query_terms("申请最低生活保障需要什么条件")
    assert "最低生活保障" not in Tokenizer().query_terms("申请最低生活保障需要什么条件")


def test_expansion_lets_bm25_find_the_official_wording(fresh_services):
    svc = fresh_services
    svc.ingestor.ingest([
        corpus_path("txt", "gz_laonianren_youdai_banfa.txt"),
        corpus_path("txt", "law_baozhang_nongmingong_gongzi_zhifu_tiaoli_2019.txt"),
        corpus_path("txt", "law_laonianren_quanyi_baozhangfa_2018.txt"),
        corpus_path("txt", "gz_huji_jiating_zhufang_baozhang_2024.txt"),
    ])
    question = "广州62岁的老人坐地铁、公交要钱吗？"
    plain = HybridSearcher(svc.store, svc.searcher.keyword, term_map=None)
    expanded = HybridSearcher(svc.store, svc.searcher.keyword, term_map=TermMap.load(TERM_MAP))

    def lexical_rank(searcher):
        hits = searcher.search(question, 10)
        ranks = [h.lexical_rank for h in hits if h.chunk.metadata["file_name"] == "gz_laonianren_youdai_banfa.txt" and h.lexical_rank]
        return min(ranks) if ranks else 99, hits[0].chunk.metadata["file_name"]

    rank_plain, _ = lexical_rank(plain)
    rank_expanded, top = lexical_rank(expanded)
    assert rank_expanded == 1 and rank_expanded < rank_plain
    assert top == "gz_laonianren_youdai_banfa.txt"
    best = expanded.search(question, 1)[0]
    assert "公共交通" in best.chunk.text or "轨道交通" in best.chunk.text


def test_an_empty_term_map_setting_turns_expansion_off(monkeypatch, tmp_path):
    from assistant.core.settings import Settings

    monkeypatch.setenv("MINSHENG_TERM_MAP", "")
    assert Settings(data_dir=tmp_path).term_map is None
    monkeypatch.delenv("MINSHENG_TERM_MAP")
    assert Settings(data_dir=tmp_path).term_map == TERM_MAP


def test_only_specific_everyday_phrases_stand_in_for_official_terms():
    tm = TermMap.load()
    assert "异地就医" in tm.alternatives("外地看病")
    assert tm.alternatives("老人") == ()  # too broad to vouch for relevance
    assert tm.alternatives("异地就医") == ()


def test_an_everyday_question_is_answered_from_the_official_text(services):
    answer = services.assistant.ask("外地看病怎么报销")
    assert not answer.refused
    assert answer.citations[0].chunk.metadata["file_name"] == "yidi_jiuyi_jiesuan.md"
    assert "异地就医" in answer.text
