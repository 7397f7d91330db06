"""``cryo-acq sim serve``: the simulated lab on loopback sockets, for clients in other
processes (QCoDeS's and pymeasure's drivers, plain pyvisa over pyvisa-py, cryo_acq
itself through a station file that names the sockets)."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from cryo_acq.run.storage import load_run
from cryo_acq.station.file import load as load_station
from cryo_acq.station.file import parse
from sim.serve import ServeError, serve_station
from tests.sim.served import ROOT, cryo_acq, listening_sockets, port_of, served
from tests.sim.third_party import DILUTION_STATION, VTI_STATION

pytest.importorskip("pyvisa_py")

# --------------------------------------------------------------------------- two clients at once
#: client 1: QCoDeS's Mercury iPS driver ramps the solenoid (group Z drives the sample's x)
#: 0 -> -30 mT -> +30 mT -> -30 mT, blocking on the supply's own ramp status
RAMP = """
import sys, time
from qcodes.instrument_drivers.oxford import OxfordMercuryiPS
ips = OxfordMercuryiPS("ips", sys.argv[1], visalib="@py")
z = ips.GRPZ
z.field_ramp_rate(0.002)                 # T/s
for target in (-0.03, 0.03, -0.03):
    z.field_target(target)
    z.ramp_to_target()
    while z.ramp_status() == "TO SET":
        time.sleep(0.01)
    print(target, z.field(), flush=True)
ips.close()
"""

#: client 2: a plain pyvisa script reads the junction lock-in (and the field, through
#: its own connection to the same supply) until the loop is done
READ = """
import json, sys, time
import pyvisa
rm = pyvisa.ResourceManager("@py")
lockin = rm.open_resource(sys.argv[1], read_termination="\\n", write_termination="\\n", timeout=5000)
magnet = rm.open_resource(sys.argv[2], read_termination="\\n", write_termination="\\n", timeout=5000)
lockin.write("OFLT 6")                   # 10 ms time constant
lockin.write("SENS 11")                  # 10 uV full scale
readings, leg = [], 0                    # 0: to -30 mT, 1: up to +30 mT, 2: down again
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    field = float(magnet.query("READ:DEV:GRPZ:PSU:SIG:FLD").rsplit(":", 1)[1].rstrip("T"))
    readings.append((leg, field, float(lockin.query("OUTP?3"))))
    if leg == 0 and field < -0.0295: leg = 1
    elif leg == 1 and field > 0.0295: leg = 2
    elif leg == 2 and field < -0.0295: break
print(json.dumps(readings))
"""


def _branches(readings) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The loop's up sweep (-30 -> +30 mT) and down sweep (+30 -> -30 mT); the first ramp
    from zero, before the loop, is left out."""
    leg, field, r = np.array(readings).T
    return {"up": (field[leg == 1], r[leg == 1]), "down": (field[leg == 2], r[leg == 2])}


def _mean_between(branch, low, high) -> float:
    field, r = branch
    inside = (field > low) & (field < high)
    assert inside.sum() >= 5, f"too few readings between {low} and {high} T"
    return float(r[inside].mean())


def test_two_clients_one_lab_a_field_ramped_by_one_is_seen_by_the_others_lockin():
    with served("vti-a01", "--time-scale", "20") as (_proc, resources):
        reader = subprocess.Popen([sys.executable, "-c", READ, resources["lockin_b"], resources["magnet"]],
                                  stdout=subprocess.PIPE, text=True)
        ramp = subprocess.run([sys.executable, "-c", RAMP, resources["magnet"]], capture_output=True,
                              text=True, timeout=120)
        out, _ = reader.communicate(timeout=120)
    assert ramp.returncode == 0, ramp.stderr
    arrived = [line.split() for line in ramp.stdout.splitlines() if line and line[0] in "-0123456789"]
    assert [(float(t), round(float(f), 4)) for t, f in arrived] == [(-0.03, -0.03), (0.03, 0.03), (-0.03, -0.03)]
    assert reader.returncode == 0
    branches = _branches(json.loads(out))
    up, down = branches["up"], branches["down"]
    # the junction's parallel state on both sides; antiparallel between the coercive
    # fields of the two electrodes (about 10 and 25 mT), on the side the sweep goes to
    parallel = _mean_between(up, -0.005, 0.005)
    assert _mean_between(up, 0.013, 0.021) > 1.05 * parallel  # switched on the way up
    assert _mean_between(up, -0.021, -0.013) < 1.02 * parallel  # not on the way up's negative side
    assert _mean_between(down, -0.021, -0.013) > 1.05 * parallel  # switched on the way down
    assert _mean_between(down, 0.013, 0.021) < 1.02 * parallel
    assert _mean_between(up, 0.027, 0.03) < 1.02 * parallel  # both along +x again


# --------------------------------------------------------------------------- cryo_acq's own tmr
TMR = ["-p", "field_max=0.03", "-p", "field_step=0.002", "-p", "time_constant=0.03", "-p", "rate=0.01"]


def _switching_fields(path) -> dict[str, float]:
    """Field (T) of the first antiparallel point on each branch of a TMR loop."""
    data = load_run(path).data
    high = data["resistance"] > 0.5 * (data["resistance"].min() + data["resistance"].max())
    fields = {}
    for name, sign in (("up", 1), ("down", -1)):
        on = (data["direction"] == sign) & high
        fields[name] = float(data["field"][on][0])
    return fields


def test_cryo_acq_tmr_runs_through_a_station_file_naming_the_sockets(tmp_path):
    station = tmp_path / "served.yaml"
    with served("vti-a01", "--time-scale", "50", "--use", "mtj", "--write-station", str(station)):
        done = subprocess.run(cryo_acq("run", "tmr", "--station", str(station), *TMR, "--out",
                                       str(tmp_path / "served")), cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, done.stderr
    inproc = subprocess.run(cryo_acq("run", "tmr", "--station", "vti-a01", "--sim", *TMR, "--out",
                                     str(tmp_path / "inproc")), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert inproc.returncode == 0, inproc.stderr
    served_run = load_run(next((tmp_path / "served").glob("*.h5")))
    inproc_run = load_run(next((tmp_path / "inproc").glob("*.h5")))
    assert served_run.status == "finished"
    # the same loop: the same points, the same switching fields, the same two levels
    assert len(served_run.data["field"]) == len(inproc_run.data["field"]) == 62
    np.testing.assert_allclose(served_run.data["field"], inproc_run.data["field"], atol=1e-4)
    assert _switching_fields(served_run.path) == _switching_fields(inproc_run.path)
    for run in (served_run, inproc_run):
        r = run.data["resistance"]
        assert r.max() / r.min() == pytest.approx(inproc_run.data["resistance"].max()
                                                  / inproc_run.data["resistance"].min(), rel=0.01)


# --------------------------------------------------------------------------- stopping, listening
def test_sigterm_closes_every_port_within_a_second_and_nothing_listens_beyond_loopback():
    config, _, _ = load_station("dilution-b")
    with served("dilution-b") as (proc, resources):
        assert set(resources) == set(config.instruments)
        listening = listening_sockets(proc.pid)
        assert sorted(listening) == sorted(("127.0.0.1", port_of(r)) for r in resources.values())
        with socket.create_connection(("127.0.0.1", port_of(resources["magnet"])), timeout=5) as held:
            held.sendall(b"*IDN?\n")
            held.recv(100)  # a client still connected when the server is told to stop
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=1.0)
    assert proc.returncode == 0
    for resource in resources.values():  # every port free again
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port_of(resource)))


def test_port_base_gives_predictable_ports_and_writes_the_map(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    if base > 65000:
        base = 40000 + base % 20000
    mapping = tmp_path / "resources.yaml"
    with served("vti-a01", "--port-base", str(base), "--resources", str(mapping)) as (_proc, resources):
        import yaml

        written = yaml.safe_load(mapping.read_text())
    assert [port_of(r) for r in resources.values()] == list(range(base, base + 5))
    assert {name: entry["served"] for name, entry in written.items()} == resources
    assert written["lockin_a"]["station"] == "GPIB0::8::INSTR"
    assert written["thermometry"]["read_termination"] == "\r\n"


# --------------------------------------------------------------------------- bad input
def _refusal(*args) -> subprocess.CompletedProcess:
    return subprocess.run(cryo_acq("sim", "serve", *args), cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_bad_input_gets_one_line_and_exit_2_with_nothing_left_listening(tmp_path):
    for args, words in ((["no-such-station"], "no-such-station"), (["vti-a01", "--frobnicate"], "frobnicate"),
                        (["vti-a01", "--use", "nowhere"], "nowhere"),
                        (["vti-a01", "--time-scale", "-1"], "time-scale")):
        done = _refusal(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
        assert done.stdout == ""
    with socket.socket() as taken:  # the third of five ports is in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        base = taken.getsockname()[1] - 2
        done = _refusal("vti-a01", "--port-base", str(base))
        assert done.returncode == 2 and "in use" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    for port in (base, base + 1):  # the two it had opened are closed again
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


# --------------------------------------------------------------------------- many clients, one lab
@contextlib.contextmanager
def _serving(station_text: str):
    """A lab served from a thread of this process (the conformance stations)."""
    server = serve_station(parse(station_text, "<test station>"), time_scale=1.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=5)


@pytest.fixture
def vti_server():
    with _serving(VTI_STATION) as server:
        yield server


@pytest.fixture
def dilution_server():
    with _serving(DILUTION_STATION) as server:
        yield server


def _connect(server, name):
    inst = next(i for i in server.instruments if i.name == name)
    sock = socket.create_connection((inst.host, inst.port), timeout=5)
    return sock, sock.makefile("rb")


def _ask(sock, reader, message: str) -> str:
    sock.sendall(message.encode() + b"\n")
    return reader.readline().decode().rstrip("\r\n")


def test_clients_in_any_order_share_one_state_and_a_bad_client_changes_nothing(vti_server):
    lab_server = vti_server
    a, ra = _connect(lab_server, "smu")
    b, rb = _connect(lab_server, "smu")
    half, _ = _connect(lab_server, "smu")
    junk, junk_reader = _connect(lab_server, "smu")
    try:
        a.sendall(b"SOUR:CURR 1.5E-06\n")
        assert float(_ask(a, ra, "SOUR:CURR?")) == pytest.approx(1.5e-6)  # taken (one socket keeps order)
        assert float(_ask(b, rb, "SOUR:CURR?")) == pytest.approx(1.5e-6)  # one instrument, one state
        half.sendall(b"SOUR:CURR 9E-3")  # ... and gone mid-line: nothing of it arrives
        half.close()
        junk.sendall(b"\xff\xfe\x00SOUR:CURR 7E-3\n")  # not a VISA client's bytes: dropped, unheard
        assert junk_reader.read() == b""  # the server closed that connection
        assert float(_ask(a, ra, "SOUR:CURR?")) == pytest.approx(1.5e-6)
        assert _ask(b, rb, "SYST:ERR?").startswith("0,")  # and no error was raised by either
        # several messages in one packet are answered in order, whole
        a.sendall(b"*IDN?\nSOUR:CURR?\n")
        assert ra.readline().startswith(b"KEITHLEY") and float(ra.readline()) == pytest.approx(1.5e-6)
    finally:
        for sock in (a, b, junk):
            sock.close()


def test_an_ami430_greets_every_connection(dilution_server):
    lab_server = dilution_server
    first, r1 = _connect(lab_server, "magnet_z")
    second, r2 = _connect(lab_server, "magnet_z")
    try:
        for reader in (r1, r2):
            assert reader.readline() == b"American Magnetics Model 430 IP Interface\r\n"
            assert reader.readline() == b"Hello.\r\n"
        assert _ask(first, r1, "FIELD:UNITS?") == "1"
    finally:
        first.close()
        second.close()


def test_a_magnet_ramp_moves_in_served_time(dilution_server):
    """The lab runs on the wall clock times the time scale: a ramp set through one socket
    is under way when another socket reads it a moment later."""
    magnet, rm = _connect(dilution_server, "magnet_z")
    watcher, rw = _connect(dilution_server, "magnet_z")
    try:
        for reader in (rm, rw):
            reader.readline(), reader.readline()
        magnet.sendall(b"CONF:RAMP:RATE:FIELD 1,0.05,9\nCONF:FIELD:TARG 0.5\nRAMP\n")
        assert _ask(magnet, rm, "*OPC?") == "1"  # the ramp has started (two sockets do not keep order)
        assert _ask(watcher, rw, "STATE?") == "1"  # ramping, as another client sees it
        t0 = time.monotonic()
        time.sleep(0.2)
        field = float(_ask(watcher, rw, "FIELD:MAG?"))
        elapsed = time.monotonic() - t0
        assert 0.05 * 0.2 * 0.5 < field <= 0.05 * (elapsed + 0.1)
    finally:
        magnet.close()
        watcher.close()


def test_a_port_in_use_is_refused_before_anything_listens():
    config, _, _ = load_station("vti-a01")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ServeError, match="in use"):
            serve_station(config, port_base=taken.getsockname()[1] - 1)


def test_over_the_socket_the_instrument_behaves_as_in_process(vti_server):
    """pyvisa-py against the served lab: an unknown command is silent and sets the
    instrument's error queue, as in-process; a device clear (all a raw socket can express:
    the client drops what is waiting) leaves the next query's reply in step."""
    import pyvisa
    from pyvisa.errors import VisaIOError

    smu = next(i for i in vti_server.instruments if i.name == "smu")
    rm = pyvisa.ResourceManager("@py")
    k2400 = rm.open_resource(smu.resource, read_termination="\n", write_termination="\n", timeout=300)
    try:
        k2400.write("SOUR:CURR:BOGUS 1")
        with pytest.raises(VisaIOError):
            k2400.read()  # no reply to an unknown command
        assert k2400.query("SYST:ERR?").startswith("-113,")  # undefined header
        assert k2400.query("SYST:ERR?").startswith("0,")
        k2400.write("*IDN?")  # a reply the client no longer wants ...
        k2400.clear()
        assert float(k2400.query("SOUR:CURR?")) == pytest.approx(0.0)  # ... is not read as this one's
    finally:
        k2400.close()
        rm.close()
