"""Benchmark of the simulated lab served on sockets. Run: python bench/bench_served.py

1. Round trip per query: ``cryo-acq sim serve`` (another process, pyvisa-py over
   loopback TCP) vs the in-process live binding (the same station, same queries),
   side by side.
2. Queries per second the served lab answers with 1, 4 and 16 client processes at
   once (each client alternates between the two lock-ins), and each client's round
   trip meanwhile.
"""

from __future__ import annotations

import multiprocessing
import pathlib
import signal
import statistics
import subprocess
import sys
import time

import pyvisa

ROOT = pathlib.Path(__file__).parents[1]
STATION = "vti-a01"
QUERIES = {"lockin_a": ("OUTP?3", "SNAP? 1,2", "OFLT?"), "magnet": ("READ:DEV:GRPZ:PSU:SIG:FLD",),
           "thermometry": ("KRDG? A",)}
TERMINATION = {"lockin_a": "\n", "lockin_b": "\n", "magnet": "\n", "thermometry": "\r\n"}


def _time(resource, query: str, n: int) -> float:
    resource.query(query)
    t0 = time.perf_counter()
    for _ in range(n):
        resource.query(query)
    return (time.perf_counter() - t0) / n


def _in_process(n: int) -> dict[str, float]:
    from cryo_acq.station import file as station_file
    from cryo_acq.station.clock import VirtualClock
    from sim.build import build_lab

    config, _, _ = station_file.load(STATION)
    _, library = build_lab(config, VirtualClock())  # as --sim runs it: virtual time, no wall wait
    rm = pyvisa.ResourceManager(library)
    out = {}
    for name, queries in QUERIES.items():
        res = rm.open_resource(config.instruments[name].resource, read_termination=TERMINATION[name],
                               write_termination=TERMINATION[name])
        for q in queries:
            out[f"{name} {q}"] = _time(res, q, n)
    rm.close()
    return out


def _served(resources: dict[str, str], n: int) -> dict[str, float]:
    rm = pyvisa.ResourceManager("@py")
    out = {}
    for name, queries in QUERIES.items():
        res = rm.open_resource(resources[name], read_termination=TERMINATION[name],
                               write_termination=TERMINATION[name], timeout=5000)
        for q in queries:
            out[f"{name} {q}"] = _time(res, q, n)
        res.close()
    rm.close()
    return out


def _client(resources: dict[str, str], seconds: float, start, results) -> None:
    rm = pyvisa.ResourceManager("@py")
    handles = [rm.open_resource(resources[name], read_termination="\n", write_termination="\n", timeout=10000)
               for name in ("lockin_a", "lockin_b")]
    start.wait()
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        handles[count % 2].query("OUTP?3")
        count += 1
    results.put((count, time.perf_counter() - t0))
    rm.close()


def _load(resources: dict[str, str], clients: int, seconds: float = 3.0) -> tuple[float, float]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(resources, seconds, start, results)) for _ in range(clients)]
    for p in procs:
        p.start()
    time.sleep(2.0)  # every client connected
    start.set()
    done = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    total = sum(c for c, _ in done) / max(t for _, t in done)
    round_trip = statistics.median(t / c for c, t in done)
    return total, round_trip


def _serve() -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "cryo_acq", "sim", "serve", STATION], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    resources = {}
    while len(resources) < 5:
        name, _station, served = proc.stdout.readline().split()
        resources[name] = served
    return proc, resources


def main(n: int = 2000) -> None:
    proc, resources = _serve()
    try:
        inproc = _in_process(n)
        served = _served(resources, n)
        print(f"1. round trip per query, {STATION}, {n} queries each (in-process: virtual time, as --sim)")
        print(f"   {'instrument, query':<42}{'in-process us':>15}{'served us':>11}{'ratio':>8}")
        for key in inproc:
            print(f"   {key:<42}{inproc[key] * 1e6:>15.1f}{served[key] * 1e6:>11.1f}"
                  f"{served[key] / inproc[key]:>8.2f}")
        print("2. served lab under load: lock-in queries, client processes at once (2 cores)")
        print(f"   {'clients':>8}{'queries/s':>12}{'round trip us':>15}")
        for clients in (1, 4, 16):
            total, round_trip = _load(resources, clients)
            print(f"   {clients:>8}{total:>12.0f}{round_trip * 1e6:>15.0f}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
