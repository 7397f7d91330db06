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
import threading
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


def _yield_to_stations() -> None:
    import os

    try:
        os.nice(10)
    except (AttributeError, OSError):  # not on this platform: the fits share the processors
        pass


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
class Arrivals:
    """Runs still being measured while the report is made (the demo): the labels to
    expect, those finished so far, and whether measuring is over. A fit starts once every
    expected run it names has finished; once ``over``, the folders are taken as they are.
    The measuring side calls :meth:`finished_run` and :meth:`end`; the report waits on
    :meth:`news` (a future that completes at the next of them) instead of polling."""

    def __init__(self, expected):
        self.expected: set[str] = set(expected)
        self.finished: set[str] = set()
        self.over = False
        self._lock = threading.Lock()
        self._news: Future = Future()

    def news(self) -> Future:
        """A future that is done once something has happened since it was handed out."""
        with self._lock:
            return self._news

    def _announce(self) -> None:
        with self._lock:
            news, self._news = self._news, Future()
        news.set_result(None)

    def finished_run(self, label: str) -> None:
        self.finished.add(label)
        self._announce()

    def end(self) -> None:
        self.over = True
        self._announce()


def make_report(report: Report | str | pathlib.Path, folders, out, *, jobs: int = 2,
                progress: Callable[[str], None] | None = None, preamble: str | Callable[[], str] = "",
                arrivals: Arrivals | None = None) -> Made:
    """Make ``report`` (a :class:`Report`, a path or a shipped report's name) of the run
    files in ``folders`` into ``out``: its figures and ``summary.md``. ``preamble``: a
    paragraph put under the summary's introduction (the demo says how the runs were
    measured; a callable is asked when the summary is written). ``arrivals``: runs still being measured (fits start as their runs finish).
    Raises :class:`ReportFileError` for a bad file or folders, before any fit."""
    report = report if isinstance(report, Report) else load(report)
    out = pathlib.Path(out)
    made = Made(out / "summary.md", runs=find_runs(folders))
    say = progress or (lambda line: None)
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    # while stations measure, the fits take only what the stations leave of the processors
    pool = (_Inline() if jobs <= 1 else
            ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                initializer=_yield_to_stations if arrivals is not None else None))
    pending: dict[Future, tuple[str, str, float]] = {}
    plans: dict[str, list[str]] = {}  # fit -> the labels it was made of
    done_fits: set[str] = set()  # made, failed or skipped
    drawn: set[str] = set()  # figures submitted or skipped

    def complete(patterns: list[str], final: bool) -> list[str] | None:
        """The labels ``patterns`` name, once all of them can be used (None: not yet)."""
        if final:
            return select(patterns, made.runs)
        wanted = select(patterns, dict.fromkeys(arrivals.expected))
        return wanted if wanted and all(l in arrivals.finished for l in wanted) else None

    def submit(final: bool) -> None:
        if not final:
            made.runs = find_runs(folders)
        ordered = sorted(report.model.fits, key=lambda s: -_COSTS.get(s.fit, 0.5))
        for spec in ordered:
            if spec.name in plans or spec.name in done_fits:
                continue
            labels = complete(spec.runs, final)
            if labels is None or any(l not in made.runs for l in labels):
                continue
            empty = [p for p in spec.runs if not select([p], {l: None for l in labels})]
            if empty:
                made.skipped[spec.name] = f"no run matches {', '.join(repr(p) for p in empty)}"
                done_fits.add(spec.name)
                continue
            plans[spec.name] = labels
            pending[pool.submit(_fit, spec.fit, [str(made.runs[l]) for l in labels], dict(spec.options))] = (
                "fit", spec.name, time.perf_counter())
        for spec in report.model.figures:
            needed = set(spec.fits.values())
            if spec.file in drawn or not needed <= done_fits:
                continue
            run_labels = {role: complete(patterns, final) for role, patterns in spec.runs.items()}
            if any(labels is None for labels in run_labels.values()):
                continue
            drawn.add(spec.file)
            missing = [f for f in needed if f not in made.results]
            empty = [role for role, labels in run_labels.items() if not labels]
            if missing or empty:
                made.skipped[spec.file] = ("needs " + ", ".join([f"fit {m!r}" for m in sorted(missing)]
                                                                + [f"runs for {r!r}" for r in empty]))
                continue
            fits = {role: made.results[f] for role, f in spec.fits.items()}
            paths = {role: [str(made.runs[l]) for l in labels] for role, labels in run_labels.items()}
            pending[pool.submit(_draw, spec.draw, str(out / spec.file), fits, paths, dict(spec.options),
                                spec.title)] = ("figure", spec.file, time.perf_counter())

    try:
        while True:
            news = None if arrivals is None else arrivals.news()  # taken before looking: nothing is missed
            final = arrivals is None or arrivals.over
            if final and arrivals is not None:
                made.runs = find_runs(folders)
            submit(final)
            if final and not pending:
                break
            done, _ = wait(list(pending) + ([] if final else [news]), return_when=FIRST_COMPLETED)
            for future in done:
                if future is news:
                    continue
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
    finally:
        pool.shutdown(cancel_futures=True)
    for name in made.skipped:
        if name in report.fits or name in report.figures:
            say(f"skipped {name}: {made.skipped[name]}")
    write_summary(report, made, out, preamble() if callable(preamble) else preamble, time.perf_counter() - t0)
    return made


#: rough seconds of each fit, to start the slow ones first
_COSTS = {"didv-spectra": 20.0, "hanle": 5.0, "vi": 2.0, "tc-lines": 1.0, "switching-series": 1.0}


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


__all__ = ["Arrivals", "Made", "ReportFileError", "make_report", "write_summary"]
