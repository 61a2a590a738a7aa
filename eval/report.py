"""Write an evaluation run to disk (results.jsonl, summary.json, summary.md, report.html) and
compare it with an earlier run.

report.html is self-contained: its charts are matplotlib PNGs embedded as data URIs, so the
file can be mailed or archived and opens offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.runner import BREAKDOWN_METRICS, QuestionResult, RunSummary, to_json_line

#: The columns of the main table, in order: (summary key, header).
MAIN_COLUMNS = (
    ("doc_hit@1", "hit@1"),
    ("doc_hit@3", "hit@3"),
    ("doc_hit@k", "hit@k"),
    ("doc_mrr", "MRR@k"),
    ("doc_ndcg", "nDCG@k"),
    ("article_hit@k", "art hit@k"),
    ("article_mrr", "art MRR@k"),
    ("evidence_hit@k", "evid hit@k"),
    ("fact_recall", "fact recall"),
    ("facts_all", "all facts"),
    ("citation_precision", "cite prec"),
    ("refusal_correct", "refusal acc"),
    ("answerable_answered", "ans answered"),
    ("unanswerable_handled", "unans handled"),
    ("unanswerable_refused", "unans refused"),
    ("retrieval_p50_ms", "retr p50 ms"),
    ("retrieval_p95_ms", "retr p95 ms"),
    ("total_p50_ms", "total p50 ms"),
    ("total_p95_ms", "total p95 ms"),
)


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "–"
    if key.endswith("_ms"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main_table_rows(summary: RunSummary) -> list[list[str]]:
    """One row per pipeline: its name, then :data:`MAIN_COLUMNS`."""
    return [[name] + [fmt(s.get(k), k) for k, _ in MAIN_COLUMNS] for name, s in summary.pipelines.items()]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def breakdowns(summary: RunSummary) -> tuple[tuple[str, dict[str, dict[str, dict[str, Any]]]], ...]:
    """(title, pipeline -> group -> metrics) for each breakdown of the run."""
    return (("By kind", summary.by_kind), ("By topic", summary.by_topic), ("By phrasing", summary.by_phrasing))


def breakdown_rows(table: dict[str, dict[str, dict[str, Any]]]) -> list[list[str]]:
    """Rows (pipeline, group, n, :data:`BREAKDOWN_METRICS`...) of one breakdown."""
    return [
        [pipe, group, str(row["n"])] + [fmt(row.get(k), k) for k in BREAKDOWN_METRICS]
        for pipe, groups in table.items()
        for group, row in groups.items()
    ]


def kind_matrix(summary: RunSummary, pipeline: str) -> list[list[str]]:
    """Every main metric (rows) for each question kind (columns) of one pipeline."""
    groups = summary.by_kind.get(pipeline, {})
    rows = [["n"] + [str(groups[g]["n"]) for g in groups]]
    for key, header in MAIN_COLUMNS:
        if any(groups[g].get(key) is not None for g in groups):
            rows.append([header] + [fmt(groups[g].get(key), key) for g in groups])
    return rows


def summary_markdown(summary: RunSummary) -> str:
    """summary.md: run facts, the main table, every metric per question kind, and breakdowns
    by kind, topic and phrasing."""
    parts = ["# Evaluation run", ""]
    for k, v in summary.facts.items():
        parts.append(f"- {k}: {v}")
    parts += ["", "## Metrics", "", _md_table(["pipeline"] + [h for _, h in MAIN_COLUMNS], main_table_rows(summary))]
    for pipe, groups in summary.by_kind.items():
        parts += ["", f"## Every metric by kind: {pipe}", "", _md_table(["metric", *groups], kind_matrix(summary, pipe))]
    for title, table in breakdowns(summary):
        parts += ["", f"## {title}", ""]
        parts.append(_md_table(["pipeline", "group", "n"] + list(BREAKDOWN_METRICS), breakdown_rows(table)))
    return "\n".join(parts) + "\n"


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    wanted = ("Noto Sans CJK", "WenQuanYi", "Source Han Sans", "Noto Sans SC", "SimHei", "Microsoft YaHei")
    for font in font_manager.fontManager.ttflist:
        if any(w.lower() in font.name.lower() for w in wanted):
            return font.name
    return None


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def charts(summary: RunSummary, previous: RunSummary | None = None) -> list[tuple[str, str]]:
    """(caption, PNG data URI) for each chart of the report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cjk = _cjk_font()
    if cjk:
        plt.rcParams["font.family"] = [cjk, "DejaVu Sans"]
    out = []
    names = list(summary.pipelines)
    quality = [(k, h) for k, h in MAIN_COLUMNS if not k.endswith("_ms")]
    x = np.arange(len(quality))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(11, 4))
    for i, name in enumerate(names):
        vals = [summary.pipelines[name].get(k) or 0.0 for k, _ in quality]
        ax.bar(x + i * width, vals, width, label=name)
    ax.set_xticks(x + width * (len(names) - 1) / 2, [h for _, h in quality], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("Retrieval and answer quality")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    out.append(("Quality metrics per pipeline (higher is better)", _png(fig)))
    plt.close(fig)

    stages = ("retrieval", "answer", "total")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(stages))
    for i, name in enumerate(names):
        p50 = [summary.pipelines[name][f"{s}_p50_ms"] for s in stages]
        p95 = [summary.pipelines[name][f"{s}_p95_ms"] for s in stages]
        ax.bar(x + i * width, p95, width, alpha=0.35, color=f"C{i}")
        ax.bar(x + i * width, p50, width, label=f"{name} (p50; light = p95)", color=f"C{i}")
    ax.set_xticks(x + width * (len(names) - 1) / 2, stages)
    ax.set_ylabel("ms")
    ax.set_title("Latency per stage")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    out.append(("Latency per stage, milliseconds", _png(fig)))
    plt.close(fig)

    topics = sorted({t for groups in summary.by_topic.values() for t in groups})
    if topics:
        labels = topics if cjk else [f"T{i + 1}" for i in range(len(topics))]
        fig, ax = plt.subplots(figsize=(11, 4))
        x = np.arange(len(topics))
        for i, name in enumerate(names):
            vals = [(summary.by_topic.get(name, {}).get(t, {}).get("doc_hit@k") or 0.0) for t in topics]
            ax.bar(x + i * width, vals, width, label=name)
        ax.set_xticks(x + width * (len(names) - 1) / 2, labels, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title("Document hit@k by topic")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        caption = "Document hit@k by topic" + ("" if cjk else " (T-numbers: see the topic table)")
        out.append((caption, _png(fig)))
        plt.close(fig)

    if previous is not None:
        common = [n for n in names if n in previous.pipelines]
        if common:
            fig, ax = plt.subplots(figsize=(11, 4))
            x = np.arange(len(quality))
            for i, name in enumerate(common):
                delta = [
                    (summary.pipelines[name].get(k) or 0.0) - (previous.pipelines[name].get(k) or 0.0)
                    for k, _ in quality
                ]
                ax.bar(x + i * width, delta, width, label=name)
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(x + width * (len(common) - 1) / 2, [h for _, h in quality], rotation=30, ha="right")
            ax.set_title("Change against the earlier run")
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            out.append(("Change of each metric against the earlier run", _png(fig)))
            plt.close(fig)
    return out


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(
    summary: RunSummary,
    results: Sequence[QuestionResult],
    previous: RunSummary | None = None,
    worse: Sequence[dict[str, Any]] = (),
) -> str:
    """The self-contained HTML report. All text from questions and answers is escaped."""
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        "<title>minsheng evaluation</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0;font-size:13px}",
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}",
        "img{max-width:100%;border:1px solid #eee}.bad{color:#a00}",
        "</style></head><body><h1>minsheng evaluation</h1><ul>",
    ]
    parts += [f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in summary.facts.items()]
    parts.append("</ul><h2>Metrics</h2>")
    parts.append(_html_table(["pipeline"] + [h for _, h in MAIN_COLUMNS], main_table_rows(summary)))
    for caption, uri in charts(summary, previous):
        parts.append(f"<figure><img alt='{html.escape(caption)}' src='{uri}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    for pipe, groups in summary.by_kind.items():
        parts.append(f"<h2>Every metric by kind: {html.escape(pipe)}</h2>")
        parts.append(_html_table(["metric", *groups], kind_matrix(summary, pipe)))
    topics = sorted({t for groups in summary.by_topic.values() for t in groups})
    for title, table in breakdowns(summary):
        rows = breakdown_rows(table)
        if title == "By topic":
            for row in rows:
                row[1] = f"T{topics.index(row[1]) + 1} {row[1]}"
        parts.append(f"<h2>{title}</h2>")
        parts.append(_html_table(["pipeline", "group", "n"] + list(BREAKDOWN_METRICS), rows))
    if worse:
        parts.append("<h2 class='bad'>Questions that got worse</h2>")
        parts.append(
            _html_table(
                ["pipeline", "id", "question", "what changed"],
                [[w["pipeline"], w["id"], w["question"], w["change"]] for w in worse],
            )
        )
    parts.append("<h2>Questions</h2>")
    rows = []
    for r in results:
        top = r.retrieved[0]["file_name"] if r.retrieved else ""
        rows.append(
            [
                r.pipeline,
                r.id,
                r.question,
                r.kind,
                fmt(r.metrics.get("doc_hit@k")),
                fmt(r.metrics.get("fact_recall")),
                r.status,
                fmt(r.metrics.get("refusal_correct")),
                str(top),
            ]
        )
    parts.append(
        _html_table(["pipeline", "id", "question", "kind", "hit@k", "fact recall", "outcome", "outcome ok", "top source"], rows)
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def summary_to_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "pipelines": summary.pipelines,
        "by_kind": summary.by_kind,
        "by_topic": summary.by_topic,
        "by_phrasing": summary.by_phrasing,
        "facts": summary.facts,
    }


def load_run(folder: Path) -> tuple[RunSummary, list[dict[str, Any]]]:
    """An earlier run's summary and per-question results.

    Raises:
        FileNotFoundError: ``folder`` holds no summary.json (one line naming the folder).
    """
    path = folder / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no summary.json (not an evaluation run folder)")
    data = json.loads(path.read_text(encoding="utf-8"))
    summary = RunSummary(
        data["pipelines"], data.get("by_kind", {}), data.get("by_topic", {}), data.get("by_phrasing", {}), data.get("facts", {})
    )
    results_path = folder / "results.jsonl"
    results = []
    if results_path.is_file():
        results = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return summary, results


def got_worse(current: Sequence[QuestionResult], previous: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions (same id and pipeline) whose hit@k, fact recall or outcome (answered or
    refused as it should be) got worse."""
    before = {(r["pipeline"], r["id"]): r for r in previous}
    worse = []
    for r in current:
        old = before.get((r.pipeline, r.id))
        if old is None:
            continue
        changes = []
        for key in ("doc_hit@k", "fact_recall", "refusal_correct"):
            a, b = old["metrics"].get(key), r.metrics.get(key)
            if a is not None and b is not None and b < a:
                changes.append(f"{key} {a:.2f} → {b:.2f}")
        if changes:
            worse.append({"pipeline": r.pipeline, "id": r.id, "question": r.question, "change": "; ".join(changes)})
    return worse


def metric_deltas(current: RunSummary, previous: RunSummary) -> list[list[str]]:
    """Rows (pipeline, metric, before, now, change) for every shared quality and latency column."""
    rows = []
    for name, now in current.pipelines.items():
        old = previous.pipelines.get(name)
        if old is None:
            continue
        for key, header in MAIN_COLUMNS:
            a, b = old.get(key), now.get(key)
            if a is None or b is None:
                continue
            rows.append([name, header, fmt(a, key), fmt(b, key), f"{b - a:+.3f}" if not key.endswith("_ms") else f"{b - a:+.0f}"])
    return rows


def write_run(
    folder: Path,
    summary: RunSummary,
    results: Sequence[QuestionResult],
    previous: RunSummary | None = None,
    worse: Sequence[dict[str, Any]] = (),
) -> None:
    """Write results.jsonl, summary.json, summary.md and report.html into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "results.jsonl").open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(to_json_line(r), ensure_ascii=False) + "\n")
    (folder / "summary.json").write_text(json.dumps(summary_to_json(summary), ensure_ascii=False, indent=1), encoding="utf-8")
    md = summary_markdown(summary)
    if previous is not None:
        md += "\n## Change against the earlier run\n\n" + _md_table(
            ["pipeline", "metric", "before", "now", "change"], metric_deltas(summary, previous)
        ) + "\n"
        if worse:
            md += "\n## Questions that got worse\n\n" + _md_table(
                ["pipeline", "id", "question", "what changed"], [[w["pipeline"], w["id"], w["question"], w["change"]] for w in worse]
            ) + "\n"
    (folder / "summary.md").write_text(md, encoding="utf-8")
    (folder / "report.html").write_text(report_html(summary, results, previous, worse), encoding="utf-8")
