"""Loaders for DOCX (with tables), HTML (navigation and scripts removed) and traditional text."""


import docx
import pytest

from ingest.loaders import LoadError, load_file
from tests.conftest import corpus_path


def test_docx_keeps_headings_paragraphs_and_table_rows(tmp_path):
    d = docx.Document()
    d.add_heading("第一章 总则", level=1)
    d.add_paragraph("第一条 为了保障困难群众基本生活，制定本办法。")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "项目", "标准"
    table.cell(1, 0).text, table.cell(1, 1).text = "低保", "每人每月1309元"
    path = tmp_path / "policy.docx"
    d.save(path)
    doc = load_file(path)
    lines = doc.text.splitlines()
    assert lines[0] == "# 第一章 总则"
    assert "第一条 为了保障困难群众基本生活，制定本办法。" in lines
    assert "低保 | 每人每月1309元" in lines


def test_real_docx_from_the_corpus():
    doc = load_file(corpus_path("docx", "law_canjiren_jiuye_tiaoli_2007.docx"))
    assert doc.metadata["title"] == "残疾人就业条例"
    assert "第八条" in doc.text and "1.5%" in doc.text


def test_broken_docx_is_a_one_line_error():
    with pytest.raises(LoadError, match="not a valid DOCX") as err:
        load_file(corpus_path("bad", "random_bytes.docx"))
    assert "\n" not in str(err.value) and "random_bytes.docx" in str(err.value)


def test_html_keeps_the_content_and_drops_navigation():
    doc = load_file(corpus_path("html", "gz_dibao_jiuzhu_biaozhun_2025.html"))
    assert "每人每月1309元" in doc.text
    assert "市委组织部" not in doc.text  # the site's navigation list
    assert doc.metadata["title"].startswith("广州市民政局")


def test_html_scripts_never_reach_the_text():
    doc = load_file(corpus_path("bad", "xss.html"))
    assert "每平方米10元" in doc.text
    for bad in ("<script", "alert", "onerror", "javascript:", "fetch("):
        assert bad not in doc.text and bad not in doc.metadata["title"]


def test_encodings_are_detected():
    reference = load_file(corpus_path("txt", "gz_tekun_renyuan_jiuzhu_gongyang_2021.txt"))
    assert "特困人员" in reference.text
    for name in ("gb18030_encoded.txt", "utf16_with_bom.txt"):
        doc = load_file(corpus_path("bad", name))
        assert doc.text == reference.text, name
        assert doc.metadata == reference.metadata, name


def test_traditional_document_is_found_by_a_simplified_question(fresh_services):
    fresh_services.ingestor.ingest([corpus_path("bad", "traditional_chinese.txt")])
    a = fresh_services.assistant.ask("生育津贴怎么申请")
    assert not a.refused
    assert a.citations[0].chunk.metadata["file_name"] == "traditional_chinese.txt"
    assert "津貼" in a.citations[0].chunk.text  # shown as written
