"""End to end on knowledge/: real model, real Chroma, hybrid retrieval, extractive answers."""

import re

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable


def _cited_files(answer):
    return {c.chunk.metadata["file_name"] for c in answer.citations}


def test_cross_region_medical_settlement_is_answered_from_the_fact_sheet(services):
    a = services.assistant.ask("异地就医怎么结算")
    assert not a.refused
    assert "yidi_jiuyi_jiesuan.md" in _cited_files(a)
    assert "直接结算" in a.text and "备案" in a.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", a.text)}
    assert markers == {c.n for c in a.citations}
    for c in a.citations:
        assert c.quote in c.chunk.text.replace("\n", "") or c.quote[:20] in c.chunk.text


def test_qinghai_review_answers_44(services):
    a = services.assistant.ask("2024年青海省实施了多少项民生实事工程")
    assert not a.refused
    assert "44项" in a.text
    assert "qinghai_2024_minsheng_shishi_review.txt" in _cited_files(a)


@pytest.mark.parametrize("question", ["美国签证怎么办理", "今天天气怎么样", "怎么考驾照", "个人所得税怎么退税"])
def test_questions_outside_the_knowledge_base_are_refused(services, question):
    a = services.assistant.ask(question)
    assert a.refused, a.text
    assert "12345" in a.text and not a.citations


@pytest.mark.parametrize(
    "question,file,fact",
    [
        ("失业保险金最长能领多久", "shiye_baoxian_jin.md", "24个月"),
        ("广州低保标准是多少", "guangzhou_dibao_biaozhun_2025.md", "1309"),
        ("老人坐公交要钱吗", "guangzhou_laonianren_youdai.md", "免费"),
        ("生育津贴怎么申请", "guangzhou_shengyu_jintie.md", "生育津贴"),
    ],
)
def test_everyday_questions_find_their_policy(services, question, file, fact):
    a = services.assistant.ask(question)
    assert not a.refused
    assert file in _cited_files(a)
    assert fact in a.text


def test_empty_question_is_refused_without_retrieval(services):
    a = services.assistant.ask("   ")
    assert a.refused and "retrieval" not in a.timings
    assert "请输入" in a.text and not a.citations


def test_pieces_are_langchain_runnables(services):
    assert isinstance(services.retriever, BaseRetriever)
    docs = services.retriever.invoke("公租房怎么申请")
    assert 0 < len(docs) <= services.settings.top_k
    assert docs[0].metadata["file_name"] == "guangzhou_gongzufang.md"
    assert {"dense_score", "lexical_score", "rrf_score"} <= set(docs[0].metadata)
    chain = services.assistant.chain
    assert isinstance(chain, Runnable)
    answer = chain.invoke({"question": "公租房怎么申请"})
    # The runnable is an adapter over the one question pipeline: the same answer as ask.
    assert answer.citations and set(answer.timings) == {"rewrite", "retrieval", "answer", "total"}
    assert answer.text == services.assistant.ask("公租房怎么申请").text


def test_hybrid_fusion_uses_both_retrievers(services):
    hits = services.searcher.search("城乡居民医保学生个人缴费多少钱", 4)
    assert hits[0].chunk.metadata["file_name"] == "guangzhou_jumin_yibao_2026.md"
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_follow_up_uses_the_earlier_question(services):
    from assistant.query import contextualise

    history = [{"role": "user", "content": "广州公租房怎么申请？"}, {"role": "assistant", "content": "可在街道办申请。"}]
    assert contextualise("那需要满足什么条件？", history, tokenizer=services.tokenizer) == "广州公租房怎么申请？ 那需要满足什么条件？"
    assert contextualise("失业保险金能领多久", history, tokenizer=services.tokenizer) == "失业保险金能领多久"
    a = services.assistant.ask("那需要满足什么条件？", history=history)
    assert not a.refused
    assert "guangzhou_gongzufang.md" in _cited_files(a)
    assert a.question == "那需要满足什么条件？"


def test_every_hit_has_a_cosine_even_when_only_bm25_found_it(services, monkeypatch):
    store = services.store
    real_nearest = store.nearest
    # Dense search returns a single chunk, as when near-duplicates crowd the dense list;
    # the other hits then come from BM25 only.
    monkeypatch.setattr(store, "nearest", lambda vector, n, sources=None: real_nearest(vector, 1, sources=sources))
    hits = services.searcher.search("失业保险金最长能领多久", 4)
    assert len(hits) > 1
    assert any(h.dense_rank is None for h in hits)
    assert all(h.dense_score is not None and 0.5 < h.dense_score <= 1.0 for h in hits)


def test_a_question_about_conditions_gets_the_whole_list(services):
    a = services.assistant.ask("公租房申请要什么条件")
    assert not a.refused
    assert "15平方米" in a.text  # the housing condition
    assert "12个月" in a.text  # the income and assets condition


def test_a_sentence_cut_by_the_chunk_boundary_is_completed_and_long_ones_cut_at_a_clause():
    from assistant.sentences import MAX_SENTENCE, clean_sentence, completed_text
    from assistant.core.types import Chunk, ScoredChunk

    first = Chunk("a", "第五条 申请家庭人均月收入低于1549元（低保特困家庭需连续享受", {"chunk_index": 3, "article": "第五条"})
    nxt = Chunk("b", "（低保特困家庭需连续享受城市最低生活保障一年以上）。第六条 其他。", {"chunk_index": 4, "article": "第五条"})
    hit = ScoredChunk(first, 1.0, neighbours=[nxt])
    assert completed_text(hit) == "第五条 申请家庭人均月收入低于1549元（低保特困家庭需连续享受城市最低生活保障一年以上）。"
    assert completed_text(ScoredChunk(first, 1.0)) == first.text
    long = "，".join(["每人每月补贴1309元"] * 30) + "。"
    cut = clean_sentence(long)
    assert len(cut) <= MAX_SENTENCE + 1 and cut.endswith("，…") and "1309元，…" in cut


def test_the_direct_line_says_a_condition_with_its_consequence():
    """"简要回答" quotes the clause stating the figure together with the condition it belongs to,
    without the article number the citation already gives."""
    from assistant.asks import Slot
    from assistant.citing import direct_line
    from assistant.sentences import Candidate
    from assistant.core.types import Chunk

    text = "第十九条 劳动合同期限一年以上不满三年的，试用期不得超过二个月；"
    line = direct_line(
        Slot.DURATION, Candidate(0, 0, text, 1.0, 0.0, frozenset({Slot.DURATION})), Chunk("x", text, {}), lambda c: 1
    )
    assert line == "简要回答：劳动合同期限一年以上不满三年的，试用期不得超过二个月[1]\n\n"


def test_terms_every_candidate_shares_cannot_choose_among_them(services):
    """Within one document's sentences the benefit it is about tells nothing apart: the
    sharpened weights keep only what few sentences hold (人均住房建筑面积 among rent-subsidy rules)."""
    from assistant.sentences import TermWeights

    answerer = services.answerer
    sentences = [
        "徐州市市区公共租赁住房租赁补贴主要面向符合条件的低保、特困、低收入家庭。",
        "公共租赁住房租赁补贴保障有效期为一年，按年度进行审核。",
        "家庭人均住房建筑面积低于15平方米。",
    ]
    weights = TermWeights({"住房": 3.0, "公共租赁住房": 4.6, "补贴": 3.5, "人均": 5.0, "建筑面积": 4.9})
    sharp = answerer._sharpened(weights, sentences)
    assert sharp.core["住房"] == 0.0  # every sentence holds it
    assert sharp.core["人均"] > sharp.core["补贴"] > 0.0
    assert answerer._cover(sharp, sentences[2]) > answerer._cover(sharp, sentences[0])
    # By idf alone the subsidy's own sentence looks as good an answer.
    assert answerer._cover(weights, sentences[0]) >= answerer._cover(weights, sentences[2]) - 0.1
