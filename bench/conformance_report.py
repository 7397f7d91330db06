"""Conformance of third-party drivers (QCoDeS, pymeasure) with the simulated lab.

Run: python bench/conformance_report.py [--driver KEY ...] [--markdown] [--verbose]

Each driver of ``tests/sim/third_party.py:CASES`` is built on a fresh live lab of
its conformance station; every parameter / property it declares is read once.
Printed: a table (driver, parameters, read, %) and then, per driver, every read
that failed: the parameter, the last command the simulated instrument received
while it was read, the last reply line the driver got (``-``: none, a timeout),
and the exception. A read that failed with no command sent failed inside the
driver (a precondition such as "output off"). That list is the to-do list for
the device files and the command grammar.

``--verbose`` lets the drivers print and log (QCoDeS logs every failed AMI 430
ask with a traceback); by default their chatter is silenced.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import pathlib
import sys
import time
import warnings

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tests.sim.third_party import CASES, Report, run_case  # noqa: E402


@contextlib.contextmanager
def _quiet(enabled: bool):
    if not enabled:
        yield
        return
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def run(keys: list[str] | None = None, quiet: bool = True) -> list[tuple[Report, float]]:
    results = []
    for case in CASES:
        if keys and case.key not in keys:
            continue
        t0 = time.perf_counter()
        with _quiet(quiet):
            report = run_case(case)
        results.append((report, time.perf_counter() - t0))
    return results


def _cell(text: str | None, markdown: bool) -> str:
    text = "-" if text in (None, "") else text
    return text.replace("|", "\\|") if markdown else text


def format_results(results: list[tuple[Report, float]], markdown: bool = False) -> str:
    out = []
    if markdown:
        out += ["| driver | parameters | read | % | wall s | built |", "|---|---:|---:|---:|---:|---|"]
    else:
        out.append(f"{'driver':26s} {'params':>6s} {'read':>6s} {'%':>6s} {'wall s':>7s}  built")
    total = read = 0
    for report, wall in results:
        built = "defaults" if report.construct_error is None else (
            f"with {report.built_with}" if report.built_with else "FAILED")
        total, read = total + report.total, read + report.read
        if markdown:
            out.append(f"| {report.driver} | {report.total} | {report.read} | {report.percent:.0f} "
                       f"| {wall:.2f} | {built} |")
        else:
            out.append(f"{report.driver:26s} {report.total:6d} {report.read:6d} {report.percent:6.1f} "
                       f"{wall:7.2f}  {built}")
    pct = 100.0 * read / total if total else 0.0
    out.append(f"| all | {total} | {read} | {pct:.0f} | | |" if markdown
               else f"{'all':26s} {total:6d} {read:6d} {pct:6.1f}")
    for report, _ in results:
        out.append("")
        head = f"{report.driver}: {len(report.failures)} failed read(s)"
        out.append(f"### {head}" if markdown else f"== {head}")
        if report.construct_error:
            out.append(f"construct with defaults failed: {report.construct_error}")
        if not report.failures:
            continue
        if markdown:
            out += ["", "| parameter | command | reply | error |", "|---|---|---|---|"]
        for f in report.failures:
            error = f"{f.error}: {f.message}"
            if markdown:
                out.append(f"| {_cell(f.parameter, True)} | `{_cell(f.command, True)}` "
                           f"| `{_cell(f.reply, True)}` | {_cell(error, True)} |")
            else:
                out.append(f"  {f.parameter}\n      -> {_cell(f.command, False)!s}  <- {_cell(f.reply, False)}"
                           f"  !! {error}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", action="append", help="case key (repeatable); default: all")
    ap.add_argument("--markdown", action="store_true", help="markdown tables")
    ap.add_argument("--verbose", action="store_true", help="let the drivers print and log")
    args = ap.parse_args(argv)
    known = {c.key for c in CASES}
    unknown = set(args.driver or ()) - known
    if unknown:
        ap.error(f"unknown driver(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    print(format_results(run(args.driver, quiet=not args.verbose), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
