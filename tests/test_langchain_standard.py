"""LangChain's own standard tests (``langchain-tests``) against the real retriever: a real
Chroma index of knowledge/ on a temp folder and the real default embedding model. A
LangChain user expects ``k`` as a constructor argument and per call (``invoke(q, k=1)``)."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.retrieval import HybridRetriever


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, services):
        # The standard suite builds the retriever from these properties; the searcher comes
        # from the session's index of knowledge/.
        self._searcher = services.searcher

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"searcher": self._searcher}

    @property
    def retriever_query_example(self) -> str:
        return "异地就医怎么结算"
