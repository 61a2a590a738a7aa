"""minsheng as an installed package: the wheel carries its code, prompt templates, data files
and default knowledge base; installed into a fresh venv and run from an empty folder, it
ingests and answers with citations and writes only under its data folder."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from assistant.core.settings import Settings
from tests.conftest import ROOT


def _not_source(folder: str, names: list[str]) -> set[str]:
    """What a copy of the checkout leaves out: hidden folders, caches, and at the top the
    written data, test artifacts and earlier builds."""
    top = Path(folder) == ROOT
    return {n for n in names if n.startswith(".") or n == "__pycache__" or n.endswith(".egg-info")
            or (top and n in ("data", "build", "test-artifacts"))}


def _run(args, cwd, env, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_wheel_installed_in_a_fresh_venv_answers_from_an_empty_folder(tmp_path, embeddings):
    # ``embeddings``: the session has built the default model folder the installed copy loads.
    # Built from a copy: setuptools leaves a build/ folder in the tree it builds from.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_not_source)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)], tmp_path, os.environ)
    wheel = next(wheels.glob("minsheng-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, os.environ)
    # The dependencies (torch, chromadb, gradio…) come from this environment's site-packages,
    # read as a plain path: its editable link to the checkout is not followed, so minsheng
    # itself can only come from the wheel.
    new_site = next((venv / "lib").glob("python3.*/site-packages"))
    (new_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    _run([str(venv / "bin" / "pip"), "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp_path, os.environ)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    env.update(MINSHENG_MODEL_CACHE_DIR=str(Settings().model_cache_dir), PYTHONPATH="")  # the model built once
    where = _run([str(venv / "bin" / "python"), "-c", "import ui.cli, prompts, knowledge; print(ui.cli.__file__)"], empty, env)
    assert where.strip().startswith(str(new_site)), where

    minsheng = str(venv / "bin" / "minsheng")
    _run([minsheng, "ingest"], empty, env)  # no path: the knowledge base shipped in the wheel
    answer = json.loads(_run([minsheng, "ask", "异地就医怎么结算", "--json"], empty, env))
    assert answer["citations"], answer
    assert any("yidi_jiuyi_jiesuan.md" in json.dumps(c, ensure_ascii=False) for c in answer["citations"]), answer
    # Everything written went under ./data of the folder it ran in; nothing beside the code.
    assert (empty / "data" / "chroma").is_dir()
    assert sorted(p.name for p in empty.iterdir()) == ["data"]
    assert not (new_site.parent / "data").exists() and not (venv / "data").exists()


def test_a_command_that_takes_no_feedback_writes_no_feedback_file(services, tmp_path):
    from typer.testing import CliRunner

    from ui.cli import app

    data = tmp_path / "data"
    result = CliRunner().invoke(app, ["ingest", str(ROOT / "knowledge" / "shiye_baoxian_jin.md"), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert (data / "chroma").is_dir() and not (data / "feedback.sqlite").exists()
