"""Exact names, 文号 and article text pasted by hotline staff come back first from `/api/search`,
over real documents of ../shared (the keyword index's phrase search), and the ask path keeps
them too."""

import json
import urllib.request

import pytest

from assistant.core.keyword import phrase_form
from tests.conftest import LAW_FILES, LAWS, corpus_path, shared_ocr

#: Documents holding the phrases below, and regulations on other subjects around them.
FILES = [LAWS / name for name in LAW_FILES] + [
    LAWS / "local/上海/上海市医疗保障条例(2024-12-31).md",
    LAWS / "local/上海/上海市水上搜寻救助条例(2021-09-28).md",
    LAWS / "national/行政法规/城市市容和环境卫生管理条例(2017-03-01).md",
    LAWS / "local/浙江/宁波市市容和环境卫生管理条例(2019-08-20).md",
] + [corpus_path("txt", name) for name in (
    "gz_linshi_jiuzhu_xize_2021.txt",
    "sh_jiuzhufang_chengtao_gaizao_2023.txt",
    "gz_tekun_renyuan_jiuzhu_gongyang_2021.txt",
    "gz_linghuo_jiuye_yanglao_baoxian.txt",
)]

#: The issue's example (jieba cuts it into common words: three unrelated regulations came
#: first), and ten more names, 文号 and article text, each as found in the documents; one
#: 文号 is typed with square brackets, as staff often do.
PHRASES = [
    "长三角生态绿色一体化发展示范区",
    "穗府办规〔2019〕13号",
    "穗府办规〔2019〕14号",
    "沪房规范[2022]1号",
    "穗民规字〔2018〕10号",
    "粤人社规〔2020〕30号",
    "国发〔2014〕47号",
    "上海市水上搜寻救助条例",
    "城市市容和环境卫生管理条例",
    "老年人养老以居家为基础",
    "本市建立水上搜救信息化指挥平台",
]


@pytest.fixture(scope="module")
def phrase_url(settings_factory, embeddings):
    from ui.api import create_server
    from ui.background import BackgroundServer
    from ui.services import build_services

    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest(FILES)
    assert not report.errors and report.count("added") == len(FILES), report.summary()
    with BackgroundServer(create_server(svc)) as url:
        yield url, svc


def _search(url, query, k=5):
    req = urllib.request.Request(url + "/api/search", data=json.dumps({"query": query, "k": k}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())["results"]


@pytest.mark.parametrize("phrase", PHRASES)
def test_an_exact_name_or_doc_number_ranks_a_chunk_holding_it_first(phrase_url, phrase):
    url, _ = phrase_url
    results = _search(url, phrase)
    assert results, phrase
    top = results[0]
    hay = phrase_form(f"{top['title']}\n{top.get('heading', '')}\n{top['text']}")
    assert phrase_form(phrase) in hay, (phrase, top["title"], top["text"][:80])


def test_a_quoted_name_inside_a_question_is_matched_verbatim(phrase_url):
    """In the ask path the verbatim match is a third ranking in the fusion: the chunk that
    holds the quoted name comes first here, without overruling dense and BM25 outright."""
    _, svc = phrase_url
    question = "“长三角生态绿色一体化发展示范区”里异地就医怎么办？"
    hits = svc.searcher.search(question, 4)
    assert "长三角生态绿色一体化发展示范区" in hits[0].chunk.text
    assert "上海市医疗保障条例" in hits[0].chunk.metadata["title"]
    assert hits[0].score < 1.0, "the ask path does not put verbatim matches above the fusion"
    assert svc.searcher.search(question, 4, exact_first=True)[0].score > 1.0


def test_a_doc_number_inside_a_sentence_is_found_without_the_words_before_it(phrase_url):
    url, _ = phrase_url
    top = _search(url, "按穗府办规〔2019〕14号执行吗")[0]
    assert "穗府办规〔2019〕14号" in top["text"], top["text"][:80]
    assert top["score"] > 1.0, "found by the verbatim match, not by its words alone"


def test_words_found_nowhere_verbatim_rank_as_before(phrase_url):
    """A resident's question is not in any text word for word: no chunk is put first for
    it, and the search is the fused ranking alone."""
    _, svc = phrase_url
    question = "老人在家养老家里人要怎么照顾"
    assert not svc.searcher.keyword.containing(question, 5)
    hits = svc.searcher.search(question, 4)
    assert hits and all(h.score < 1.0 for h in hits)


def test_the_phrases_of_a_query():
    from assistant.retrieval import exact_phrases

    assert exact_phrases("低保") == [], "a two-character query is in thousands of chunks"
    assert exact_phrases("按穗府办规[2019]13号执行吗") == ["按穗府办规[2019]13号", "按穗府办规[2019]13号执行吗"]
    assert exact_phrases("《广州市社会救助办法》和“低收入家庭”怎么认定")[:2] == ["广州市社会救助办法", "低收入家庭"]
    assert exact_phrases("  长三角 生态绿色  ") == ["  长三角 生态绿色  "]
    assert phrase_form("沪房规范［2022］1号") == phrase_form("沪房规范〔2022〕1号") == "沪房规范(2022)1号"
