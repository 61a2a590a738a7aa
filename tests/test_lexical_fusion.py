"""BM25 on the keyword index and reciprocal rank fusion, checked against hand-computed values."""

import math

import pytest

from assistant.retrieval import reciprocal_rank_fusion
from assistant.core.text import Tokenizer, sentences

TOKENIZER = Tokenizer()
terms, query_terms = TOKENIZER.terms, TOKENIZER.query_terms


def test_rrf_hand_computed_with_ties():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)
    # a and d tie with c below: a (1/61) > d (1/62) > c (1/63)
    assert sorted(fused, key=fused.get, reverse=True) == ["b", "a", "d", "c"]
    assert reciprocal_rank_fusion([[], []]) == {}


def _three_documents(svc, tmp_path, texts):
    for n, text in enumerate(texts):
        (tmp_path / f"d{n}.md").write_text(f"---\ntitle: 文件{n}\n---\n{text}\n", encoding="utf-8")
    svc.ingestor.ingest(sorted(tmp_path.glob("d*.md")))
    chunks = svc.store.all_chunks()
    return {c.metadata["file_name"]: c for c in chunks}


def test_keyword_scores_are_bm25_over_the_chunks_terms(fresh_services, tmp_path):
    """tantivy's BM25 (k1 = 1.2, b = 0.75) over each chunk's terms, title and headings
    included, recomputed by hand with repeated terms and unequal lengths."""
    svc = fresh_services
    chunks = _three_documents(svc, tmp_path, ["失业保险失业保险失业", "失业登记", "低保标准低保申请条件家庭收入"])
    bags = {name: svc.tokenizer.terms(c.context_text()) for name, c in chunks.items()}
    avgdl = sum(map(len, bags.values())) / len(bags)

    def bm25(query, bag):
        total = 0.0
        for q in dict.fromkeys(query):
            df = sum(q in b for b in bags.values())
            tf = bag.count(q)
            if df and tf:
                idf = math.log(1 + (len(bags) - df + 0.5) / (df + 0.5))
                total += idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * len(bag) / avgdl))
        return total

    for query in (["失业"], ["失业", "保险"], ["低保", "收入", "失业"]):
        got = {c.metadata["file_name"]: score for c, score in svc.searcher.keyword.search(query, 3)}
        want = {name: bm25(query, bag) for name, bag in bags.items() if bm25(query, bag) > 0}
        assert got.keys() == want.keys()
        for name, score in want.items():
            assert got[name] == pytest.approx(score, rel=1e-3), (query, name)
    assert svc.searcher.keyword.search(["养老"], 3) == [] and svc.searcher.keyword.search([], 3) == []
    df = sum("失业" in b for b in bags.values())
    assert svc.searcher.term_idf("失业") == pytest.approx(math.log(1 + (3 - df + 0.5) / (df + 0.5)), rel=1e-6)
    assert svc.searcher.knows("低保") and not svc.searcher.knows("养老")


def test_bm25_prefers_the_text_with_the_rarer_term(fresh_services, tmp_path):
    svc = fresh_services
    _three_documents(svc, tmp_path, ["失业保险金的领取期限", "失业登记和再就业服务", "最低生活保障标准"])
    ranked = [c.metadata["file_name"] for c, _ in svc.searcher.keyword.search(svc.tokenizer.query_terms("失业保险金能领多久"), 3)]
    assert ranked[0] == "d0.md" and "d2.md" not in ranked


def test_terms_drop_question_words_and_punctuation():
    t = terms("请问，失业了每个月能领多少钱？")
    assert "失业" in t
    assert not {"请问", "，", "？", "多少"} & set(t)


def test_terms_normalise_full_width():
    assert "abc123" in terms("ＡＢＣ１２３") or {"abc", "123"} <= set(terms("ＡＢＣ１２３"))


def test_sentences_split_on_chinese_punctuation():
    assert sentences("第一句。第二句！第三句？\n第四句；第五") == ["第一句。", "第二句！", "第三句？", "第四句；", "第五"]


def test_a_restart_tokenises_no_chunk_it_has_seen(settings_factory, embeddings, monkeypatch):
    from ui.services import build_services
    from tests.conftest import KNOWLEDGE, shared_ocr

    first = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    first.ingestor.ingest([KNOWLEDGE])
    before = [h.chunk.id for h in first.searcher.search("异地就医怎么结算", 4)]
    tokenised = []
    again = build_services(first.settings, embeddings=embeddings, ocr=shared_ocr())  # a new process over the same data folder
    real = again.tokenizer.terms
    monkeypatch.setattr(again.tokenizer, "terms", lambda text: tokenised.append(text) or real(text))
    assert [h.chunk.id for h in again.searcher.search("异地就医怎么结算", 4)] == before
    # Only the question (and its term-map expansion) was cut; no chunk text.
    assert all(text.startswith("异地就医怎么结算") for text in tokenised)
    assert len(again.searcher.keyword) == first.store.count()
