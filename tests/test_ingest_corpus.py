"""Ingest of the real shared corpus: each format, the bad inputs, OCR, articles, metadata."""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata

import pytest

from ingest.loaders import DocumentLoader, load_file
from ingest.metadata import extract_metadata
from ingest.splitting import PolicySplitter
from ingest.structure import ARTICLE
from tests.conftest import CORPUS, corpus_path, shared_ocr


def _compact(text: str) -> str:
    """NFKC (full-width punctuation to ASCII) without whitespace: how OCR is compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module")
def bad_run(settings_factory, embeddings):
    """One ingest of bad/ plus the original of its duplicate, on a fresh index."""
    from ui.services import build_services
    
    svc = build_services(settings_factory(), embeddings=embeddings, ocr=shared_ocr())
    report = svc.ingestor.ingest([corpus_path("bad"), corpus_path("txt", "gz_dibao_jiuzhu_biaozhun_2025.txt")])
    return svc, report, {f.path.rsplit("/", 1)[-1]: f for f in report.files}


def test_every_bad_file_gets_the_outcome_its_readme_lists(bad_run):
    svc, report, by_name = bad_run
    expected = {
        "empty.pdf": ("skipped", "empty file"),
        "blank_scan.pdf": ("skipped", "no text found (OCR read nothing)"),
        "truncated.pdf": ("error", "damaged or not a PDF"),
        "not_a_pdf.pdf": ("error", "not a PDF"),
        "encrypted_user_password.pdf": ("error", "needs a password"),
        "random_bytes.docx": ("error", "not a valid DOCX"),
    }
    for name, (status, words) in expected.items():
        assert by_name[name].status == status, (name, by_name[name])
        assert words in by_name[name].detail and name in by_name[name].detail and "\n" not in by_name[name].detail
    for name in ("gb18030_encoded.txt", "traditional_chinese.txt", "nul_bytes.txt",
                 "one_long_line.txt", "xss.html", "prompt_injection.txt"):
        assert by_name[name].status == "added" and by_name[name].chunks > 0, name
    # the UTF-16 copy has the same text as the GB18030 one: one document, indexed once
    assert by_name["utf16_with_bom.txt"].status == "duplicate" and "same text as gb18030_encoded.txt" in by_name["utf16_with_bom.txt"].detail
    # of two byte-identical copies, the one SOURCES.tsv describes is indexed, whatever the order
    assert by_name["gz_dibao_jiuzhu_biaozhun_2025.txt"].status == "added"
    assert by_name["duplicate_of_gz_dibao.txt"].status == "duplicate"
    assert report.totals()["error"] == 4 and report.totals()["skipped"] == 2
    assert by_name["blank_scan.pdf"].pages == 1 and by_name["blank_scan.pdf"].ocr_pages == 1


def test_bad_inputs_leave_a_clean_index(bad_run):
    svc, _, by_name = bad_run
    chunks = svc.store.all_chunks()
    texts = [c.text for c in chunks]
    assert len(texts) == len(set(texts))
    sources = {c.metadata["file_name"] for c in chunks}
    assert not sources & {"empty.pdf", "blank_scan.pdf", "truncated.pdf", "not_a_pdf.pdf", "random_bytes.docx",
                          "utf16_with_bom.txt", "duplicate_of_gz_dibao.txt"}
    dibao = [c for c in chunks if c.metadata["file_name"] == "gz_dibao_jiuzhu_biaozhun_2025.txt"]
    assert dibao and all(c.metadata["doc_number"] == "穗民规字〔2025〕2号" for c in dibao)
    assert all("\x00" not in t for t in texts)
    long_line = [c for c in chunks if c.metadata["file_name"] == "one_long_line.txt"]
    assert 0 < len(long_line) <= 3 and all(len(c.text) <= svc.settings.chunk_size for c in long_line)
    xss = " ".join(c.text for c in chunks if c.metadata["file_name"] == "xss.html")
    assert "每平方米10元" in xss and "<script" not in xss and "javascript:" not in xss
    # the manifest agrees with the store, row by row
    stored = svc.store.ids_by_source()
    for rec in svc.ingestor.manifest.all():
        assert set(rec.chunk_ids) == stored.get(rec.source, set()), rec.source
        assert rec.status != "pending"


def test_a_rerun_of_the_bad_folder_changes_nothing(bad_run):
    svc, _, _ = bad_run
    before = svc.store.count()
    again = svc.ingestor.ingest([corpus_path("bad"), corpus_path("txt", "gz_dibao_jiuzhu_biaozhun_2025.txt")])
    assert again.chunks_added == 0 and svc.store.count() == before
    assert again.count("added") == 0 and again.count("updated") == 0


@pytest.fixture(scope="module")
def scanned(services):
    """The scanned PDF read through the app's own OCR engine."""
    loader = DocumentLoader(services.ingestor.loader.ocr)
    return loader.load(corpus_path("pdf", "gz_linshi_jiuzhu_xize_2021_scanned_p1-3.pdf"))


def test_ocr_reads_the_scanned_pages_like_the_original(scanned):
    assert scanned.page_count == 3 and scanned.ocr_pages == 3
    ocr = _compact(scanned.text)
    original = _compact(corpus_path("txt", "gz_linshi_jiuzhu_xize_2021.txt").read_text(encoding="utf-8"))
    matcher = difflib.SequenceMatcher(None, ocr, original, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    covered = original[blocks[0].b : blocks[-1].b + blocks[-1].size]  # the part the three pages show
    agreement = 2 * sum(b.size for b in blocks) / (len(ocr) + len(covered))
    assert agreement >= 0.95, agreement
    assert len(covered) > 0.6 * len(original)


def test_ocr_text_is_split_into_the_articles_of_the_original(scanned):
    chunks = PolicySplitter().split(scanned, {})
    named = {a for c in chunks for a in c.metadata["articles"].split(",") if a}
    cn = "一二三四五六七八九十"
    expected = {f"第{cn[n - 1] if n <= 10 else '十' + cn[n - 11]}条" for n in range(1, 19)}
    assert expected <= named
    assert {c.metadata["page"] for c in chunks} == {1, 2, 3}
    tenth = next(c for c in chunks if c.text.startswith("第十条"))
    assert tenth.metadata["page"] == 2 and "协助入户调查核实" in tenth.text


def test_text_pdf_keeps_pages_and_drops_page_numbers():
    doc = load_file(corpus_path("pdf", "xuzhou_gzf_rent_subsidy_notice_cidfont.pdf"))
    assert [n for n, _ in doc.pages] == [1, 2]
    lines = doc.text.splitlines()
    assert "1" not in lines and "2" not in lines  # the page numbers at the foot of each page
    # lines broken by the page width are joined, across the page break too
    assert any("徐住保办发[2017]6号" in ln for ln in lines[-5:])
    assert "经济技术开发区）范围内符合条件的低保、特困、低收入家庭。" in doc.text
    assert "1.具有市区城镇常住户口5年以上；" in lines  # list items stay lines of their own
    assert doc.metadata["title"] == "徐州市市区公共租赁住房租赁补贴申请须知"  # not the PDF's "untitled"


def test_two_column_pdf_reads_in_order_with_articles():
    doc = load_file(corpus_path("pdf", "gz_laonianren_youdai_banfa_two_columns.pdf"))
    # columns read left then right: the articles come in their order
    order = [m.group(1) for m in re.finditer(ARTICLE.pattern, doc.text, re.MULTILINE)]
    assert order[:10] == ["第一条", "第二条", "第三条", "第四条", "第五条", "第六条", "第七条", "第八条", "第九条", "第十条"]
    chunks = PolicySplitter().split(doc, {})
    named = {a for c in chunks for a in c.metadata["articles"].split(",")}
    assert set(order) <= named
    assert "年满60周岁，具有本市户籍或者持有本市有效居住证件的公民" in doc.text.replace("\n", "")
    assert "第二条 年满60周岁" in doc.text  # "年满 60 周岁": the PDF's spaces around digits go


def test_printed_web_page_pdf_loses_menus_and_its_repeated_copy():
    doc = load_file(corpus_path("pdf", "gz_dibao_jiuzhu_biaozhun_2025_webpage.pdf"))
    text = doc.text
    assert text.count("全市城乡最低生活保障标准为每人每月1309元") == 1
    for chrome in ("• 首页", "版权所有", "网站标识码", "扫一扫", "返回顶部"):
        assert chrome not in text, chrome
    assert "（五）成年流浪乞讨受助人员基本饮食标准为每人每月785.4元" in text
    assert "广州市人民政府门户网站" not in doc.metadata["title"]


def test_docx_tables_become_rows():
    doc = load_file(corpus_path("docx", "law_canjiren_jiuye_tiaoli_2007.docx"))
    rows = [ln for ln in doc.text.splitlines() if " | " in ln]
    assert rows[0] == "条款 | 要点" and rows[1].startswith("第一条 | 为了促进残疾人就业")


def test_html_faq_is_chunked_by_question():
    doc = load_file(corpus_path("html", "gz_shiye_baoxian_faq_2025.html"))
    chunks = PolicySplitter().split(doc, {})
    amount = [c for c in chunks if c.metadata["heading"].startswith("二、失业保险金能领到多少钱？")]
    assert amount and "每月2250元" in amount[0].text
    case = next(c for c in chunks if "案例2" in c.metadata["heading"])
    assert case.metadata["heading"].startswith("一、领取失业保险金需要符合什么条件？ › 案例2")


def test_outline_titles_form_the_heading_path():
    doc = load_file(corpus_path("txt", "gz_dibao_jiuzhu_biaozhun_2025.txt"))
    chunks = PolicySplitter().split(doc, {})
    first = next(c for c in chunks if "每人每月1309元" in c.text)
    assert first.metadata["heading"] == "一、社会救助标准"
    assert "一、社会救助标准" in first.context_text()


REGULATIONS = [
    ("txt", "law_shiye_baoxian_tiaoli_1999.txt"),
    ("pdf", "law_shiye_baoxian_tiaoli_1999.pdf"),
    ("docx", "law_canjiren_jiuye_tiaoli_2007.docx"),
    ("txt", "law_shehui_jiuzhu_zanxing_banfa_2019.txt"),
    ("txt", "law_yibao_jijin_jiandu_tiaoli_2021.txt"),
    ("txt", "law_laonianren_quanyi_baozhangfa_2018.txt"),
    ("pdf", "gz_gongzufang_guanli_banfa_2024.pdf"),
    ("txt", "local_shanghai_yiliao_baozhang_tiaoli_2024.txt"),
]


@pytest.mark.parametrize("folder,name", REGULATIONS)
def test_chunks_carry_the_article_they_come_from(folder, name):
    doc = load_file(corpus_path(folder, name))
    text = "\n".join(t for _, t in doc.pages)
    chunks = PolicySplitter().split(doc, {})
    article_lines = [(m.start(), m.group(1)) for m in re.finditer(ARTICLE.pattern, text, re.MULTILINE)]
    checked = 0
    cursor = 0
    for chunk in chunks:
        at = text.find(chunk.text, max(0, cursor - 400))
        assert at >= 0, chunk.text[:40]
        cursor = at + len(chunk.text)
        before = [a for off, a in article_lines if off <= at]
        inside = [a for off, a in article_lines if at < off < cursor]
        if not before and not inside:
            continue
        # a chunk that opens with an article line carries it; one that continues an
        # article carries the article it continues
        first = chunk.metadata["article"].split("至")[0]
        assert first == (before[-1] if before else inside[0]), (name, chunk.text[:30], chunk.metadata["article"])
        if ARTICLE.match(chunk.text):
            assert ARTICLE.match(chunk.text).group(1) == first
        checked += 1
    assert checked >= 10


def test_articles_fit_whole_in_one_chunk_unless_too_long():
    doc = load_file(corpus_path("txt", "law_shiye_baoxian_tiaoli_1999.txt"))
    chunks = PolicySplitter(320, 40).split(doc, {})
    seventeen = [c for c in chunks if "第十七条" in c.metadata["articles"].split(",")]
    assert len(seventeen) == 1 and "领取失业保险金的期限最长为12个月" in seventeen[0].text


def test_chunk_plus_heading_path_fits_the_model_window(services):
    tokenizer = services.embeddings.load()._client.tokenizer
    limit = services.embeddings.load()._client.max_seq_length
    worst = 0
    for folder, name in REGULATIONS[:4] + [("txt", "gz_shiye_baoxian_faq_2025.txt"), ("bad", "one_long_line.txt")]:
        for chunk in PolicySplitter(services.settings.chunk_size, services.settings.chunk_overlap).split(load_file(corpus_path(folder, name)), {"title": "标" * 80}):
            tokens = len(tokenizer("passage: " + chunk.context_text())["input_ids"])
            worst = max(worst, tokens)
    assert worst <= limit, worst


def _sources_rows():
    with corpus_path("SOURCES.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_doc_numbers_read_from_the_text_match_sources_tsv():
    rows = [r for r in _sources_rows() if r["doc_number"] and not r["doc_number"].startswith("(") and "scanned" not in r["file"]]
    checked = 0
    for row in rows:
        doc = load_file(CORPUS / row["file"])
        if row["doc_number"] not in re.sub(r"\s+", "", doc.text):
            continue  # the text never states it (some laws as published in collections)
        md = extract_metadata(doc.text, doc.metadata.get("title", ""))
        assert md.get("doc_number") == row["doc_number"], row["file"]
        checked += 1
    assert checked >= 15


def test_dates_read_from_the_text_mostly_match_sources_tsv():
    # SOURCES.tsv gives the signing date of some notices and the printing date of others;
    # the text's signing date is taken, so a few differ by days, never by more.
    rows = [r for r in _sources_rows() if re.match(r"\d{4}-\d{2}-\d{2}$", r["date"]) and r["file"].startswith(("txt/gz", "txt/sh", "txt/law", "txt/local"))]
    same = near = 0
    for row in rows:
        doc = load_file(CORPUS / row["file"])
        md = extract_metadata(doc.text, doc.metadata.get("title", ""), doc.metadata.get("published", ""))
        date = md.get("date", "")
        same += date == row["date"]
        near += date[:7] == row["date"][:7]
    assert same >= 0.75 * len(rows) and near >= 0.85 * len(rows), (same, near, len(rows))


def test_ingested_chunks_carry_sources_tsv_values(fresh_services):
    names = ["pdf/gz_gongzufang_guanli_banfa_2024.pdf", "docx/law_canjiren_jiuye_tiaoli_2007.docx",
             "html/gz_huji_jiating_zhufang_baozhang_2024.html", "txt/gz_changqi_huli_baoxian_2024.txt"]
    fresh_services.ingestor.ingest([CORPUS / n for n in names])
    rows = {r["file"]: r for r in _sources_rows()}
    for chunk in fresh_services.store.all_chunks():
        row = rows[next(n for n in names if chunk.metadata["source"].endswith(n))]
        assert chunk.metadata["doc_number"] == row["doc_number"]
        assert chunk.metadata["date"] == row["date"][:10]
        assert chunk.metadata["issuer"] == row["issuing_body"]
