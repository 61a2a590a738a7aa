"""Chinese structure-aware splitting on real policy texts."""

import re
from pathlib import Path

from ingest.loaders import LoadedDocument, load_file
from ingest.splitting import PolicySplitter, sections
from tests.conftest import KNOWLEDGE, corpus_path


def _doc(text: str) -> LoadedDocument:
    return LoadedDocument(Path("t.txt"), [(0, text)], {}, "h" * 64)


def test_heading_paths_from_chinese_and_markdown_headings():
    text = "第一章 总则\n第一条 甲。\n第二节 待遇\n第二条 乙。\n## 办理方式\n到街道办理。\n"
    got = [(s.heading, s.text.strip()) for s in sections(text)]
    assert got == [
        ("第一章 总则", "第一条 甲。"),
        ("第一章 总则 › 第二节 待遇", "第二条 乙。"),
        ("第一章 总则 › 第二节 待遇 › 办理方式", "到街道办理。"),
    ]


def test_articles_are_never_cut_when_they_fit():
    articles = [f"第{n}条 " + "规定内容" * 12 + "。" for n in "一二三四五六七八九十"]
    chunks = PolicySplitter(chunk_size=200, chunk_overlap=0).split(_doc("\n".join(articles)), {})
    for c in chunks:
        starts = re.findall(r"第[一二三四五六七八九十]+条", c.text)
        assert c.text.startswith("第"), c.text[:20]
        assert len(c.text) <= 200
        assert c.metadata["article"].startswith(starts[0])
    joined = "".join(c.text for c in chunks).replace("\n", "")
    assert joined == "".join(articles)


def test_long_article_splits_at_sentences_and_keeps_its_number():
    body = "第十四条 " + "".join(f"第{i}句话说明一项条件。" for i in range(60))
    chunks = PolicySplitter(chunk_size=120, chunk_overlap=0).split(_doc(body), {})
    assert len(chunks) > 3
    assert all(c.metadata["article"] == "第十四条" for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)


def test_chunk_ids_are_stable_and_unique():
    doc = load_file(KNOWLEDGE / "shiye_baoxian_jin.md")
    a = PolicySplitter().split(doc, {})
    b = PolicySplitter().split(load_file(KNOWLEDGE / "shiye_baoxian_jin.md"), {})
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)


def test_front_matter_becomes_metadata():
    doc = load_file(KNOWLEDGE / "guangzhou_gongzufang.md")
    assert doc.metadata["doc_number"] == "穗府办规〔2024〕13号"
    assert doc.metadata["date"] == "2024-07-26"
    assert doc.metadata["region"] == "广东省广州市"
    assert not doc.text.startswith("---")


def test_real_pdf_keeps_page_numbers_and_articles():
    doc = load_file(corpus_path("pdf", "law_shiye_baoxian_tiaoli_1999.pdf"))
    assert doc.metadata["title"] == "失业保险条例"
    chunks = PolicySplitter().split(doc, {})
    pages = {c.metadata["page"] for c in chunks}
    assert pages == {1, 2, 3, 4}
    art14 = next(c for c in chunks if "第十四条" in c.text)
    assert art14.metadata["article"].startswith("第十四条")
    assert art14.metadata["heading"].endswith("第三章 失业保险待遇")
    assert art14.metadata["page"] == 2


def test_text_header_lines_become_metadata():
    doc = load_file(corpus_path("txt", "gz_yidi_jiuyi_beian_guide.txt"))
    assert doc.metadata["title"].startswith("无需个人垫付")
    assert doc.metadata["published"] == "2023-12-14"
    assert doc.metadata["source_url"].startswith("https://www.gz.gov.cn/")
    assert "原文网址" not in doc.text and "发布日期" not in doc.text  # metadata, not content
