"""amr: the Co stripe's AMR dip, at +B_c going up and -B_c coming down."""

import numpy as np

from cryo_acq.run.runner import Runner
from cryo_acq.run.storage import load_run
from cryo_acq.station import Station
from procedures import get


def test_amr_loop_dips_at_the_co_coercive_field_on_each_branch(tmp_path):
    p = get("amr")()
    p.set_parameters({"temperature": 2.0, "field_max": 0.04, "field_step": 0.001})
    st = Station.from_yaml("vti-a01", sim=True)
    run = load_run(Runner(st, p, folder=tmp_path).run())
    st.close()
    assert run.status == "finished" and run.metadata["procedure"] == "amr"
    assert run.metadata["parameters"]["excitation"] == {"value": 0.45e-6, "units": "A"}
    b, r, d = run.data["field"], run.data["resistance"], run.data["direction"]
    up, down = d == 1, d == -1
    b_up, b_down = b[up][np.argmin(r[up])], b[down][np.argmin(r[down])]
    assert 0.015 < b_up < 0.035 and -0.035 < b_down < -0.015  # the Co switch, hysteretic
    depth = np.median(r[up]) - r[up].min()
    noise = np.std(np.diff(r[up][:10])) / np.sqrt(2)
    assert depth > 10 * noise  # a real dip, not a noise excursion
