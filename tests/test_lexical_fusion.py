"""BM25 and reciprocal rank fusion, checked against hand-computed values."""

import math

import pytest

from assistant.lexical import BM25Index
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


def test_bm25_hand_computed():
    # Two one-word "texts": every term has df = 1, N = 2, equal lengths (avgdl = length).
    index = BM25Index(["x", "y"], ["失业", "低保"], TOKENIZER, k1=1.5, b=0.75)
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    expected = idf * (1 * 2.5) / (1 + 1.5)  # tf = 1, |d| = avgdl
    (hit,) = index.search(["失业"], 5)
    assert hit[0] == "x"
    assert hit[1] == pytest.approx(expected, rel=1e-5)
    assert index.search(["养老"], 5) == []
    assert index.search([], 5) == []


def test_bm25_prefers_the_text_with_the_rarer_term():
    index = BM25Index(
        ["a", "b", "c"],
        ["失业保险金的领取期限", "失业登记和再就业服务", "最低生活保障标准"],
        TOKENIZER,
    )
    ranked = [cid for cid, _ in index.search(query_terms("失业保险金能领多久"), 3)]
    assert ranked[0] == "a"
    assert "c" not in ranked


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
    assert len(again.searcher.lexical_index()) == first.store.count()


def test_bm25_matches_the_formula_with_repeated_terms_and_unequal_lengths():
    texts = ["失业 保险 失业 保险 失业", "失业 登记", "低保 标准 低保 申请 条件 家庭 收入"]
    index = BM25Index(["a", "b", "c"], texts, TOKENIZER, k1=1.5, b=0.75)
    bags = [terms(t) for t in texts]
    avgdl = sum(map(len, bags)) / 3

    def bm25(query: list[str], bag: list[str]) -> float:
        total = 0.0
        for q in dict.fromkeys(query):
            df = sum(q in d for d in bags)
            tf = bag.count(q)
            if df and tf:
                idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
                total += idf * tf * 2.5 / (tf + 1.5 * (1 - 0.75 + 0.75 * len(bag) / avgdl))
        return total

    for query in (["失业"], ["失业", "保险"], ["低保", "收入", "失业"]):
        got = dict(index.search(query, 3))
        want = {cid: bm25(query, bag) for cid, bag in zip("abc", bags) if bm25(query, bag) > 0}
        assert got.keys() == want.keys()
        for cid, score in want.items():
            assert got[cid] == pytest.approx(score, rel=1e-5)


def test_a_story_also_sees_its_documents_next_best_chunks(laws_services):
    """A long question's results carry up to two more chunks of their own document from the
    first fused candidates (the per-document cap keeps them out of the k); a short one's don't."""
    from assistant.core.versions import version_key

    searcher = laws_services.searcher
    story = "我家在重庆，儿子成年了但是重度残疾，一直跟我们老两口住在一起，家里收入很低，他能不能自己单独申请每个月的最低生活保障？"
    depth = searcher.sibling_depth

    def carried(question, sibling_depth):
        searcher.sibling_depth = sibling_depth
        try:
            return searcher.search(question, 2)
        finally:
            searcher.sibling_depth = depth

    plain = {h.chunk.id: {n.id for n in h.neighbours} for h in carried(story, 0)}
    results = carried(story, 10)
    added = {h.chunk.id: [n for n in h.neighbours if n.id not in plain[h.chunk.id]] for h in results}
    assert any(added.values()), "no sibling attached"
    shown = set(plain) | {n for ns in plain.values() for n in ns}
    for hit in results:
        assert len(added[hit.chunk.id]) <= 2
        for n in added[hit.chunk.id]:
            assert version_key(n.metadata) == version_key(hit.chunk.metadata) and n.id not in shown
    short = "重庆低保怎么申请"
    assert [[n.id for n in h.neighbours] for h in carried(short, 10)] == [[n.id for n in h.neighbours] for h in carried(short, 0)]
