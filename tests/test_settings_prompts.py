"""Settings come from one pydantic-settings model; prompts are pinned files with strict variables."""

import pytest

from assistant.prompts import PromptError, Prompts
from assistant.core.settings import PROJECT_ROOT, Settings


def test_every_setting_has_a_description():
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 10, name


def test_environment_prefix_and_derived_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("MINSHENG_TOP_K", "7")
    monkeypatch.setenv("MINSHENG_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.top_k == 7
    assert s.chroma_path == tmp_path / "chroma"


def test_an_env_file_is_read_only_when_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINSHENG_ENV_FILE", raising=False)
    (tmp_path / ".env").write_text("MINSHENG_PORT=8123\n", encoding="utf-8")
    assert Settings().port != 8123, "a .env in the working folder was read without being named"
    named = tmp_path / "app.env"
    named.write_text("MINSHENG_PORT=8124\n", encoding="utf-8")
    monkeypatch.setenv("MINSHENG_ENV_FILE", str(named))
    assert Settings().port == 8124
    assert Settings(port=8125).port == 8125, "an explicit value wins over the file"
    monkeypatch.setenv("MINSHENG_ENV_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(ValueError, match="MINSHENG_ENV_FILE: no such file"):
        Settings()


def test_invalid_values_name_the_field():
    with pytest.raises(ValueError, match="top_k"):
        Settings(top_k=0)
    with pytest.raises(ValueError, match="chunk_overlap"):
        Settings(chunk_size=100, chunk_overlap=100)


PINNED = {
    "refusal": {"question", "hotline"},
    "region_refusal": {"region", "others", "hotline"},
    "empty_question": set(),
    "extractive_answer": {"lead", "points"},
    "neighbour_year": {"have", "asked", "what", "quote", "hotline"},
    "figure_missing": {"titles", "what", "said", "hotline"},
    "answer_system": {"hotline"},
    "answer_user": {"sources", "question"},
}


@pytest.mark.parametrize("name,variables", sorted(PINNED.items()))
def test_prompt_files_are_pinned(name, variables):
    prompts = Prompts(PROJECT_ROOT / "prompts")
    assert prompts.variables(name) == variables
    text = (PROJECT_ROOT / "prompts" / f"{name}.txt").read_text(encoding="utf-8")
    assert text.isprintable() or "\n" in text


def test_refusal_points_to_the_hotline():
    out = Prompts(PROJECT_ROOT / "prompts").render("refusal", question="美国签证", hotline="12345")
    assert "12345" in out and "美国签证" in out and "没有找到" in out


def test_render_is_strict():
    prompts = Prompts(PROJECT_ROOT / "prompts")
    with pytest.raises(PromptError, match="missing"):
        prompts.render("refusal", question="x")
    with pytest.raises(PromptError, match="unexpected"):
        prompts.render("extractive_answer", points="1", extra="2")
    with pytest.raises(PromptError, match="not found"):
        prompts.render("no_such_prompt")


def test_network_guard_refuses_outside_addresses():
    import socket

    from tests.netguard import ATTEMPTS, NetworkBlocked

    before = len(ATTEMPTS)
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    del ATTEMPTS[before:]  # this attempt was the test's own


def test_moving_the_data_folder_moves_index_and_manifest(tmp_path):
    from assistant.core.settings import Settings

    moved = Settings(data_dir=tmp_path / "a").with_data_dir(tmp_path / "b")
    assert moved.chroma_path == tmp_path / "b" / "chroma"
    assert moved.manifest_path == tmp_path / "b" / "manifest.sqlite"
