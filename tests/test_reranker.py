"""The optional cross-encoder reranker, with a real CrossEncoder folder built here.

No reranker ships offline, so the test makes one from the default e5 folder with a seeded
random scoring head: its scores mean nothing, but the model, the folder format and the code
path are the real ones, and the ranking must follow the scores it gives.
"""

import pytest
import torch

from assistant.reranking import CrossEncoderReranker
from ui.services import build_services
from tests.conftest import KNOWLEDGE, shared_ocr


@pytest.fixture(scope="module")
def reranker_folder(tmp_path_factory, settings_factory):
    from sentence_transformers import CrossEncoder

    from assistant.core.e5_folder import ensure_folder

    e5 = ensure_folder(settings_factory().model_cache_dir)
    model = CrossEncoder(str(e5), num_labels=1, local_files_only=True)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.model.classifier.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    folder = tmp_path_factory.mktemp("reranker")
    model.save(str(folder))
    return folder


def test_a_configured_reranker_orders_the_results(reranker_folder, settings_factory, embeddings):
    svc = build_services(settings_factory(reranker_model=reranker_folder, reranker_top_n=8, max_per_document=0), embeddings=embeddings, ocr=shared_ocr())
    svc.ingestor.ingest([KNOWLEDGE])
    reranker = svc.searcher.reranker
    assert isinstance(reranker, CrossEncoderReranker)
    hits = svc.searcher.search("异地就医怎么结算", 5)
    scores = [h.rerank_score for h in hits]
    assert None not in scores and scores == sorted(scores, reverse=True)
    # The scores are the model's own for (question, chunk as embedded).
    again = reranker.model().predict([("异地就医怎么结算", hits[0].chunk.context_text())])
    assert abs(float(again[0]) - scores[0]) < 1e-5
    answer = svc.assistant.ask("异地就医怎么结算")
    assert answer.text  # the whole chain runs with the reranker in place


def test_a_missing_reranker_folder_fails_at_start_up(settings_factory, tmp_path):
    with pytest.raises(FileNotFoundError, match="MINSHENG_RERANKER_MODEL"):
        build_services(settings_factory(reranker_model=tmp_path / "nowhere"))
