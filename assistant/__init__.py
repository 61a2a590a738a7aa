"""minsheng: answers questions about Chinese livelihood policies with cited sources."""

from assistant import offline as _offline

_offline.apply()
