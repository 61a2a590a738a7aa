"""Document metadata: 文号, dates, region and type from the text; sidecar overrides."""

from pathlib import Path

from ingest.metadata import doc_type, extract_metadata, sidecar_metadata
from tests.conftest import corpus_path


def test_doc_numbers_in_both_bracket_styles_and_decrees():
    assert extract_metadata("穗府办规〔2024〕13号\n广州市…通知", "")["doc_number"] == "穗府办规〔2024〕13号"
    assert extract_metadata("徐住保办发[2017]6号\n关于公共租赁住房租赁补贴的通知", "")["doc_number"] == "徐住保办发[2017]6号"
    assert extract_metadata("1999年1月22日 中华人民共和国国务院令第258号发布", "")["doc_number"] == "国务院令第258号"
    assert extract_metadata("广州市人民政府令\n第179号", "")["doc_number"] == "广州市人民政府令第179号"


def test_a_cited_doc_number_is_not_the_documents_own():
    for text in ("依据徐住保办发[2017]6号文件", "按照《实施细则》徐住保办发[2017]6号）办理", "根据《通知》（国办发〔2024〕38号）精神"):
        assert "doc_number" not in extract_metadata(text, ""), text
    md = extract_metadata("根据《通知》（国办发〔2024〕38号）\n穗医保规字〔2024〕1号\n", "")
    assert md["doc_number"] == "穗医保规字〔2024〕1号"


def test_a_stated_publication_date_beats_a_date_in_the_running_text():
    text = "残疾人两项补贴标准\n自2026年3月1日起，补贴标准提高。"
    assert extract_metadata(text, "", published="2026-02-26")["date"] == "2026-02-26"
    assert extract_metadata(text, "")["date"] == "2026-03-01"  # nothing better known
    assert extract_metadata(text + "\n2026年2月20日\n", "", published="2026-02-26")["date"] == "2026-02-20"  # signed


def test_dates_region_and_type():
    md = extract_metadata("2026年6月30日印发。本办法自2026年7月1日起施行。", "上海市公共租赁住房保障家庭复核管理办法")
    assert md["date"] == "2026-06-30" and md["effective_date"] == "2026-07-01"
    assert md["region"] == "上海" and md["doc_type"] == "规范性文件"
    assert doc_type("中华人民共和国社会保险法") == "法律法规"
    assert doc_type("广州市老年人优待办法") == "规范性文件"
    assert doc_type("广州市失业保险常见问题解答") == "办事指南/问答"


def test_sidecar_overrides_and_matches_by_relative_path():
    path = corpus_path("txt", "law_shiye_baoxian_tiaoli_1999.txt")
    md = sidecar_metadata(path)
    assert md["title"] == "失业保险条例" and md["issuer"] == "国务院" and md["doc_number"] == "国务院令第258号"
    assert md["date"] == "1999-01-22"
    assert sidecar_metadata(Path("/tmp/not/in/any/folder.txt")) == {}


def test_ingested_chunks_carry_the_metadata(fresh_services):
    path = corpus_path("txt", "gz_laonianren_youdai_banfa.txt")
    fresh_services.ingestor.ingest([path])
    md = fresh_services.store.all_chunks()[0].metadata
    assert md["doc_number"] == "广州市人民政府令第179号"
    assert md["issuer"] == "广州市人民政府"  # from SOURCES.tsv, over the page header's 来源
    assert md["effective_date"] == "2021-05-01"
    assert md["region"] == "广州"
