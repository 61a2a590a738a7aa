"""Inputs beyond ../shared/corpus/bad: each gets a clear one-line error or a sensible result,
and the rest of the batch is still ingested."""

import zipfile
from pathlib import Path

import pytest

from ingest.loaders import MAX_FILE_BYTES


def _docx_bomb(path):
    """A DOCX whose document.xml unpacks to 300 MB of zeros (about 300 KB on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            block = b"0" * 2**20
            for _ in range(300):
                f.write(block)


def test_the_batch_survives_bombs_giants_and_deep_nesting(fresh_services, tmp_path):
    _docx_bomb(tmp_path / "bomb.docx")
    with open(tmp_path / "giant.txt", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk or memory used
    (tmp_path / "nested.html").write_text(
        "<html><body>" + "<div>" * 50_000 + "深层嵌套的网页" + "</div>" * 50_000 + "</body></html>", encoding="utf-8"
    )
    (tmp_path / "controls.txt").write_text("第一条\x00 申请\x07临时救助\x1b应当向乡镇人民政府提出。😀\n", encoding="utf-8")
    (tmp_path / "good.md").write_text("---\ntitle: 正常办法\n---\n第一条 本办法适用于测试。\n", encoding="utf-8")
    report = fresh_services.ingestor.ingest([tmp_path])
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    assert by_name["good.md"].status == "added" and by_name["controls.txt"].status == "added"
    assert by_name["bomb.docx"].status == "error" and "zip bomb" in by_name["bomb.docx"].detail
    assert by_name["giant.txt"].status == "error" and "MB limit" in by_name["giant.txt"].detail
    assert by_name["nested.html"].status in ("added", "error", "skipped")
    for f in report.files:
        assert "\n" not in f.detail and (f.status == "added" or f.path.rsplit("/", 1)[-1] in f.detail)
    texts = [c.text for c in fresh_services.store.all_chunks()]
    assert not any("\x00" in t or "\x07" in t for t in texts)
    assert len(texts) == sum(f.chunks for f in report.files if f.status == "added")


def test_hostile_upload_names_stay_inside_the_upload_folder(fresh_services):
    from ingest.documents import DocumentError

    docs = fresh_services.documents
    root = docs.upload_dir.parent
    # Other fixtures' data folders sit beside this one; their SQLite files come and go with
    # -wal/-shm sidecars while their services run, which is not an upload writing anywhere.
    def outside():
        return {p for p in root.parent.rglob("*") if not p.name.endswith(("-wal", "-shm", "-journal"))} - set(root.rglob("*"))

    before = outside()
    body = "---\ntitle: {t}\n---\n第一条 {t}适用于上传测试。\n"
    with pytest.raises(DocumentError, match=r"^\.\./\.\./etc/passwd: unsupported file type"):
        docs.upload("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    kept = []
    for name in ("../../etc/通知.md", "/etc/cron.d/通知.md", "..\\..\\windows\\通知.md", "通\x00知.md", "....md"):
        result = docs.upload(name, body.format(t=f"上传办法{len(kept)}").encode())
        assert result.status == "added", (name, result)
        kept.append(Path(result.path))
    for path in kept:
        assert path.parent == docs.upload_dir.resolve() and path.exists()
    # The three 通知.md uploads are different files: none overwrote another.
    assert len(set(kept)) == len(kept) and {p.name for p in kept[:3]} == {"通知.md", "通知-2.md", "通知-3.md"}
    # The same file again is the same document, not a fourth copy.
    again = docs.upload("通知.md", body.format(t="上传办法0").encode())
    assert Path(again.path) == kept[0] and again.status == "unchanged"
    assert outside() == before, "an upload wrote outside the data folder"
