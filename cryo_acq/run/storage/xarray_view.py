"""A run as an ``xarray.Dataset`` (the ``xarray`` extra): the plan's axes as coordinates,
units on every variable, the parameters (with units) as attributes."""

from __future__ import annotations

import numpy as np

from .layout import grid_name, units_attr


def run_to_xarray(run):
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - the extra is missing
        raise ImportError("Run.to_xarray needs xarray: pip install 'cryo-acq[xarray]'") from None
    units = run.units
    axes = run.plan["axes"]  # outer first
    names = [a["name"] for a in axes]
    if len(run.plan.get("shape", [])) == 2 and run.grid:
        coords = {a["name"]: (a["name"], np.asarray(a["values"], float), {"units": units_attr(a["unit"]),
                                                                         "long_name": f"{a['name']} set-point"})
                  for a in axes}
        variables = {grid_name(c, names): (names, np.asarray(run.grid[c]), {"units": units_attr(units[c])})
                     for c in run.grid}
    else:
        index = np.asarray(run.plan_index)
        rows = np.arange(len(index))
        coords = {"row": ("row", rows), "plan_index": ("row", index, {"units": "1"})}
        order = _order(run)
        for k, a in enumerate(axes):
            values = np.asarray(a["values"], float)
            setpoint = np.full(len(index), np.nan)
            ok = index >= 0
            if order is not None:
                setpoint[ok] = values[order[index[ok], k]]
            coords[f"{a['name']}_setpoint"] = ("row", setpoint, {"units": units_attr(a["unit"])})
        variables = {c: ("row", np.asarray(run.data[c]), {"units": units_attr(units[c])}) for c in run.data}
    attrs = {"procedure": run.procedure, "status": run.status, "reason": run.reason, "label": run.label,
             "station": run.station_name, "sample": run.sample, "configuration": run.configuration,
             "signal": run.signal}
    for name, value in run.parameters.items():
        attrs[name] = value if isinstance(value, (int, float, str)) else str(value)
        attrs[f"{name}_units"] = units_attr(run.parameter_unit(name))
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _order(run):
    """(points, ndim) grid index of every planned point, rebuilt from the plan's shape."""
    shape = run.plan.get("shape")
    if not shape:
        return None
    if len(shape) == 1:
        return np.arange(shape[0])[:, None]
    return None
