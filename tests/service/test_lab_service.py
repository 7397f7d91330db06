"""The lab's runs served by Tiled (``cryo-acq serve``), read through Tiled's own client.

Every server listens on a free loopback port for the test that starts it."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("tiled.server")
pytest.importorskip("xarray")

import httpx  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from tiled.client import from_uri  # noqa: E402
from tiled.queries import Key  # noqa: E402

from cryo_acq.cli.main import main  # noqa: E402
from cryo_acq.run.runner import Runner  # noqa: E402
from cryo_acq.run.storage import load_run  # noqa: E402
from cryo_acq.service.client import ServerError, fetch_run, list_runs, run_url  # noqa: E402
from cryo_acq.service.server import ServiceError, check_exposure, serving  # noqa: E402
from cryo_acq.station import Station  # noqa: E402
from procedures.hanle import Hanle  # noqa: E402
from procedures.nl_map import NLMap  # noqa: E402
from procedures.tmr import TMR  # noqa: E402

ROOT = pathlib.Path(__file__).parents[2]
KEY = "0123456789abcdef0123"
WAIT = 60.0  # s of wall time before a test gives up waiting for the server to see a change

WRITER = """
import sys
from cryo_acq.run.runner import Runner
from cryo_acq.station import Station
from cryo_acq.station.clock import VirtualClock
from procedures.tmr import TMR
st = Station.from_yaml("vti-a01", sim=True, clock=VirtualClock(time_scale=50))
p = TMR()
p.set_parameters({"field_max": 0.05, "field_step": 0.0005, "temperature": 1.6})
Runner(st, p, path=sys.argv[1]).run()
"""


def _run(station, cls, path, **params):
    procedure = cls()
    procedure.set_parameters(params)
    Runner(station, procedure, path=path).run()
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two cryostats' folders: vti-a01 (two TMR loops, at 1.5 K and 4 K) and dilution-b (a
    Hanle curve and a non-local map)."""
    base = tmp_path_factory.mktemp("lab")
    vti, dil = base / "vti-a01", base / "dilution-b"
    vti.mkdir()
    dil.mkdir()
    st = Station.from_yaml("vti-a01", sim=True)
    _run(st, TMR, vti / "tmr-1.5K.h5", field_max=0.01, field_step=0.002, temperature=1.5)
    _run(st, TMR, vti / "tmr-4K.h5", field_max=0.01, field_step=0.002, temperature=4.0)
    st.close()
    st = Station.from_yaml("dilution-b", sim=True)
    (dil / "night").mkdir()
    _run(st, Hanle, dil / "night" / "hanle-L08.h5", channel="L08", field_max=0.1, field_step=0.02)
    _run(st, NLMap, dil / "nl-map.h5", current_start=2e-6, current_stop=-2e-6, current_step=-1e-6,
         field_start=0.0, field_stop=0.01, field_step=0.002)
    st.close()
    return base


@pytest.fixture(scope="module")
def server(lab):
    with serving([lab / "vti-a01", lab / "dilution-b"]) as url:
        yield url


FILES = {"vti-a01.tmr-1.5K": "vti-a01/tmr-1.5K.h5", "vti-a01.tmr-4K": "vti-a01/tmr-4K.h5",
         "dilution-b.night.hanle-L08": "dilution-b/night/hanle-L08.h5", "dilution-b.nl-map": "dilution-b/nl-map.h5"}


def test_every_run_reads_through_tiled_as_load_run_reads_its_file(lab, server):
    client = from_uri(server)
    assert sorted(client) == sorted(FILES)
    for key, rel in FILES.items():
        run = load_run(lab / rel)
        node = client[key]
        meta = node.metadata
        assert (meta["procedure"], meta["status"], meta["station"], meta["sample"]) == (
            run.procedure, "finished", run.station_name, run.sample)
        assert meta["parameters"] == pytest.approx(run.parameters)
        assert meta["parameter_units"]["field_step"] == "T"
        readings = node["readings"].read()  # an xarray.Dataset, from Tiled's client
        for column, values in run.data.items():
            np.testing.assert_array_equal(readings[column].values, values)
            assert readings[column].attrs["units"] == (run.units[column] or "1")
        np.testing.assert_array_equal(readings["plan_index"].values, run.plan_index)
        np.testing.assert_array_equal(node["plan"]["done"].read(), run.done)
        assert node["log"].metadata["entries"][0][1] == run.log[0][1]
        assert node["snapshot"].metadata["end"]["smu"]["output_enabled"] is False
        fetched = fetch_run(run_url(server, key))  # what the GUI opens
        for column, values in run.data.items():
            np.testing.assert_array_equal(fetched.data[column], values)
        assert fetched.units == run.units and fetched.status == run.status and fetched.log == run.log
        for column, grid in run.grid.items():
            np.testing.assert_array_equal(fetched.grid[column], grid)
    # a map reads as xarray on its grid, coordinates the plan's axes with units
    data = client["dilution-b.nl-map"]["data"].read()
    run = load_run(lab / FILES["dilution-b.nl-map"])
    assert data["r_nonlocal"].dims == ("injection_current", "field") and data["r_nonlocal"].shape == (5, 6)
    np.testing.assert_array_equal(data["r_nonlocal"].values, run.grid["r_nonlocal"])
    assert data["field"].attrs["units"] == "T" and data["r_nonlocal"].attrs["units"] == "Ohm"


def test_search_by_procedure_station_and_parameter_range_finds_exactly_those_runs(server):
    client = from_uri(server)
    assert sorted(client.search(Key("procedure") == "tmr")) == ["vti-a01.tmr-1.5K", "vti-a01.tmr-4K"]
    assert sorted(client.search(Key("station") == "dilution-b")) == ["dilution-b.night.hanle-L08",
                                                                      "dilution-b.nl-map"]
    assert list(client.search(Key("parameters.temperature") < 2.0).search(Key("procedure") == "tmr")) == [
        "vti-a01.tmr-1.5K"]
    assert list(client.search(Key("parameters.channel") == "L08")) == ["dilution-b.night.hanle-L08"]
    assert list(client.search(Key("parameters.channel") > 1.0)) == []  # text is not a number: no match
    started = sorted(client[k].metadata["started"] for k in client)
    later = sum(s >= started[2] for s in started)  # start times have whole seconds: runs may share one
    assert 2 <= len(client.search(Key("started") >= started[2])) == later  # ISO start times compare as times
    assert sorted(client.search(Key("sample") == "A01")) == ["vti-a01.tmr-1.5K", "vti-a01.tmr-4K"]
    # the same through cryo-acq's own listing (what runs --server prints)
    assert [e.path for e in list_runs(server, procedure="tmr", where={"temperature": (3.0, None)})] == [
        "vti-a01.tmr-4K"]
    assert [e.path for e in list_runs(server, where={"temperature": (1.0, 2.0)})] == ["vti-a01.tmr-1.5K"]
    result = CliRunner().invoke(main, ["runs", "--server", server, "--procedure", "hanle"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "dilution-b.night.hanle-L08" in result.output and "1 run(s)" in result.output


def test_a_run_being_written_appears_grows_and_ends_with_its_status(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    with serving([folder]) as url:
        client = from_uri(url)
        assert len(client) == 0
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder / "live.h5")], cwd=ROOT)
        try:
            seen = []
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and len(set(seen)) < 3:
                if "live" in from_uri(url):  # appears without a restart
                    node = from_uri(url)["live"]
                    assert node.metadata["status"] == "running"
                    try:
                        rows = len(node["readings"].read()["field"])
                    except ValueError:  # it grew between Tiled's two requests (structure, data): read again
                        continue
                    seen.append(rows)
                time.sleep(0.3)
            assert len(set(seen)) >= 3 and seen == sorted(seen)  # it grows, as seen through the client
            run = fetch_run(run_url(url, "live"))  # every part of one state of the file
            assert run.status == "interrupted" and 0 < len(run.data["field"]) == len(run.plan_index)
            assert np.count_nonzero(run.done) == len(np.unique(run.plan_index))
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
        # a run that ends appears with its final status; the killed one stays unfinished
        shutil.copy(_finished_run(tmp_path), folder / "done.h5")
        deadline = time.monotonic() + WAIT
        while "done" not in from_uri(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        client = from_uri(url)
        assert client["done"].metadata["status"] == "finished"
        assert client["live"].metadata["points_done"] < client["live"].metadata["points_planned"]


def _finished_run(tmp_path):
    st = Station.from_yaml("vti-a01", sim=True)
    path = _run(st, TMR, tmp_path / "elsewhere.h5", field_max=0.01, field_step=0.002)
    st.close()
    return path


def test_with_a_key_a_request_without_it_is_refused(lab):
    with serving([lab / "vti-a01"], api_key=KEY) as url:
        assert httpx.get(f"{url}/api/v1/search/").status_code == 401
        with pytest.raises(RuntimeError, match="requires API key"):  # Tiled's own client, without the key
            from_uri(url)
        assert httpx.get(f"{url}/api/v1/search/", headers={"Authorization": "Apikey wrongkey0123456789"}
                         ).status_code == 401
        with pytest.raises(ServerError, match="API key"):
            list_runs(url)
        assert sorted(from_uri(url, api_key=KEY)) == ["tmr-1.5K", "tmr-4K"]
        assert [e.path for e in list_runs(url, api_key=KEY, procedure="tmr")] == ["tmr-1.5K", "tmr-4K"]
        result = CliRunner().invoke(main, ["runs", "--server", url])
        assert result.exit_code == 2 and "API key" in result.output


def test_safe_by_default_loopback_only_without_a_key_and_read_only(lab, tmp_path, server):
    with pytest.raises(ServiceError, match="needs --api-key"):
        check_exposure("0.0.0.0", None)
    with pytest.raises(ServiceError, match="letters and digits"):
        check_exposure("127.0.0.1", "not a key!")
    check_exposure("0.0.0.0", KEY)
    check_exposure("::1", None)
    result = CliRunner().invoke(main, ["serve", str(lab / "vti-a01"), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "needs --api-key" in result.output
    # read-only: nothing can be written or deleted through it
    for method in ("post", "put", "delete"):
        response = httpx.request(method.upper(), f"{server}/api/v1/metadata/vti-a01.tmr-1.5K", json={})
        assert response.status_code >= 400
    assert (lab / "vti-a01" / "tmr-1.5K.h5").exists()


def test_the_serve_command_serves_until_interrupted(lab):
    from cryo_acq.service.server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cryo_acq", "serve", str(lab / "vti-a01"), "--port", str(port)],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                keys = sorted(from_uri(f"http://127.0.0.1:{port}"))
                break
            except (httpx.HTTPError, OSError):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert keys == ["tmr-1.5K", "tmr-4K"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert "127.0.0.1" in err and "Traceback" not in err


def test_a_link_leading_outside_the_folders_is_not_served(lab, tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(lab / "vti-a01" / "tmr-1.5K.h5", folder / "here.h5")
    (folder / "escape.h5").symlink_to(lab / "vti-a01" / "tmr-4K.h5")
    with serving([folder]) as url:
        assert list(from_uri(url)) == ["here"]
        assert httpx.get(f"{url}/api/v1/metadata/escape").status_code == 404
