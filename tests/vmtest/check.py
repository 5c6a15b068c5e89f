#!/usr/bin/env python3
"""Compare lockhound's answer on one matrix dump with the dump's truth.json.

    check.py --truth truth.json --analyze analyze.json --bt bt.txt [--out result.json]

analyze.json is `lockhound analyze --format json`, bt.txt is `lockhound bt --state D`
on the same dump, in the same mode. Checks, each PASS or FAIL with the difference:

  analyze   the JSON could be read
  locks     the contended locks, by address and type, exactly those of the truth
  holders   per lock: the holders' (pid, mode), as a set
  waiters   per lock: the waiters' (pid, mode) in queue order; as a set where the
            truth has no order (PREEMPT_RT rbtree: queue_pos null)
  cycles    the deadlock cycles, each as a set of pids
  root      every part of the wait-for graph has its root-cause pid among
            lockhound's root causes, and lockhound names no other root
  bt        the backtrace of every blocked task contains every frame of the
            guest's /proc/PID/stack (name+offset/size, module frames included)

Prints one line per check; the result JSON has {"checks": {name: {"ok", "why"}}}.
"""
import argparse
import json
import re
import sys

MODE = {"excl": "exclusive", "exclusive": "exclusive", "read": "read", "write": "write"}
FRAME = re.compile(r"([A-Za-z_.$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+)")


def lock_type(t):
    t = t.lower()
    if "rw" in t:
        return "rwsem"
    if "sem" in t:
        return "semaphore"
    if "mutex" in t:
        return "mutex"
    return t


def short(items, n=6):
    items = list(items)
    s = ", ".join(str(i) for i in items[:n])
    return s + (", ..." if len(items) > n else "")


def parse_bt(text):
    """lockhound bt output -> {pid: [frame, ...]}"""
    out, pid = {}, None
    for ln in text.splitlines():
        m = re.match(r"PID:\s*(\d+)", ln)
        if m:
            pid = int(m.group(1))
            out[pid] = []
            continue
        if pid is not None:
            out[pid].extend(FRAME.findall(ln))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", required=True)
    ap.add_argument("--analyze", required=True)
    ap.add_argument("--bt", required=True)
    ap.add_argument("--out")
    a = ap.parse_args()
    truth = json.load(open(a.truth))
    checks = {}

    def put(name, ok, why=""):
        checks[name] = {"ok": bool(ok), "why": why}

    try:
        lh = json.load(open(a.analyze))
        put("analyze", True)
    except (OSError, ValueError) as e:
        lh = {}
        put("analyze", False, "no JSON from lockhound analyze: %s" % e)

    tl = {(l["addr"].lower(), l["type"]): l for l in truth["locks"]}
    ll = {}
    for l in lh.get("locks", []):
        ll[(l.get("address", "").lower(), lock_type(l.get("type", "")))] = l
    missing = sorted(set(tl) - set(ll))
    extra = sorted(set(ll) - set(tl))
    why = []
    if missing:
        why.append("not found: " + short("%s %s (%s)" % (t, ad, tl[(ad, t)]["name"]) for ad, t in missing))
    if extra:
        why.append("not in the truth: " + short("%s %s" % (t, ad) for ad, t in extra))
    put("locks", not missing and not extra, "; ".join(why))

    hwhy, wwhy = [], []
    for key, t in tl.items():
        l = ll.get(key)
        if l is None:
            hwhy.append("%s: lock not found" % t["name"])
            wwhy.append("%s: lock not found" % t["name"])
            continue
        th = sorted((h["pid"], MODE.get(h["mode"], h["mode"])) for h in t["holders"])
        lhh = sorted((h["pid"], MODE.get(h.get("mode"), h.get("mode"))) for h in l.get("holders", []))
        if th != lhh:
            hwhy.append("%s: holders %s, truth %s" % (t["name"], lhh, th))
        tw = [(w["pid"], MODE.get(w["mode"], w["mode"])) for w in t["waiters"]]
        lw = [(w["pid"], MODE.get(w.get("mode"), w.get("mode")))
              for w in sorted(l.get("waiters", []), key=lambda w: w.get("queue_pos", 0))]
        unordered = any(w.get("queue_pos") is None for w in t["waiters"])
        if (sorted(tw) != sorted(lw)) if unordered else (tw != lw):
            wwhy.append("%s: waiters %s, truth %s%s" % (t["name"], lw, tw, " (as a set)" if unordered else ""))
    put("holders", not hwhy, "; ".join(hwhy))
    put("waiters", not wwhy, "; ".join(wwhy))

    tc = sorted(sorted(c) for c in truth.get("cycles", []))
    lc = sorted(sorted(c.get("pids", [])) for c in lh.get("cycles", []))
    put("cycles", tc == lc, "" if tc == lc else "cycles %s, truth %s" % (lc, tc))

    roots = truth.get("root_causes") or ([truth["root_cause"]] if truth.get("root_cause") else [])
    allowed = set()
    for r in roots:
        allowed.add(r["pid"])
        allowed.update(o["pid"] for o in r.get("other_root_holders", []))
        allowed.update(r.get("cycle", []))
    lr = [r.get("pid") for r in lh.get("root_causes", [])]
    miss = [r["pid"] for r in roots if r["pid"] not in lr and not (set(r.get("cycle", [])) & set(lr))]
    bad = [p for p in lr if p not in allowed]
    why = []
    if miss:
        why.append("root cause(s) not named: %s" % miss)
    if bad:
        why.append("named as root but not one: %s" % bad)
    put("root", not miss and not bad, "; ".join(why))

    try:
        bt = parse_bt(open(a.bt, errors="replace").read())
    except OSError as e:
        bt = {}
        put("bt", False, "no bt output: %s" % e)
    if "bt" not in checks:
        bwhy = []
        for b in truth["blocked_tasks"]:
            want = [f for f in (FRAME.findall(x) for x in b["stack"]) for f in f]
            got = set(bt.get(b["pid"], []))
            lost = [f for f in want if f not in got]
            if b["pid"] not in bt:
                bwhy.append("pid %d: no backtrace" % b["pid"])
            elif lost:
                bwhy.append("pid %d (%s): missing %s" % (b["pid"], b["comm"], short(lost, 3)))
        put("bt", not bwhy, "; ".join(bwhy[:6]) + (" (+%d more)" % (len(bwhy) - 6) if len(bwhy) > 6 else ""))

    for name, c in checks.items():
        print("  %-8s %s%s" % (name, "ok" if c["ok"] else "FAIL", "" if c["ok"] else ": " + c["why"]))
    if a.out:
        json.dump({"checks": checks}, open(a.out, "w"), indent=1)
    return 0 if all(c["ok"] for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
