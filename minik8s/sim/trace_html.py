"""The HTML timeline: one page, one lane per component, one row per step.

What a student opens to understand a failing run. It is the swimlane diagram a
course draws on the board for "how a Deployment rolls out" — user, scheduler,
controller-manager, each kubelet side by side, time going down — but drawn from a
real (simulated) run: every write with its result, every crash, restart and fault,
and, if asked, every watch event delivered. Rows are the harness's steps; a row
starts with the simulated time, and a new instant is marked. Writes that failed are
red, crashes black, faults orange, node events blue; heartbeats (Leases, Node
status, Events) can be hidden with a checkbox (CSS only: the page is self-contained,
no script at all, so it can be attached to a bug report or a grade).
"""
from __future__ import annotations

import html
from collections import Counter

from .trace import CRASH, DELIVERY, FAULT, NODE, READ, RESTART, STORE, WRITE

# Lanes of the harness first, then the control plane, then the nodes.
FIRST_LANES = ("user", "faults", "harness", "pod-monkey", "apiserver", "scheduler")

CSS = """
body { font: 13px/1.35 system-ui, sans-serif; margin: 1em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.summary { color: #555; margin-bottom: .6em; }
table { border-collapse: collapse; }
th { position: sticky; top: 0; background: #eef; border-bottom: 2px solid #99b;
     padding: 4px 6px; text-align: left; white-space: nowrap; z-index: 1; }
td { border-left: 1px solid #ddd; vertical-align: top; padding: 2px 5px;
     min-width: 9em; max-width: 30em; }
td.when { white-space: nowrap; color: #666; font-family: monospace; min-width: 0; }
tr.instant td { border-top: 2px solid #bbc; }
.ev { font-family: monospace; font-size: 12px; white-space: nowrap; overflow: hidden;
      text-overflow: ellipsis; }
.ok { color: #1a5e1a; } .err { color: #b00; font-weight: bold; }
.crash { background: #222; color: #fff; padding: 0 3px; }
.restart { background: #dfd; } .fault { background: #fd9; } .node { background: #cdf; }
.event { color: #888; } .read { color: #557; } .hb { opacity: .55; }
#hidehb:checked ~ table .hb { display: none; }
#hideev:checked ~ table .event { display: none; }
.legend span { margin-right: 1em; padding: 0 3px; }
"""


def lanes_of(events) -> list:
    seen = {e.component for e in events}
    first = [c for c in FIRST_LANES if c in seen]
    control = sorted(c for c in seen if c not in FIRST_LANES and not c.startswith("kubelet/"))
    nodes = sorted((c for c in seen if c.startswith("kubelet/")), key=_node_order)
    return first + control + nodes


def _node_order(name: str):
    # node-2 before node-10
    base, _, num = name.rpartition("-")
    return (base, int(num)) if num.isdigit() else (name, 0)


def _css_class(e) -> str:
    if e.kind in (WRITE, READ):
        cls = "err" if e.result != "ok" else ("read" if e.kind == READ else "ok")
        return cls + (" hb" if e.kind == WRITE and e.is_heartbeat() else "")
    return {CRASH: "crash", RESTART: "restart", FAULT: "fault", NODE: "node",
            STORE: "node", DELIVERY: "event"}.get(e.kind, "")


def _label(e) -> str:
    if e.kind in (WRITE, READ):
        text = f"{e.verb} {e.resource} {e.object}"
        return text if e.result == "ok" else f"{text} → {e.result}"
    if e.kind == DELIVERY:
        return f"⇐ {e.verb} {e.resource} {e.object} rv={e.rv}"
    return " ".join(x for x in (e.kind.upper(), e.verb, e.detail) if x)


def render(events, *, title: str = "minik8s simulation") -> str:
    events = list(events)
    lanes = lanes_of(events)
    column = {lane: i for i, lane in enumerate(lanes)}
    counts = Counter(e.kind for e in events)
    failed = sum(1 for e in events if e.failed)
    end = events[-1].time if events else 0.0
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>",
           f"<div class='summary'>{len(events)} events up to step "
           f"{events[-1].step if events else 0}, t={end:.3f}s simulated: "
           f"{counts[WRITE]} writes ({failed} failed), {counts[CRASH]} crashes, "
           f"{counts[RESTART]} restarts, {counts[FAULT]} fault switches, "
           f"{counts[NODE]} node events, {counts[DELIVERY]} watch events shown</div>",
           "<input type='checkbox' id='hidehb'><label for='hidehb'> hide heartbeats"
           " (Leases, Node status, Events)</label> "
           "<input type='checkbox' id='hideev'><label for='hideev'> hide watch events"
           "</label>",
           "<div class='legend'><span class='ok'>write ok</span><span class='err'>"
           "write failed</span><span class='crash'>crash</span><span class='restart'>"
           "restart</span><span class='fault'>fault</span><span class='node'>node"
           "</span><span class='event'>watch event delivered</span></div>",
           "<table><thead><tr><th>step / t</th>"
           + "".join(f"<th>{html.escape(lane)}</th>" for lane in lanes)
           + "</tr></thead><tbody>"]
    at = None
    for row in _rows(events):
        first = row[0]
        instant = first.time != at
        at = first.time
        cells = [[] for _ in lanes]
        for e in row:
            cells[column[e.component]].append(
                f"<div class='ev {_css_class(e)}' title='{html.escape(e.line(), quote=True)}'>"
                f"{html.escape(_label(e))}</div>")
        out.append(f"<tr{' class=instant' if instant else ''}><td class='when'>"
                   f"#{first.step}<br>{first.time:.3f}s</td>"
                   + "".join(f"<td>{''.join(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table></body></html>")
    return "\n".join(out)


def _rows(events) -> list:
    """Consecutive events of the same step and instant share a row."""
    rows: list = []
    for e in events:
        if rows and rows[-1][0].step == e.step and rows[-1][0].time == e.time:
            rows[-1].append(e)
        else:
            rows.append([e])
    return rows
