"""Making a report: the fits and figures a report file declares, of the run files found in
the folders given, and ``summary.md`` with each number beside its reference value.

:func:`make_report` is what ``cryo-acq report REPORT RUN_FOLDER...`` and ``cryo-acq demo``
call. Fits run in ``jobs`` worker processes; a figure is drawn as soon as the fits it
needs are done. A fit whose runs are not there, or that fails, is skipped and said so
(its rows read ``n/a``, its figures are not drawn): a report applied to part of a
campaign still gives what it can.
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing
import pathlib
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable

from cryo_acq.report.reportfile import (Report, ReportFileError, fill, find_runs, format_values, load, select)


@dataclass
class Made:
    """What a report produced: fit results by name, figure files, what was skipped and why."""

    summary: pathlib.Path
    results: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, pathlib.Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  #: fit or figure -> why
    runs: dict[str, pathlib.Path] = field(default_factory=dict)


# --------------------------------------------------------------------------- workers
def _fit(kind: str, paths: list[str], options: dict):
    from cryo_acq.report.registry import FITS
    from cryo_acq.run.storage import load_run

    return FITS[kind]([load_run(p) for p in paths], **options)


def _draw(kind: str, path: str, fits: dict, run_paths: dict[str, list[str]], options: dict, title: str):
    from cryo_acq.report.registry import DRAWINGS
    from cryo_acq.run.storage import load_run

    runs = {role: [load_run(p) for p in paths] for role, paths in run_paths.items()}
    kwargs = dict(options)
    if title:
        kwargs["title"] = title
    return DRAWINGS[kind](path, fits, runs, **kwargs)


class _Inline:
    """The executor for ``jobs=1``: each call runs at submission."""

    def submit(self, fn, *args):
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed back like a worker's exception
            future.set_exception(exc)
        return future

    def shutdown(self, **_):
        pass


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- the report
def make_report(report: Report | str | pathlib.Path, folders, out, *, jobs: int = 2,
                progress: Callable[[str], None] | None = None, preamble: str = "") -> Made:
    """Make ``report`` (a :class:`Report`, a path or a shipped report's name) of the run
    files in ``folders`` into ``out``: its figures and ``summary.md``. ``preamble``: a
    paragraph put under the summary's introduction (the demo says how the runs were
    measured). Raises :class:`ReportFileError` for a bad file or folders, before any fit."""
    report = report if isinstance(report, Report) else load(report)
    out = pathlib.Path(out)
    runs = find_runs(folders)
    made = Made(out / "summary.md", runs=runs)
    say = progress or (lambda line: None)
    t0 = time.perf_counter()
    plans: dict[str, list[str]] = {}
    for spec in report.model.fits:
        labels = select(spec.runs, runs)
        empty = [p for p in spec.runs if not select([p], runs)]
        if empty:
            made.skipped[spec.name] = f"no run matches {', '.join(repr(p) for p in empty)}"
        else:
            plans[spec.name] = labels
    figures = {}
    for spec in report.model.figures:
        missing = [f for f in spec.fits.values() if f not in plans]
        run_labels = {role: select(patterns, runs) for role, patterns in spec.runs.items()}
        empty = [role for role, labels in run_labels.items() if not labels]
        if missing or empty:
            made.skipped[spec.file] = ("needs " + ", ".join([f"fit {m!r}" for m in missing]
                                                            + [f"runs for {r!r}" for r in empty]))
        else:
            figures[spec.file] = (spec, run_labels)
    out.mkdir(parents=True, exist_ok=True)
    pool = (_Inline() if jobs <= 1 else
            ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")))
    try:
        pending: dict[Future, tuple[str, str, float]] = {}
        for spec in sorted((s for s in report.model.fits if s.name in plans), key=lambda s: -_cost(s, plans)):
            pending[pool.submit(_fit, spec.fit, [str(runs[l]) for l in plans[spec.name]], dict(spec.options))] = (
                "fit", spec.name, time.perf_counter())
        done_fits: set[str] = set()

        def submit_ready():
            for name, (spec, run_labels) in list(figures.items()):
                needed = set(spec.fits.values())
                if needed <= done_fits:
                    del figures[name]
                    if not needed <= set(made.results):
                        made.skipped[name] = "a fit it needs failed"
                        continue
                    fits = {role: made.results[f] for role, f in spec.fits.items()}
                    paths = {role: [str(runs[l]) for l in labels] for role, labels in run_labels.items()}
                    pending[pool.submit(_draw, spec.draw, str(out / spec.file), fits, paths, dict(spec.options),
                                        spec.title)] = ("figure", spec.file, time.perf_counter())

        submit_ready()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                kind, name, started = pending.pop(future)
                seconds = time.perf_counter() - started
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - one failed fit or figure does not sink the report
                    made.skipped[name] = f"failed: {_reason(exc)}"
                    say(f"{kind} {name} failed: {_reason(exc)}")
                else:
                    if kind == "fit":
                        made.results[name] = result
                        title = report.fits[name].title or f"{report.fits[name].fit} of {len(plans[name])} run(s)"
                        say(f"fit {name}: {title} ({seconds:.1f} s)")
                    else:
                        made.figures[name] = pathlib.Path(result)
                        say(f"figure {name}")
                if kind == "fit":
                    done_fits.add(name)
                    submit_ready()
    finally:
        pool.shutdown(cancel_futures=True)
    for name in made.skipped:
        if name in report.fits or name in report.figures:
            say(f"skipped {name}: {made.skipped[name]}")
    write_summary(report, made, out, preamble, time.perf_counter() - t0)
    return made


#: rough seconds per run of each fit, to start the slow ones first
_COSTS = {"didv-spectra": 8.0, "hanle": 3.0, "vi": 2.0, "tc-lines": 1.0, "switching-series": 0.3}


def _cost(spec, plans) -> float:
    return _COSTS.get(spec.fit, 0.5) * (len(plans[spec.name]) if spec.fit != "didv-spectra" else 1)


# --------------------------------------------------------------------------- summary.md
def _table(report: Report, rows: list[tuple[str, ...]]) -> list[str]:
    lines = [f"| quantity | value (fit ± 1σ) | {report.model.reference} | how | figure |", "|---|---|---|---|---|"]
    for quantity, value, reference, how, figure in rows:
        link = f"[{figure}]({figure})" if figure else ""
        cells = (str(c).replace("|", "\\|") for c in (quantity, value, reference, how))  # a bar would end the cell
        lines.append("| " + " | ".join(cells) + f" | {link} |")
    return lines


def write_summary(report: Report, made: Made, out: pathlib.Path, preamble: str = "", wall: float = 0.0) -> pathlib.Path:
    """``summary.md``: a table per topic, the figures, the notes, the fits skipped, the run files."""
    from cryo_acq.campaign.catalogue import read_summary

    results = made.results
    m = report.model
    used = sorted({label for name in report.fits if name in results
                   for label in select(report.fits[name].runs, made.runs)}, key=str)
    infos = {}
    for label in used:
        try:
            infos[label] = read_summary(made.runs[label])
        except Exception as exc:  # noqa: BLE001
            infos[label] = {"procedure": "?", "status": f"unreadable ({_reason(exc)})", "points_done": 0,
                            "duration": 0.0}
    lab = sum(i["duration"] for i in infos.values())
    lines = [f"# {m.title}", ""]
    if m.intro:
        lines += [fill(m.intro.strip(), results), ""]
    if preamble:
        lines += [preamble, ""]
    lines += [f"Made {_dt.datetime.now().astimezone().isoformat(timespec='seconds')} by `cryo-acq report` from "
              f"the report file `{report.path.name}` ({report.name}): {len(used)} run files, "
              f"{sum(i['points_done'] for i in infos.values())} points, {lab / 3600:.1f} h of lab time; "
              f"{len(results)} fits and {len(made.figures)} figures in {wall:.1f} s.", ""]
    for k, topic in enumerate(m.summary, 1):
        rows = [(fill(r.quantity, results), format_values(r, results), fill(r.reference, results),
                 fill(r.how, results), r.figure if r.figure in made.figures else "") for r in topic.rows]
        lines += [f"## {k}. {topic.topic}", "", *_table(report, rows), ""]
    if m.figures:
        lines += ["## Figures", "", "| panel | figure |", "|---|---|"]
        for spec in m.figures:
            shown = f"[{spec.file}]({spec.file})" if spec.file in made.figures else f"not drawn: {made.skipped.get(spec.file, '')}"
            lines.append(f"| {spec.panel or spec.draw} | {shown} |")
        lines.append("")
    if m.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in m.notes], ""]
    skipped = {k: v for k, v in made.skipped.items() if k in report.fits}
    if skipped:
        lines += ["## Fits not made", "", *[f"- `{k}`: {v}" for k, v in skipped.items()], ""]
    lines += ["## Run files", "", "| run file | procedure | points | lab time | status |", "|---|---|---|---|---|"]
    for label in used:
        path, info = made.runs[label], infos[label]
        try:
            rel = path.resolve().relative_to(out.resolve()).as_posix()
        except ValueError:
            rel = path.resolve().as_uri()
        lines.append(f"| [{path.name}]({rel}) | {info['procedure']} | {info['points_done']} | "
                     f"{info['duration'] / 3600:.2f} h | {info['status']} |")
    lines += ["", f"Total: {lab / 3600:.1f} h of lab time ({lab:.0f} s).", ""]
    made.summary.write_text("\n".join(lines), encoding="utf-8")
    return made.summary


__all__ = ["Made", "ReportFileError", "make_report", "write_summary"]
