"""The keyword index's document table survives a restart in heads.sqlite, stamped with the
journal point it matches, so a start does not read the stored record of every document
(real index of knowledge/, real Chroma)."""

import sqlite3

from assistant.core.keyword import KeywordIndex
from tests.conftest import KNOWLEDGE


def _reopened(svc, monkeypatch):
    scans = []
    original = KeywordIndex._leads

    def counting(self, searcher, sources):
        scans.append(sources)
        return original(self, searcher, sources)

    monkeypatch.setattr(KeywordIndex, "_leads", counting)
    index = KeywordIndex(svc.settings.keyword_path, svc.store, svc.tokenizer)
    return index, scans


def test_a_restart_reads_the_document_table_from_its_file(fresh_services, monkeypatch):
    svc = fresh_services
    svc.ingestor.ingest([KNOWLEDGE])
    expected = dict(svc.searcher.keyword.documents)
    assert len(expected) == 9
    index, scans = _reopened(svc, monkeypatch)
    assert index.documents == expected and scans == []
    # A one-document change updates the file for that document only.
    doc = svc.documents.list()[0]
    svc.documents.delete(doc.id)
    index.refresh()
    assert doc.source not in index.documents and len(index.documents) == 8
    # Both processes' indexes (the service's own, which the delete synced, and this one)
    # re-read that one document, never the whole table.
    assert scans and all(s == {doc.source} for s in scans)
    again, scans = _reopened(svc, monkeypatch)
    assert again.documents == index.documents and scans == []


def test_a_table_stamped_with_another_point_is_read_from_the_index_again(fresh_services, monkeypatch):
    svc = fresh_services
    svc.ingestor.ingest([KNOWLEDGE])
    expected = dict(svc.searcher.keyword.documents)
    heads = svc.settings.keyword_path / "heads.sqlite"
    with sqlite3.connect(heads) as db:  # as a crash between the table and the point would leave it
        db.execute("UPDATE stamp SET point = ?", ('["other", 0, 1]',))
        db.execute("DELETE FROM heads")
    index, scans = _reopened(svc, monkeypatch)
    assert index.documents == expected and scans == [None]
    index, scans = _reopened(svc, monkeypatch)
    assert index.documents == expected and scans == []  # the scan wrote the table back
