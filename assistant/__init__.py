"""minsheng's question side: a question read, searched and answered with cited sources.

The shared core every package builds on (types, text, regions, versions, settings, store,
embeddings) is :mod:`assistant.core`; importing the package sets the offline and
no-telemetry switches first (:mod:`assistant.core.offline`).
"""

from assistant.core import offline as _offline

_offline.apply()
