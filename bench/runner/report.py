#!/usr/bin/env python3
"""Turns one bench/compare.sh results directory into a Markdown section and SVG charts.

    report.py RESULTS_DIR [--docs docs/benchmarks.md --svg-dir docs/bench]

Always writes RESULTS_DIR/report.md (and, without --docs, the SVGs next to it). With --docs the
section is inserted into that file below the compare.sh marker (newest run first; the marker and
the section heading are appended when missing) and the charts go to --svg-dir.

Input, as written by compare.sh: meta.env (key=value), runs.tsv (one line per PerfTest run),
skipped.tsv, and per run the PerfTest console output (.txt) and its CSV (-o, .csv). Figures come
from PerfTest's final summary ("sending rate avg", "receiving rate avg", "consumer latency
min/median/75th/95th/99th", "confirm latency ..."); when a run has no summary (killed, crashed)
the rates fall back to the mean of the per-second CSV rows. Standard library only: no matplotlib.
"""

import argparse
import csv
import html
import math
import os
import re
import statistics
import sys

BROKERS = ("courier", "rabbitmq")
NAMES = {"courier": "Courier", "rabbitmq": "RabbitMQ"}
LETTERS = {"courier": "A", "rabbitmq": "B"}
COLORS = {"courier": "#2b6cb0", "rabbitmq": "#dd6b20"}

MARKER = "<!-- bench/compare.sh inserts each run below this line, newest first -->"

# What each scenario is, how it is judged, and the issue 8 target (ratio Courier/RabbitMQ, or an
# absolute latency bound for "latency").
SCENARIOS = {
    "transient": dict(title="1. transient", what="1 producer, 1 consumer, 1 KB, auto-ack", target=2.5),
    "durable": dict(
        title="2. durable",
        what="1 producer, 1 consumer, 1 KB persistent, durable queue, confirms (100 outstanding), "
        "manual ack, prefetch 100",
        target=3.0,
    ),
    "fanout": dict(
        title="3. fanout",
        what="1 producer to a fanout exchange with 4 queues, 1 auto-ack consumer each, 1 KB; "
        "in = published, out = delivered (all 4 queues)",
        target=2.0,
    ),
    "competing": dict(
        title="4. competing",
        what="2 producers, 4 consumers on one durable queue, 1 KB persistent, confirms (100 "
        "outstanding per producer), manual ack, prefetch 100",
        target=3.0,
    ),
    "latency": dict(
        title="5. latency",
        what="durable as in 2., producer fixed at 1,000 msg/s; consumer latency (publish to "
        "delivery, same machine, nanosecond clock)",
        target_ms=2.0,
    ),
    "quorum": dict(
        title="6. quorum queue",
        what="as 2. on a quorum queue (x-queue-type=quorum), one node",
        target=2.0,
    ),
    "quorum3": dict(
        title="6b. quorum queue, three nodes",
        what="as 2. on a quorum queue replicated on a fresh three-node cluster of each broker per run "
        "(all processes on this machine), PerfTest connected to node 1",
        target=2.0,
    ),
    "large": dict(
        title="8. large messages (issue 5)",
        what="1 producer, 1 consumer, 16 MiB persistent messages, durable queue, confirms (4 "
        "outstanding), manual ack, prefetch 4; MiB/s = received msg/s x 16",
        mib_per_msg=16,
    ),
    "size": dict(
        title="7a. throughput against message size",
        what="1 producer, 1 consumer, auto-ack, transient; x = body size in bytes",
        unit="bytes",
    ),
    "queues": dict(
        title="7b. throughput against number of queues",
        what="N queues on 2 connections: 1 producer connection with N channels and 1 consumer "
        "connection with N channels, one queue per channel pair, 1 KB, auto-ack",
        unit="queues",
    ),
    "connections": dict(
        title="7c. cost against number of connections",
        what="N producer connections and N consumer connections (2N in all), one queue per "
        "pair, 1 KB, auto-ack, a fixed total of 10,000 msg/s (10,000/N per producer); the chart "
        "shows the broker's CPU time per delivered message at that fixed load",
        unit="connections per side",
        chart=("cpu_us", "broker CPU µs per message (median)"),
    ),
    "backlog": dict(
        title="7d. broker memory against backlog",
        what="1 producer publishes N persistent 1 KB messages to a durable queue (confirms, 1,000 "
        "outstanding) with no consumer; once the queue holds N, the broker's memory is probed: "
        "Courier's live heap after a full GC (jcmd GC.run, GC.heap_info) and each broker's RSS, "
        "against the same probe with the queue empty just before",
        unit="messages queued",
    ),
}
CURVES = ("size", "queues", "connections")

SUMMARY_RATE = re.compile(r"(sending|receiving) rate avg: ([0-9.,]+) msg/s")
SUMMARY_LAT = re.compile(r"(consumer|confirm) latency min/median/75th/95th/99th ([0-9/]+) (µs|us|ms)")


# --- reading ---------------------------------------------------------------------------------------


def read_meta(path):
    meta = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    meta[k] = v
    return meta


def parse_perftest(base):
    """Figures of one run: send/recv msg/s, latency percentiles in ms, and where they came from."""
    run = {"send": None, "recv": None, "lat": None, "confirm": None, "source": "summary"}
    try:
        with open(base + ".txt", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    for kind, value in SUMMARY_RATE.findall(text):
        run["send" if kind == "sending" else "recv"] = float(value.replace(",", ""))
    for kind, values, unit in SUMMARY_LAT.findall(text):
        scale = 1.0 if unit == "ms" else 0.001
        nums = [int(v) * scale for v in values.split("/")]
        run["lat" if kind == "consumer" else "confirm"] = dict(zip(("min", "p50", "p75", "p95", "p99"), nums))
    if run["recv"] is None:
        run.update(csv_fallback(base + ".csv"))
    return run


def csv_fallback(path):
    """Mean of the per-second rows, for a run that ended without PerfTest's summary."""
    try:
        with open(path, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return {"source": "missing"}
    if not rows:
        return {"source": "missing"}

    def mean(col):
        vals = [float(r[col]) for r in rows if r.get(col) not in (None, "")]
        return statistics.fmean(vals) if vals else None

    return {"send": mean("published (msg/s)"), "recv": mean("received (msg/s)"), "source": "csv"}


def received_total(path):
    """Messages delivered over a run: the per-second receive rates of PerfTest's CSV, integrated."""
    try:
        with open(path, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    total, last = 0.0, 0.0
    for r in rows:
        try:
            t, rate = float(r["time (s)"]), float(r["received (msg/s)"] or 0)
        except (KeyError, ValueError):
            continue
        total += rate * (t - last)
        last = t
    return total


STEADY_AFTER_S = 5


def steady_p99(path, after_s=STEADY_AFTER_S):
    """Median and worst of PerfTest's per-second consumer-latency p99 (ms) after its first seconds.

    PerfTest's whole-run percentiles include its own first seconds, when its JVM still compiles
    the code that timestamps and receives messages: on this machine the first second alone had a
    p99 of 20-30 ms against every broker, enough to set the whole-run p99 of a 20 s run. The
    per-second rows of its CSV after that show the steady state. Percentiles of different seconds
    cannot be merged into one exactly, hence their median and their worst.
    """
    try:
        with open(path, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    vals = []
    for r in rows:
        try:
            if float(r["time (s)"]) > after_s:
                vals.append(float(r["99th p. consumer latency (µs)"]) / 1000)
        except (KeyError, ValueError, TypeError):
            continue
    if not vals:
        return None
    return {"med": statistics.median(vals), "max": max(vals)}


def steady_cpu(base, hz):
    """(cores, µs per delivered message) of the broker while PerfTest was measuring.

    compare.sh samples (time, broker CPU ticks, lines in PerfTest's CSV) every 0.5 s; the window
    runs from the first sample that sees a data row to the first that sees the last one, so
    connection set-up and tear-down stay out. The receive rate is the mean of the CSV rows written
    in that window.
    """
    try:
        with open(base + ".cpu", encoding="utf-8") as f:
            samples = [tuple(float(x) for x in line.split()) for line in f if len(line.split()) == 3]
        with open(base + ".csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, ValueError):
        return None
    last_lines = max((n for _, _, n in samples), default=0)
    start = next((x for x in samples if x[2] >= 2), None)
    end = next((x for x in samples if x[2] == last_lines), None)
    if start is None or end is None or end[0] - start[0] < 1.5:
        return None
    window = rows[int(start[2]) - 1 : int(end[2]) - 1]
    rates = [float(r["received (msg/s)"]) for r in window if r.get("received (msg/s)")]
    cores = (end[1] - start[1]) / hz / (end[0] - start[0])
    rate = statistics.fmean(rates) if rates else 0
    return cores, (cores * 1e6 / rate if rate > 0 else None)


def read_runs(results):
    hz = float(read_meta(os.path.join(results, "meta.env")).get("clk_tck", 100))
    runs = []
    with open(os.path.join(results, "runs.tsv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            row.update(parse_perftest(os.path.join(results, row["file"])))
            row["round"] = int(row["round"])
            row["ok"] = row["rc"] == "0" and row["source"] == "summary"
            base = os.path.join(results, row["file"])
            row["steady"] = steady_p99(base + ".csv")
            steady = steady_cpu(base, hz)
            if steady:
                row["broker_cpu"], row["cpu_us"] = steady
            else:  # no sampler data: the whole PerfTest lifetime, set-up and tear-down included
                cpu_s, wall_s = float(row["broker_cpu_s"]), float(row["wall_s"])
                row["broker_cpu"] = cpu_s / wall_s if wall_s > 0 else None
                delivered = received_total(base + ".csv")
                row["cpu_us"] = cpu_s * 1e6 / delivered if delivered else None
            runs.append(row)
    return runs


def read_skipped(results):
    skipped = {}
    path = os.path.join(results, "skipped.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "\t" in line:
                    name, why = line.rstrip("\n").split("\t", 1)
                    skipped[name] = why
    return skipped


# --- figures ---------------------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pick(runs, scenario, point, broker):
    return sorted(
        (r for r in runs if r["scenario"] == scenario and r["point"] == point and r["broker"] == broker),
        key=lambda r: r["round"],
    )


def value(run, metric):
    """metric: send, recv, or lat.p99 style; None when the run did not report it."""
    if "." in metric:
        group, key = metric.split(".")
        return run[group][key] if run.get(group) else None
    return run[metric]


def med(runs, scenario, point, broker, metric):
    return median([value(r, metric) for r in pick(runs, scenario, point, broker)])


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def fmt_rate(v):
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def fmt_num(v, digits):
    return "—" if v is None else f"{v:.{digits}f}"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}x"


def fmt_point(scenario, p):
    if scenario == "size":
        n = int(p)
        return f"{n // 1048576} MiB" if n >= 1048576 else f"{n // 1024} KiB" if n >= 1024 else f"{n} B"
    return f"{int(p):,}"


# --- SVG -------------------------------------------------------------------------------------------


class Svg:
    """Just enough SVG for bar and line charts; text is escaped, numbers are rounded."""

    def __init__(self, width, height):
        self.w, self.h = width, height
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="middle", weight="normal", fill="#222", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{tr}>{html.escape(str(s))}</text>'
        )

    def line(self, x1, y1, x2, y2, stroke="#ccc", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{d}/>'
        )

    def rect(self, x, y, w, h, fill):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}"/>')

    def circle(self, x, y, r, fill, stroke="#fff"):
        self.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}" stroke-width="1"/>')

    def polyline(self, pts, stroke, width=2.5):
        p = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        self.add(f'<polyline points="{p}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" font-family="Helvetica, Arial, sans-serif">\n'
                f'<rect width="100%" height="100%" fill="#fff"/>\n'
            )
            f.write("\n".join(self.parts))
            f.write("\n</svg>\n")


def nice_ticks(top, count=5):
    """Round tick values from 0 to at least top."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step)
    return [i * step for i in range(n + 1)]


def short(v):
    """64.9k, 1.2M, 950: three significant digits at most."""
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def legend(svg, x, y, brokers):
    for i, b in enumerate(brokers):
        svg.rect(x + i * 120, y - 10, 12, 12, COLORS[b])
        svg.text(x + i * 120 + 18, y, NAMES[b], anchor="start", size=12)


def bar_chart(path, title, ylabel, groups, brokers, fmt=short, hline=None, hline_label=None):
    """groups: list of (label, {broker: median}, {broker: [run values]}, note-above-group)."""
    width, height = max(560, 110 * len(groups) + 140), 380
    left, right, top, bottom = 70, 20, 50, 60
    pw, ph = width - left - right, height - top - bottom
    svg = Svg(width, height)
    svg.text(width / 2, 22, title, size=15, weight="bold")
    legend(svg, left, 42, brokers)
    peak = max([v for _, meds, runs, _ in groups for v in list(meds.values()) + sum(runs.values(), []) if v]
               + [hline or 0] + [1e-9])
    ticks = nice_ticks(peak * 1.12)
    ymax = ticks[-1]

    def y(v):
        return top + ph - (v / ymax) * ph

    for t in ticks:
        svg.line(left, y(t), left + pw, y(t), stroke="#e5e5e5")
        svg.text(left - 6, y(t) + 4, fmt(t), size=11, anchor="end", fill="#555")
    svg.text(16, top + ph / 2, ylabel, size=12, rotate=-90, fill="#555")
    svg.line(left, top + ph, left + pw, top + ph, stroke="#888")
    gw = pw / max(len(groups), 1)
    bw = min(38, gw * 0.7 / max(len(brokers), 1))
    for gi, (label, meds, runs, note) in enumerate(groups):
        cx = left + gw * (gi + 0.5)
        x0 = cx - bw * len(brokers) / 2
        for bi, b in enumerate(brokers):
            x = x0 + bi * bw
            v = meds.get(b)
            if v is not None:
                svg.rect(x + 1, y(v), bw - 2, top + ph - y(v), COLORS[b])
                # above the bar and above any run's dot
                label_top = min([y(v)] + [y(rv) - 3 for rv in runs.get(b, []) if rv is not None])
                svg.text(x + bw / 2, label_top - 4, fmt(v), size=10, fill="#333")
            for rv in runs.get(b, []):
                if rv is not None:
                    svg.circle(x + bw / 2, y(rv), 2.6, "#111")
        svg.text(cx, top + ph + 18, label, size=12)
        if note:
            svg.text(cx, top + ph + 34, note, size=11, weight="bold", fill="#333")
    if hline is not None:
        svg.line(left, y(hline), left + pw, y(hline), stroke="#c53030", width=1.5, dash="6,4")
        # explained in the legend row, where no bar can hide it
        lx = left + 120 * len(brokers) + 10
        svg.line(lx, 38, lx + 24, 38, stroke="#c53030", width=1.5, dash="6,4")
        svg.text(lx + 30, 42, hline_label or "", size=12, anchor="start", fill="#c53030")
    svg.text(left, height - 8, "bars: median of the runs; dots: single runs", size=10, anchor="start", fill="#777")
    svg.write(path)


def line_chart(path, title, xlabel, ylabel, xs, series, brokers):
    """xs: labels of equally spaced points; series: {broker: [median or None per x]}."""
    width, height = 640, 380
    left, right, top, bottom = 80, 30, 50, 60
    pw, ph = width - left - right, height - top - bottom
    svg = Svg(width, height)
    svg.text(width / 2, 22, title, size=15, weight="bold")
    legend(svg, left, 42, brokers)
    vals = [v for b in brokers for v in series.get(b, []) if v]
    if not vals:
        vals = [1]
    lo, hi = min(vals), max(vals)
    log_scale = lo > 0 and hi / lo > 20
    if log_scale:
        e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        e1 = max(e1, e0 + 1)
        ticks = [10**e for e in range(e0, e1 + 1)]

        def y(v):
            return top + ph - (math.log10(v) - e0) / (e1 - e0) * ph
    else:
        ticks = nice_ticks(hi * 1.12)

        def y(v):
            return top + ph - v / ticks[-1] * ph

    for t in ticks:
        svg.line(left, y(t), left + pw, y(t), stroke="#e5e5e5")
        svg.text(left - 6, y(t) + 4, short(t), size=11, anchor="end", fill="#555")
    svg.text(18, top + ph / 2, ylabel + (" (log scale)" if log_scale else ""), size=12, rotate=-90, fill="#555")
    svg.line(left, top + ph, left + pw, top + ph, stroke="#888")

    def x(i):
        return left + pw * (i + 0.5) / len(xs)

    for i, label in enumerate(xs):
        svg.line(x(i), top + ph, x(i), top + ph + 4, stroke="#888")
        svg.text(x(i), top + ph + 18, label, size=11)
    svg.text(left + pw / 2, height - 14, xlabel, size=12, fill="#555")
    for b in brokers:
        pts = [(x(i), y(v)) for i, v in enumerate(series.get(b, [])) if v]
        if len(pts) > 1:
            svg.polyline(pts, COLORS[b])
        for px, py in pts:
            svg.circle(px, py, 4, COLORS[b])
        for i, v in enumerate(series.get(b, [])):
            if v:
                # the higher of the two points at this x gets its label above, the lower below
                others = [series[o][i] for o in brokers if o != b and i < len(series.get(o, [])) and series[o][i]]
                above = all(v >= o for o in others) if b == "courier" else all(v > o for o in others)
                label = short(round(v)) if v >= 10 else f"{v:.2g}"
                ly = y(v) + (-9 if above else 17)
                if ly > top + ph - 3:  # would sit on the axis: put it above the point instead
                    ly = y(v) - 9
                svg.text(x(i), ly, label, size=10, fill=COLORS[b])
    svg.write(path)


# --- Markdown --------------------------------------------------------------------------------------


def run_label(r):
    return f"{LETTERS[r['broker']]}{r['round']}"


def lat_cell(r, group="lat"):
    lat = r.get(group)
    if not lat:
        return "—"
    return f"{fmt_ms(lat['p50'])} / {fmt_ms(lat['p95'])} / {fmt_ms(lat['p99'])}"


def backlogged(r):
    """The run ended with more than a second's worth of its own deliveries still queued."""
    recv = value(r, "recv")
    return r["leftover"].isdigit() and recv is not None and int(r["leftover"]) > max(recv, 1)


def mark(r):
    return " †" if backlogged(r) else ""


def pick_all(runs, scenario):
    return [r for r in runs if r["scenario"] == scenario]


def backlog_note(runs):
    if not any(backlogged(r) for r in runs):
        return []
    return ["† ended with more than one second of its own deliveries still queued: the producers "
            "outran the consumers, and the rate is that of a broker with a growing backlog (RabbitMQ's "
            "delivery rate in particular drops steeply once its queue grows), not its steady capacity.", ""]


def status(r):
    if r["ok"]:
        return ""
    if r["source"] == "csv":
        return f" (PerfTest exit {r['rc']}, no summary: rates from its CSV)"
    if r["source"] == "missing":
        return f" (failed: PerfTest exit {r['rc']}, no figures)"
    return f" (PerfTest exit {r['rc']})"


def scenario_runs_in_order(runs, scenario, point, brokers):
    """A1 B1 A2 B2 ..., the order in which they ran."""
    out = []
    rounds = sorted({r["round"] for r in runs if r["scenario"] == scenario and r["point"] == point})
    for rnd in rounds:
        for b in brokers:
            out += [r for r in pick(runs, scenario, point, b) if r["round"] == rnd]
    return out


def single_scenario_md(runs, s, brokers, args_of):
    sc = SCENARIOS[s]
    both = len(brokers) == 2
    lines = [f"#### {sc['title']}", "", sc["what"] + f". PerfTest: `{args_of(s, '-')}`", ""]
    fan = s == "fanout"
    conf = s in ("durable", "competing", "latency", "quorum", "quorum3", "large")
    head = ["run", "broker", "in: sent msg/s" if fan else "sent msg/s", "out: received msg/s" if fan else "received msg/s",
            "consumer latency p50 / p95 / p99 ms"]
    if conf:
        head.append("confirm latency p50 / p95 / p99 ms")
    steady = s == "latency"
    if steady:
        head.append(f"per-second consumer p99 after {STEADY_AFTER_S} s: median / worst ms")
    head += ["broker CPU cores / µs per msg", "left in queue(s)", "load before"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in scenario_runs_in_order(runs, s, "-", brokers):
        cells = [run_label(r), NAMES[r["broker"]] + status(r), fmt_rate(value(r, "send")),
                 fmt_rate(value(r, "recv")) + mark(r), lat_cell(r)]
        if conf:
            cells.append(lat_cell(r, "confirm"))
        if steady:
            cells.append(f"{fmt_ms(value(r, 'steady.med'))} / {fmt_ms(value(r, 'steady.max'))}")
        cells += [f"{fmt_num(r['broker_cpu'], 2)} / {fmt_num(r['cpu_us'], 1)}",
                  f"{int(r['leftover']):,}" if r["leftover"].isdigit() else r["leftover"], r.get("load1", "")]
        lines.append("| " + " | ".join(cells) + " |")
    for b in brokers:
        cells = ["**median**", f"**{NAMES[b]}**", f"**{fmt_rate(med(runs, s, '-', b, 'send'))}**",
                 f"**{fmt_rate(med(runs, s, '-', b, 'recv'))}**",
                 " / ".join(fmt_ms(med(runs, s, "-", b, f"lat.{k}")) for k in ("p50", "p95", "p99"))]
        if conf:
            cells.append(" / ".join(fmt_ms(med(runs, s, "-", b, f"confirm.{k}")) for k in ("p50", "p95", "p99")))
        if steady:
            cells.append(f"{fmt_ms(med(runs, s, '-', b, 'steady.med'))} / {fmt_ms(med(runs, s, '-', b, 'steady.max'))}")
        cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += backlog_note(pick_all(runs, s))
    if both:
        lines.append(verdict_line(runs, s))
        lines.append("")
    return lines


def headline(runs, s):
    """(metric label, Courier median, RabbitMQ median, ratio text, target text, met or None)."""
    sc = SCENARIOS[s]
    if s == "latency":
        a, b = med(runs, s, "-", "courier", "lat.p99"), med(runs, s, "-", "rabbitmq", "lat.p99")
        rt = ratio(b, a)
        met = None if a is None else a < sc["target_ms"]
        return ("consumer latency p99", f"{fmt_ms(a)} ms", f"{fmt_ms(b)} ms",
                "—" if rt is None else f"{rt:.1f}x lower", f"p99 < {sc['target_ms']:g} ms", met)
    a, b = med(runs, s, "-", "courier", "recv"), med(runs, s, "-", "rabbitmq", "recv")
    rt = ratio(a, b)
    if "mib_per_msg" in sc:
        mib = lambda v: "—" if v is None else f"{v * sc['mib_per_msg']:,.0f} MiB/s ({v:,.1f} msg/s)"
        return ("received MiB/s", mib(a), mib(b), fmt_ratio(rt), "none set", None)
    met = None if rt is None else rt >= sc["target"]
    label = "out: received msg/s" if s == "fanout" else "received msg/s"
    return (label, fmt_rate(a), fmt_rate(b), fmt_ratio(rt), f">= {sc['target']:g}x", met)


def verdict_line(runs, s):
    label, a, b, rt, target, met = headline(runs, s)
    word = "—" if met is None else "met" if met else "**not met**"
    extra = ""
    if s == "fanout":
        ai, bi = med(runs, s, "-", "courier", "send"), med(runs, s, "-", "rabbitmq", "send")
        extra = f"; in (published): {fmt_rate(ai)} against {fmt_rate(bi)} msg/s, {fmt_ratio(ratio(ai, bi))}"
    if s == "latency":
        sa, sb = med(runs, s, "-", "courier", "steady.med"), med(runs, s, "-", "rabbitmq", "steady.med")
        return (f"Courier p99 {a} against RabbitMQ {b} ({rt}); target {target}: {word}. After PerfTest's"
                f" first {STEADY_AFTER_S} s (its own JIT warm-up) the per-second p99 was {fmt_ms(sa)} ms"
                f" against {fmt_ms(sb)} ms (medians).")
    return f"Courier/RabbitMQ ({label}, medians): **{rt}**{extra}; target {target}: {word}."


def curve_md(runs, s, brokers, args_of):
    sc = SCENARIOS[s]
    pts = sorted({r["point"] for r in runs if r["scenario"] == s}, key=int)
    lines = [f"#### {sc['title']}", "", sc["what"] + f". PerfTest at N = {pts[-1] if pts else 'N'}: `{args_of(s, pts[-1] if pts else 'N')}`", ""]
    head = ["x"]
    for b in brokers:
        head += [f"{NAMES[b]} runs (msg/s)", f"{NAMES[b]} median"]
    if s == "size":
        head += [f"{NAMES[b]} MB/s" for b in brokers]
    ratio_column = len(brokers) == 2 and s != "connections"  # a fixed offered load: compare CPU instead
    if ratio_column:
        head.append("Courier/RabbitMQ")
    if s == "connections":
        head += [f"{NAMES[b]} p99 latency ms" for b in brokers] + [f"{NAMES[b]} CPU µs/msg" for b in brokers]
    nrounds = max((r["round"] for r in runs if r["scenario"] == s), default=1)
    head.append("left in queues, " + " ".join(f"{LETTERS[b]}{i}" for i in range(1, nrounds + 1) for b in brokers))
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for p in pts:
        cells = [fmt_point(s, p)]
        for b in brokers:
            rs = pick(runs, s, p, b)
            cells.append(", ".join(fmt_rate(value(r, "recv")) + mark(r) + status(r) for r in rs))
            cells.append(f"**{fmt_rate(med(runs, s, p, b, 'recv'))}**")
        if s == "size":
            for b in brokers:
                m = med(runs, s, p, b, "recv")
                cells.append("—" if m is None else f"{m * int(p) / 1e6:,.1f}")
        if ratio_column:
            cells.append(fmt_ratio(ratio(med(runs, s, p, "courier", "recv"), med(runs, s, p, "rabbitmq", "recv"))))
        if s == "connections":
            cells += [fmt_ms(med(runs, s, p, b, "lat.p99")) for b in brokers]
            cells += [fmt_num(med(runs, s, p, b, "cpu_us"), 1) for b in brokers]
        cells.append(", ".join(r["leftover"] for r in scenario_runs_in_order(runs, s, p, brokers)))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += backlog_note(pick_all(runs, s))
    return lines


def kib(run, key):
    v = run.get(key)
    return float(v) if v not in (None, "", "-") else None


def per_message(run, what):
    """Bytes of broker memory per queued message in a backlog run: (after - before) / N."""
    before, after = kib(run, f"{what}_before_kb"), kib(run, f"{what}_after_kb")
    if before is None or after is None:
        return None
    return (after - before) * 1024 / int(run["point"])


def backlog_series(runs, brokers, what):
    pts = sorted({r["point"] for r in runs if r["scenario"] == "backlog"}, key=int)
    return pts, {b: [median([per_message(r, what) for r in pick(runs, "backlog", p, b)]) for p in pts] for b in brokers}


def backlog_md(runs, brokers, args_of):
    sc = SCENARIOS["backlog"]
    pts = sorted({r["point"] for r in runs if r["scenario"] == "backlog"}, key=int)
    lines = [f"#### {sc['title']}", "", sc["what"] + f". PerfTest at N = {pts[-1] if pts else 'N'}: "
             f"`{args_of('backlog', pts[-1] if pts else 'N')}`", ""]
    head = ["N queued", "Courier heap after GC, MiB (empty → N)", "Courier heap bytes per message",
            "Courier RSS bytes per message"]
    if "rabbitmq" in brokers:
        head += ["RabbitMQ RSS, MiB (empty → N)", "RabbitMQ RSS bytes per message"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]

    def mib(v):
        return "—" if v is None else f"{v / 1024:,.0f}"

    for p in pts:
        c = pick(runs, "backlog", p, "courier")
        cells = [f"{int(p):,}",
                 ", ".join(f"{mib(kib(r, 'heap_before_kb'))} → {mib(kib(r, 'heap_after_kb'))}" for r in c),
                 fmt_num(median([per_message(r, "heap") for r in c]), 0),
                 fmt_num(median([per_message(r, "rss") for r in c]), 0)]
        if "rabbitmq" in brokers:
            rb = pick(runs, "backlog", p, "rabbitmq")
            cells += [", ".join(f"{mib(kib(r, 'rss_before_kb'))} → {mib(kib(r, 'rss_after_kb'))}" for r in rb),
                      fmt_num(median([per_message(r, "rss") for r in rb]), 0)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Courier keeps the first `queue_memory_window` (10,000) messages of a queue in memory with "
              "their bodies and the rest as index entries; RSS of a JVM also reflects heap it grew earlier "
              "and has not returned, so the heap column is the one that measures the per-message cost.", ""]
    return lines


def make_args_of(results, runs):
    """The PerfTest arguments of a scenario, read back from a run's console output."""

    def args_of(s, p):
        for r in runs:
            if r["scenario"] == s and r["point"] == p:
                try:
                    with open(os.path.join(results, r["file"] + ".args"), encoding="utf-8") as f:
                        return f.read().strip()
                except OSError:
                    return "(arguments not recorded)"
        return ""

    return args_of


def render(results, svg_dir, svg_rel, meta, runs, skipped):
    present = [b for b in BROKERS if any(r["broker"] == b for r in runs)] or ["courier"]
    both = len(present) == 2
    stamp = os.path.basename(os.path.normpath(results))
    prefix = meta.get("date", stamp)[:10] + "-" + stamp.split("-")[-1][:4]
    args_of = make_args_of(results, runs)
    scen = [s for s in SCENARIOS if s not in CURVES and s != "backlog" and any(r["scenario"] == s for r in runs)]
    curves = [s for s in CURVES if any(r["scenario"] == s for r in runs)]
    charts = []

    # charts
    groups = []
    for s in scen:
        if s == "latency":
            continue
        metrics = [("send", "fanout in"), ("recv", "fanout out")] if s == "fanout" else [("recv", s)]
        for metric, label in metrics:
            meds = {b: med(runs, s, "-", b, metric) for b in present}
            vals = {b: [value(r, metric) for r in pick(runs, s, "-", b)] for b in present}
            note = fmt_ratio(ratio(meds.get("courier"), meds.get("rabbitmq"))) if both else ""
            groups.append((label, meds, vals, note))
    if groups:
        name = f"{prefix}-scenarios.svg"
        bar_chart(os.path.join(svg_dir, name), "Receive rate by scenario (PerfTest, same machine)",
                  "msg/s", groups, present)
        charts.append(("Receive rate by scenario", name))
    if "latency" in scen:
        lgroups = []
        for k in ("p50", "p75", "p95", "p99"):
            meds = {b: med(runs, "latency", "-", b, f"lat.{k}") for b in present}
            vals = {b: [value(r, f"lat.{k}") for r in pick(runs, "latency", "-", b)] for b in present}
            lgroups.append((k, meds, vals, ""))
        name = f"{prefix}-latency.svg"
        bar_chart(os.path.join(svg_dir, name), "Consumer latency at 1,000 msg/s, durable (lower is better)",
                  "ms", lgroups, present, fmt=lambda v: f"{v:.2g}",
                  hline=SCENARIOS["latency"]["target_ms"], hline_label="Courier target: p99 < 2 ms")
        charts.append(("Consumer latency at 1,000 msg/s", name))
    for s in curves:
        pts = sorted({r["point"] for r in runs if r["scenario"] == s}, key=int)
        metric, ylabel = SCENARIOS[s].get("chart", ("recv", "received msg/s (median)"))
        series = {b: [med(runs, s, p, b, metric) for p in pts] for b in present}
        name = f"{prefix}-{s}.svg"
        line_chart(os.path.join(svg_dir, name), SCENARIOS[s]["title"].split(". ", 1)[1].capitalize(),
                   SCENARIOS[s]["unit"], ylabel, [fmt_point(s, p) for p in pts], series, present)
        charts.append((SCENARIOS[s]["title"], name))

    if any(r["scenario"] == "backlog" for r in runs):
        pts, heap = backlog_series(runs, ["courier"], "heap")
        _, rss = backlog_series(runs, present, "rss")
        series = {"courier": heap["courier"]}
        if "rabbitmq" in present:
            series["rabbitmq"] = rss["rabbitmq"]
        name = f"{prefix}-backlog.svg"
        line_chart(os.path.join(svg_dir, name),
                   "Memory per queued message (Courier heap, RabbitMQ RSS)",
                   SCENARIOS["backlog"]["unit"], "bytes per message (median)",
                   [fmt_point("backlog", p) for p in pts], series, present)
        charts.append((SCENARIOS["backlog"]["title"], name))

    # text
    rounds = meta.get("rounds", "?")
    courier = f"Courier {meta.get('courier', '?')}"
    rabbit = f"RabbitMQ {meta.get('rabbitmq', '')}"
    title = f"### {meta.get('date', stamp)} — " + (f"{courier} against {rabbit}" if both else f"{courier} alone")
    out = [title, ""]
    order = " ".join(f"A{i} B{i}" if both else f"A{i}" for i in range(1, int(rounds) + 1)) if rounds.isdigit() else "?"
    timing = f"{meta.get('duration', '?')} s per scenario run"
    if curves:
        timing += f", {meta.get('curve_duration', '?')} s per curve point"
    if meta.get("warmup", "0") != "0":
        timing += f", after a discarded {meta['warmup']} s warm-up per scenario and broker"
    if meta.get("cluster_warmup", "0") != "0":
        timing += f" ({meta['cluster_warmup']} s on each fresh three-node cluster)"
    out += [
        f"- Command: `{meta.get('command', 'bench/compare.sh')}`; order {order}"
        + (" (A = Courier, B = RabbitMQ)" if both else "") + f"; {timing}.",
        f"- Machine: {meta.get('nproc', '?')} cores, {meta.get('mem_total', '?')}, {meta.get('os', '?')}, "
        f"OpenJDK {meta.get('java', '?')}; load average (1/5/15 min) {meta.get('loadavg_start', '?')} at the "
        f"start and {meta.get('loadavg_end', '?')} at the end. PerfTest {meta.get('perftest', '')} runs on the "
        "same machine: load generator and broker share the cores.",
        f"- {courier}: `./courier server` defaults"
        + (f" plus `{meta['courier_sets']}`" if meta.get("courier_sets") else ", so fsync before every confirm")
        + f" (JVM options: {meta.get('courier_java_opts', '?')})."
        + (f" {rabbit} on Erlang/OTP {meta.get('erlang', '?')}: Debian package, default configuration (it "
           "confirms persistent messages without fsync)." if both else ""),
        "- Rates are PerfTest's whole-run averages, latencies its whole-run percentiles. Broker CPU is the "
        "broker process's CPU time (user + system) while PerfTest measured (sampled every 0.5 s, "
        "connection set-up and tear-down left out), in cores and in µs per delivered message. "
        "\"load before\" is the "
        "1-minute load average as the run started: other work on the machine shows there.",
        "",
    ]
    if both and scen:
        out += ["| scenario | metric | Courier (median) | RabbitMQ (median) | ratio | target | met |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in scen:
            label, a, b, rt, target, met = headline(runs, s)
            out.append(f"| {SCENARIOS[s]['title']} | {label} | {a} | {b} | **{rt}** | {target} | "
                       f"{'—' if met is None else 'yes' if met else 'no'} |")
        for s, why in skipped.items():
            out.append(f"| {SCENARIOS.get(s, {}).get('title', s)} | skipped | — | — | — | "
                       f"{'>= %gx' % SCENARIOS[s]['target'] if 'target' in SCENARIOS.get(s, {}) else ''} | — |")
        out.append("")
    for s, why in skipped.items():
        out += [f"{SCENARIOS.get(s, {}).get('title', s)}: **skipped** — {why}", ""]
    for label, name in charts:
        out += [f"![{label}]({svg_rel}{name})", ""]
    for s in scen:
        out += single_scenario_md(runs, s, present, args_of)
    for s in curves:
        out += curve_md(runs, s, present, args_of)
    if any(r["scenario"] == "backlog" for r in runs):
        out += backlog_md(runs, present, args_of)
    failed = [r for r in runs if not r["ok"]]
    if failed:
        out += ["Runs without a PerfTest summary: " + ", ".join(
            f"{r['scenario']}{'' if r['point'] == '-' else ' ' + r['point']} {run_label(r)} (exit {r['rc']})" for r in failed) + ".", ""]
    return "\n".join(out), charts


USAGE = """## Side by side with RabbitMQ: `bench/compare.sh`

`bench/compare.sh` runs RabbitMQ PerfTest against Courier and RabbitMQ on this machine, alternating
A B A B, and inserts a dated section below with tables and SVG charts (see the script's `--help`).

"""


def insert_into_docs(docs, section):
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    if MARKER not in text:
        text = text.rstrip("\n") + "\n\n" + USAGE + MARKER + "\n"
    head, tail = text.split(MARKER, 1)
    text = head + MARKER + "\n\n" + section.rstrip("\n") + "\n" + tail
    with open(docs, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--docs", help="Markdown file to insert the section into")
    ap.add_argument("--svg-dir", help="directory for the charts (with --docs)")
    a = ap.parse_args()
    meta = read_meta(os.path.join(a.results, "meta.env"))
    runs = read_runs(a.results)
    skipped = read_skipped(a.results)
    if not runs and not skipped:
        sys.exit("report: no runs in " + a.results)
    if a.docs:
        svg_dir = a.svg_dir or os.path.join(os.path.dirname(a.docs), "bench")
        svg_rel = os.path.relpath(svg_dir, os.path.dirname(os.path.abspath(a.docs))) + "/"
    else:
        svg_dir, svg_rel = a.results, ""
    os.makedirs(svg_dir, exist_ok=True)
    section, charts = render(a.results, svg_dir, svg_rel, meta, runs, skipped)
    with open(os.path.join(a.results, "report.md"), "w", encoding="utf-8") as f:
        f.write(section + "\n")
    if a.docs:
        insert_into_docs(a.docs, section)
    print(section)
    print(f"report: {len(runs)} runs, charts: {', '.join(os.path.join(svg_dir, c) for _, c in charts)}", file=sys.stderr)


if __name__ == "__main__":
    main()
