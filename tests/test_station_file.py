"""Station files: errors a physicist can act on, before any instrument is touched."""

import textwrap

import pytest

from cryo_acq.station import Station
from cryo_acq.station.file import StationFileError, load, shipped_stations

GOOD = (pytest.importorskip("pathlib").Path(__file__).parent / "stations" / "minimal.yaml").read_text()


def _write(tmp_path, text):
    path = tmp_path / "station.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _problems(tmp_path, text):
    with pytest.raises(StationFileError) as err:
        load(_write(tmp_path, text))
    return str(err.value)


def test_shipped_stations_load_by_name():
    assert {"vti-a01", "dilution-b"} <= set(shipped_stations())
    for name in shipped_stations():
        config, path, text = load(name)
        assert config.name == name and path.exists() and text


def test_typo_names_file_line_key_and_fix(tmp_path):
    msg = _problems(tmp_path, GOOD.replace("smu_compliance", "smu_complience"))
    assert "station.yaml" in msg
    assert "unknown key 'smu_complience'" in msg
    line = GOOD.splitlines().index("  smu_compliance: 10.0") + 1
    assert f"line {line}, limits.smu_complience" in msg
    assert f"limits.smu_compliance: required key is missing" in msg


def test_unknown_driver_lists_the_known_ones(tmp_path):
    msg = _problems(tmp_path, GOOD.replace("driver: sr830", "driver: sr850"))
    assert "unknown driver 'sr850'" in msg and "sr830" in msg and "line 5" in msg


def test_bad_values_say_what_is_allowed(tmp_path):
    msg = _problems(tmp_path, GOOD.replace("temperature: {min: 1.4, max: 300.0}",
                                           "temperature: {min: 300.0, max: 1.4}")
                    .replace("series_resistor: 10.0e6", "series_resistor: -5"))
    assert "min (300.0 K) must be below max (1.4 K)" in msg
    assert "series_resistor: Input should be greater than 0" in msg


def test_wiring_must_name_real_instruments_of_the_right_role(tmp_path):
    msg = _problems(tmp_path, GOOD.replace("four_probe: {lockin: lockin, source: smu}",
                                           "four_probe: {lockin: smu, source: lockinn}"))
    assert "line 14, wiring.configurations.four_probe.lockin: 'smu' is a current_source, a lockin is needed" in msg
    assert "no instrument named 'lockinn'" in msg


def test_magnet_axes_need_limits(tmp_path):
    text = GOOD.replace("instruments:\n", textwrap.dedent("""\
        instruments:
          magnet:
            driver: mercury_ips
            resource: TCPIP0::10.0.0.2::7020::SOCKET
            options: {axes: {z: GRPZ}}
        """))
    msg = _problems(tmp_path, text)
    assert "limits.field: magnet axis 'z' is driven (by 'magnet') but has no limit: add limits.field.z" in msg


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    msg = _problems(tmp_path, "name: x\ninstruments:\n  a: [1, 2\n")
    assert "not valid YAML" in msg and "line 4, column 1" in msg


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(StationFileError, match="file not found"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(StationFileError, match="shipped: dilution-b, vti-a01"):
        load("no-such-station")


def test_invalid_file_touches_no_instrument(tmp_path, monkeypatch):
    import sim.build

    called = []
    monkeypatch.setattr(sim.build, "build_lab", lambda *a: called.append(a))
    with pytest.raises(StationFileError):
        Station.from_yaml(_write(tmp_path, GOOD.replace("max_current", "max_curent")), sim=True)
    assert called == []


def test_cli_station_check(tmp_path):
    from click.testing import CliRunner

    from cryo_acq.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["station", "check", "dilution-b", "--sim"], terminal_width=200)
    assert ok.exit_code == 0, ok.output
    assert "TRITON" in ok.output and "SR830" in ok.output and "|B| <= 2 T" in ok.output
    bad = runner.invoke(main, ["station", "check", str(_write(tmp_path, GOOD.replace("GPIB0::8", "GPIB0:8") + "bogus: 1\n"))])
    assert bad.exit_code == 2
    assert "unknown key 'bogus'" in bad.output


def test_served_lab_clock_only_with_every_instrument_at_a_socket(tmp_path):
    """A sped-up clock (a rehearsal on ``cryo-acq sim serve``) never reaches a GPIB address."""
    msg = _problems(tmp_path, GOOD + "served_lab: {time_scale: 20}\n")
    assert "served_lab is set, so every instrument must be at a served socket" in msg
    assert "instruments.lockin.resource" in msg


def test_terminations_reach_the_driver(tmp_path):
    """A socket or gateway address needs the reply's end named; the driver is built with it."""
    text = GOOD.replace("resource: GPIB0::8::INSTR", 'resource: GPIB0::8::INSTR\n    read_termination: "\\r\\n"')
    config, _, _ = load(_write(tmp_path, text))
    assert config.instruments["lockin"].read_termination == "\r\n"
    with Station(config, sim=True) as station:
        assert station._drivers["lockin"].adapter.connection.read_termination == "\r\n"
        assert station._drivers["smu"].adapter.connection.read_termination != "\r\n"
