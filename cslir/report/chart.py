"""Geometry of the HTML report's timeline: steps as bars against the clocks' deadlines.

An incident is hours of work followed by a report due weeks later, so a linear axis would
squeeze the response into a sliver. Long idle stretches are drawn as a fixed-width break
marked with their length; each stretch that has something in it is scaled linearly.

The output is numbers and labels only; the template draws them (autoescaped) as inline SVG.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from cslir.engine.events import parse_at

WIDTH = 960
LABEL_W = 250  # the column of lane labels
PLOT_X = LABEL_W + 10
PLOT_W = WIDTH - PLOT_X - 16
LANE_H = 22
TOP = 34  # room for the axis labels
GAP_W = 34  # a compressed stretch
MIN_SEG_W = 70  # a stretch with one instant in it still gets room for its time label
MIN_GAP = 2 * 3600.0  # never compress less than this...
GAP_SHARE = 0.25  # ...or less than this share of the whole span
TICK_STEPS = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
TICK_MIN_PX = 64

Row = Mapping[str, Any]
Lane = dict[str, Any]


@dataclass(frozen=True)
class _Seg:
    t0: float  # epoch seconds
    t1: float
    x0: float
    x1: float
    gap: bool


class Scale:
    """Time to x: linear within each stretch, fixed width across each compressed gap."""

    def __init__(self, instants: list[float]) -> None:
        points = sorted(set(instants))
        span = points[-1] - points[0]
        limit = max(MIN_GAP, GAP_SHARE * span)
        pieces: list[tuple[float, float, bool]] = []
        start = points[0]
        for a, b in pairwise(points):
            if b - a > limit:
                pieces += [(start, a, False), (a, b, True)]
                start = b
        pieces.append((start, points[-1], False))
        gaps = sum(1 for p in pieces if p[2])
        shown = [p for p in pieces if not p[2]]
        spare = PLOT_W - gaps * GAP_W - len(shown) * MIN_SEG_W
        total = sum(b - a for a, b, _ in shown) or 1.0
        x = float(PLOT_X)
        self.segs: list[_Seg] = []
        for a, b, gap in pieces:
            w = GAP_W if gap else MIN_SEG_W + spare * (b - a) / total
            self.segs.append(_Seg(a, b, x, x + w, gap))
            x += w
        self._starts = [s.t0 for s in self.segs]

    def x(self, t: float) -> float:
        i = max(0, min(len(self.segs) - 1, bisect_right(self._starts, t) - 1))
        s = self.segs[i]
        if s.t1 == s.t0:
            return (s.x0 + s.x1) / 2
        frac = min(1.0, max(0.0, (t - s.t0) / (s.t1 - s.t0)))
        if not s.gap and len(self.segs) > 1:  # keep half the minimum width as margins
            pad = MIN_SEG_W / 2
            return s.x0 + pad + frac * (s.x1 - s.x0 - 2 * pad)
        return s.x0 + frac * (s.x1 - s.x0)


def _epoch(text: str | None) -> float | None:
    return parse_at(text).timestamp() if text else None


def _fit(text: str, width: int = 34) -> str:
    """Cut a label to about ``width`` columns (a CJK character takes two)."""
    out, used = "", 0
    for ch in text:
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > width:
            return out.rstrip() + "…"
        out += ch
    return out


def build(report: Mapping[str, Any], word: Callable[[str | None], str]) -> dict[str, Any]:
    """The chart of a report: lanes, bars, deadline lines, axis ticks and breaks."""
    clocks = [c for c in report["clocks"] if c["started"] and c["due"]]
    steps: list[Row] = report["steps"]
    as_of = _epoch(report["as_of"]) or 0.0
    opened = _epoch(report["overview"]["started"]) or as_of
    closed = _epoch(report["overview"]["closed"])
    instants = [opened, closed or as_of]
    for c in clocks:
        instants += [t for t in (_epoch(c["started"]), _epoch(c["due"]), _epoch(c["stopped"])) if t]
    for s in steps:
        instants += [t for t in (_epoch(s["started"]), _epoch(s["ended"])) if t]
    scale = Scale(instants)
    tz = ZoneInfo(report["timezone"])
    lanes = [_clock_lane(c, scale, as_of, word) for c in clocks]
    lanes += [_step_lane(s, scale, as_of, word) for s in steps]
    for i, lane in enumerate(lanes):
        lane["y"] = TOP + i * LANE_H
    bottom = TOP + len(lanes) * LANE_H
    deadlines = [
        {"x": round(scale.x(_epoch(c["due"]) or 0.0), 1), "state": c["state"], "title": c["title"]}
        for c in clocks
    ]
    return {
        "width": WIDTH,
        "height": bottom + 22,  # room for the labels of compressed stretches
        "divider": TOP + len(clocks) * LANE_H if clocks and steps else None,
        "plot_x": PLOT_X,
        "plot_right": PLOT_X + PLOT_W,
        "top": TOP,
        "bottom": bottom,
        "lane_h": LANE_H,
        "lanes": lanes,
        "deadlines": deadlines,
        "ticks": _ticks(scale, tz),
        "breaks": [
            {"x": round(s.x0, 1), "w": round(s.x1 - s.x0, 1), "seconds": round(s.t1 - s.t0)}
            for s in scale.segs
            if s.gap
        ],
        "now": round(scale.x(as_of), 1) if closed is None else None,
    }


def _bar(scale: Scale, a: float, b: float, least: float = 3.0) -> dict[str, float]:
    x0, x1 = scale.x(a), scale.x(b)
    return {"x": round(x0, 1), "w": round(max(least, x1 - x0), 1)}


def _clock_lane(c: Row, scale: Scale, as_of: float, word: Callable[[str | None], str]) -> Lane:
    start, due = _epoch(c["started"]) or 0.0, _epoch(c["due"]) or 0.0
    stopped = _epoch(c["stopped"])
    lane: dict[str, Any] = {
        "kind": "clock",
        "label": _fit(c["title"]),
        "full": f"{c['title']}: {word(c['state'])}",
        "state": c["state"],
        "window": _bar(scale, start, due, least=1.0),
        "mark": None,
    }
    end = stopped
    if end is None and c["state"] in ("running", "overdue"):
        end = as_of
    if end is not None:
        lane["mark"] = {"x": round(scale.x(end), 1)}
    return lane


def _step_lane(s: Row, scale: Scale, as_of: float, word: Callable[[str | None], str]) -> Lane:
    start, end = _epoch(s["started"]), _epoch(s["ended"])
    lane: dict[str, Any] = {
        "kind": "step",
        "label": _fit(s["title"]),
        "full": f"{s['title']}: {word(s['status'])}",
        # a step under way is drawn as running whatever its kind (a task counts as "ready")
        "state": "running" if start is not None and end is None else s["status"],
        "bar": None,
        "estimate": None,
    }
    first = start if start is not None else end
    last = end if end is not None else (as_of if start is not None else None)
    if first is not None and last is not None:
        lane["bar"] = _bar(scale, first, last)
    if start is not None and s["estimate_seconds"]:
        lane["estimate"] = _bar(scale, start, start + s["estimate_seconds"])
    return lane


def _ticks(scale: Scale, tz: ZoneInfo) -> list[dict[str, Any]]:
    ticks: list[dict[str, Any]] = []
    last_day = None
    for seg in (s for s in scale.segs if not s.gap):
        width = seg.x1 - seg.x0
        length = seg.t1 - seg.t0
        if length == 0:
            times = [seg.t0]
        else:
            fits = (t for t in TICK_STEPS if width * t / length >= TICK_MIN_PX)
            step = next(fits, TICK_STEPS[-1])
            times = _aligned(seg.t0, seg.t1, step, tz)
        for t in times:
            local = datetime.fromtimestamp(t, tz)
            x = round(scale.x(t), 1)
            if ticks and x - ticks[-1]["x"] < TICK_MIN_PX * 0.8:
                continue
            day = local.date()
            label = f"{local:%H:%M}" if day == last_day else f"{local:%m-%d %H:%M}"
            last_day = day
            ticks.append({"x": x, "label": label})
    return ticks


def _aligned(t0: float, t1: float, step: int, tz: ZoneInfo) -> list[float]:
    """Tick times in [t0, t1] on round local times (whole hours, local midnight...)."""
    local = datetime.fromtimestamp(t0, tz)
    base = local.replace(hour=0, minute=0, second=0, microsecond=0)
    first = base.timestamp() + step * -(-(t0 - base.timestamp()) // step)
    out: list[float] = []
    t = first
    while t <= t1 and len(out) < 40:
        out.append(t)
        t += step
    if not out:
        out.append(t0)
    return out
