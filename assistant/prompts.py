"""Prompt templates: UTF-8 files in ``prompts/``, rendered with strict variables.

A template names its variables in ``{braces}`` (f-string syntax). Rendering with a missing or
an unexpected variable raises :class:`PromptError`, so a template and its caller cannot drift
apart silently.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import PromptTemplate


class PromptError(KeyError):
    """A template is missing, or was rendered with the wrong variables."""


class Prompts:
    """The templates of one prompts folder.

    Args:
        folder: folder holding ``<name>.txt`` files.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    @lru_cache(maxsize=64)
    def template(self, name: str) -> PromptTemplate:
        """The parsed template ``<folder>/<name>.txt``.

        Raises:
            PromptError: no such file.
        """
        path = self.folder / f"{name}.txt"
        if not path.is_file():
            raise PromptError(f"{path}: prompt template not found")
        return PromptTemplate.from_template(path.read_text(encoding="utf-8").rstrip("\n"))

    def variables(self, name: str) -> set[str]:
        """Names of the variables ``name`` expects."""
        return set(self.template(name).input_variables)

    def render(self, name: str, **values: str) -> str:
        """Fill template ``name`` with exactly its variables.

        Raises:
            PromptError: a variable is missing or not used by the template.
        """
        expected = self.variables(name)
        given = set(values)
        if given != expected:
            raise PromptError(
                f"prompt '{name}' takes {sorted(expected)}; got {sorted(given)}"
                f" (missing {sorted(expected - given)}, unexpected {sorted(given - expected)})"
            )
        return self.template(name).format(**values)
