"""Offline and no-telemetry switches, applied before any model or web library is imported.

minsheng runs on machines that reach no model hub, and it never reports usage anywhere.
Values the user already set are respected (``setdefault``), so a deployment that does have
a hub cache or network can still opt in for a non-default model.
"""

from __future__ import annotations

import os

_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "GRADIO_ANALYTICS_ENABLED": "False",
    # onnxruntime (RapidOCR's runtime) reports to Microsoft from Linux too since 1.2x
    # (its binary names mobile.events.data.microsoft.com) unless this is set.
    "ORT_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply() -> None:
    """Set the offline and telemetry environment switches unless already set."""
    for key, value in _SWITCHES.items():
        os.environ.setdefault(key, value)
