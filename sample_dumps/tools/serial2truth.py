#!/usr/bin/env python3
"""Turn the sample guest's serial log into truth.json.

    serial2truth.py --serial LOG --scenario NAME --outdir DIR
                    [--file NAME=WHAT ...] [--prov KEY=VALUE ...]
                    [--timing KEY=SECONDS ...] [--mem MIB] [--smp N]
                    [--cmdline STR] > truth.json

Sources inside the log (see guest/init and module/lhsample.c):
  LHS-TASKS-BEGIN..END   every task in D with tgid, wchan and /proc/PID/stack,
                         read in the guest right before the dump
  LHS-DMESG-BEGIN..END   the kernel log; its "lhs: " lines are the module's
                         LOCK / WANT / GOT / STUCK / FAULT / RAW / QUEUE facts
  LHS-FACTS-BEGIN..END   userspace facts (mapuser, init's reader processes)

holders = GOT lines (printed right after the lock call returned; for the
          mmap_lock, by the fault handler that runs under it)
waiters = QUEUE lines (the module's walk of the real wait list, in kernel
          queue order, taken under the lock's wait_lock before the dump);
          where the module cannot walk them (PREEMPT_RT's rt_mutex rbtree,
          QUEUE-END order=set) the set of tasks that announced the call and
          never returned, each verified asleep in D (queue_pos null)
Several disjoint scenarios may share one guest (--scenario a,b,c): every
weakly connected part of the wait-for graph gets its own entry in
root_causes (root_cause is the first of them).
Everything is cross-checked; disagreements go to checks.problems and make
the exit status 1 (truth.json is still written).
"""
import argparse
import hashlib
import json
import os
import re
import sys

WHAT = {
    "mmap-pileup": {
        "why": "page fault on /dev/lhsample: the driver's fault handler "
               "(slowdev_fault) sleeps forever in io_schedule() while the fault path "
               "holds the process's mm->mmap_lock for read; mmap() in another thread "
               "of the same process queues as a writer, and every later reader "
               "(cat /proc/PID/cmdline, ps) queues behind that writer",
        "notes": "The lock lives in the mm_struct of process mapuser (not a global). "
                 "It is held for read, so the rwsem owner field only has the "
                 "reader-owned bit plus a last-reader hint; the holder must be found "
                 "from the stack (slowdev_fault < __do_fault < ... < "
                 "do_user_addr_fault; the lock itself was taken in "
                 "lock_mm_and_find_vma and is not a frame). Waiters: the writer "
                 "thread mapuser_mmap (mmap, TASK_KILLABLE) first, then the cat/ps "
                 "readers (TASK_KILLABLE, shown as D). The main thread of mapuser "
                 "sleeps in pause() (S) and is not involved.",
    },
    "mixed-cycle": {
        "why": "deadlock cycle across lock types: cfg_commit holds cfg_mutex and "
               "waits for table_rwsem (write) while table_scan holds table_rwsem "
               "for read and waits for cfg_mutex; every cycle member is equally a "
               "root, the one with the lowest pid is named",
        "notes": "cfg_commit -> table_rwsem (held for read by table_scan) -> "
                 "table_scan -> cfg_mutex (owned by cfg_commit) -> cfg_commit. "
                 "stats_reader is a reader queued behind the waiting writer "
                 "cfg_commit (so it is blocked although the rwsem is only "
                 "read-held); cfg_poll waits for cfg_mutex behind table_scan. "
                 "Neither bystander is part of the cycle. table_rwsem's owner "
                 "field names table_scan only as a reader-owned hint.",
    },
    "sem-chain": {
        "why": "dev_reset holds dev_mutex and sleeps forever in io_schedule() "
               "(waiting for hardware that never answers); fw_loader holds the "
               "semaphore fw_sem and waits for dev_mutex, so the fw_request "
               "threads queued on fw_sem wait through a two-lock chain",
        "notes": "struct semaphore has no owner field: that fw_loader holds fw_sem "
                 "can only be inferred (count 0, fw_loader's stack, the module's "
                 "GOT line). Chain: fw_request1/2 -> fw_sem (fw_loader) -> "
                 "dev_mutex (dev_reset) -> io_schedule. No cycle.",
    },
    "abba": {
        "why": "mutex AB-BA deadlock: abba_first holds abba_mutex_a and waits for "
               "abba_mutex_b while abba_second holds abba_mutex_b and waits for "
               "abba_mutex_a; the cycle member with the lowest pid is named",
        "notes": "abba_late waits for abba_mutex_a behind abba_second and is not "
                 "part of the cycle.",
    },
    "rwsem-readers": {
        "why": "rd_hold1 and rd_hold2 hold rd_rwsem for read and sleep forever in "
               "io_schedule(); rd_writer queues for write and the later readers "
               "rd_late1/2 queue behind the writer",
        "notes": "Two read holders, neither recorded in the lock (count has the "
                 "reader count, owner only a last-reader hint); both are roots, "
                 "the one with the lowest pid is named, the other is in "
                 "other_root_holders.",
    },
}

LINE = re.compile(r"(?:lhs|mapuser): ([A-Z][A-Z-]*)\b(.*)$")
KV = re.compile(r"(\w+)=(\S*)")


def kv(text):
    return {k: v for k, v in KV.findall(text)}


def section(lines, name):
    out, inside = [], False
    for ln in lines:
        if ln.startswith("LHS-%s-BEGIN" % name):
            inside, out = True, []
        elif ln.startswith("LHS-%s-END" % name):
            inside = False
        elif inside:
            out.append(ln)
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def elementary_cycles(edges):
    """All elementary cycles of a small digraph, each starting at its lowest node."""
    cycles = []
    nodes = sorted(edges)

    def dfs(start, node, path, onpath):
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                cycles.append(list(path))
            elif nxt > start and nxt not in onpath:
                onpath.add(nxt)
                path.append(nxt)
                dfs(start, nxt, path, onpath)
                path.pop()
                onpath.discard(nxt)

    for s in nodes:
        dfs(s, s, [s], {s})
    return cycles


def reaches(edges, target):
    """Tasks whose wait chain leads to target (target excluded)."""
    rev = {}
    for a, bs in edges.items():
        for b in bs:
            rev.setdefault(b, set()).add(a)
    seen, todo = set(), [target]
    while todo:
        for a in rev.get(todo.pop(), ()):
            if a not in seen and a != target:
                seen.add(a)
                todo.append(a)
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serial", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--prov", action="append", default=[])
    ap.add_argument("--timing", action="append", default=[])
    ap.add_argument("--mem", type=int, default=0)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--dbg-package", default="")
    ap.add_argument("--module-ko", default="")
    ap.add_argument("--module-note", default=(
        "lhsample.ko built from sample_dumps/module/lhsample.c; a copy "
        "with DWARF is sample_dumps/lhsample.ko (shared by all samples, "
        "check module_sha256); its symbols are also in the dump's "
        "module kallsyms"))
    ap.add_argument("--keep-meta-from", default="",
                    help="rebuild the truth of an existing dump from its serial.log: "
                         "take guest, debuginfo, files, provenance and timing from "
                         "this older truth.json")
    a = ap.parse_args()

    with open(a.serial, "rb") as f:
        lines = [ln.rstrip("\r") for ln in f.read().decode("utf-8", "replace").split("\n")]
    problems = []

    # ---- D tasks seen in the guest
    tasks = {}
    for ln in section(lines, "TASKS"):
        m = re.match(r"LHS-TASK (.*) comm=(.*)$", ln)
        if m:
            d = kv(m.group(1))
            pid = int(d["pid"])
            tasks[pid] = {"pid": pid, "tgid": int(d["tgid"]), "comm": m.group(2),
                          "state": d["state"], "wchan": d["wchan"], "stack": []}
            continue
        m = re.match(r"LHS-STACK pid=(\d+) (?:\[<[0-9a-f]+>\] )?(.*)$", ln)
        if m and int(m.group(1)) in tasks:
            tasks[int(m.group(1))]["stack"].append(m.group(2).strip())
    if not tasks:
        problems.append("no LHS-TASK lines (no D tasks recorded)")

    # ---- facts: module (dmesg) then userspace
    facts = []
    for ln in section(lines, "DMESG") + section(lines, "FACTS"):
        m = LINE.search(ln)
        if m:
            facts.append((m.group(1), kv(m.group(2)), ln))
        elif re.match(r"WANT pid=", ln):
            facts.append(("WANT", kv(ln), ln))
    kernel_release = ""
    for ln in lines:
        m = re.match(r"lhsinit: kernel=(\S+)", ln)
        if m:
            kernel_release = m.group(1)

    locks, order = {}, []
    holders, wants, hang, queues, raw = {}, [], {}, {}, {}
    unordered = set()
    task_addr = {}
    module_log = []
    in_report = False
    for kind, d, ln in facts:
        if kind == "LOCK":
            locks[d["name"]] = {"type": d["type"], "addr": d["addr"]}
            if "scen" in d:
                locks[d["name"]]["scenario"] = d["scen"]
            order.append(d["name"])
        elif kind in ("WANT", "GOT"):
            ent = {"pid": int(d["pid"]), "tgid": int(d["tgid"]),
                   "comm": d["comm"], "mode": d["mode"]}
            if "task" in d:
                task_addr[ent["pid"]] = int(d["task"], 16)
            if kind == "WANT":
                wants.append((d["lock"], ent))
            else:
                holders.setdefault(d["lock"], []).append(ent)
        elif kind == "STUCK":
            hang[int(d["pid"])] = d["how"]
            task_addr[int(d["pid"])] = int(d["task"], 16)
        elif kind == "REPORT-BEGIN":
            in_report, queues, raw, unordered = True, {}, {}, set()
        elif kind == "REPORT-END":
            in_report = False
        elif kind == "QUEUE" and in_report:
            task_addr[int(d["pid"])] = int(d["task"], 16)
            queues.setdefault(d["lock"], []).append(
                {"pid": int(d["pid"]), "tgid": int(d["tgid"]), "comm": d["comm"],
                 "mode": d["mode"], "queue_pos": int(d["pos"])})
        elif kind == "QUEUE-END" and in_report and d.get("order") == "set":
            unordered.add(d["lock"])
        elif kind == "QUEUE-END" and in_report:
            if int(d["waiters"]) != len(queues.get(d["lock"], [])):
                problems.append("%s: QUEUE-END says %s waiters, %d QUEUE lines"
                                % (d["lock"], d["waiters"], len(queues.get(d["lock"], []))))
        elif kind == "RAW" and in_report:
            raw[d["lock"]] = {k: v for k, v in d.items() if k != "lock"}
        if kind in ("SCENARIO", "SETUP-DONE", "SETUP-FAILED", "FAULT", "PROC",
                    "THREAD", "READY", "FAIL", "STUCK"):
            module_log.append(re.sub(r"^\[\s*[\d.]+\]\s*", "", ln).strip())
    for ln in lines:
        if ln.startswith("lhsinit: "):
            module_log.append(ln.strip())

    # ---- waiters must be exactly the announced-but-not-returned lock calls
    pending = {}
    for lk, ent in wants:
        got = any(h["pid"] == ent["pid"] for h in holders.get(lk, []))
        if not got:
            pending.setdefault(lk, {})[ent["pid"]] = ent
    for lk in order:
        if lk in unordered:
            # not walkable (RT rbtree): the announced, unreturned calls, each in D
            queues[lk] = [dict(ent, queue_pos=None)
                          for _, ent in sorted(pending.get(lk, {}).items())]
            for w in queues[lk]:
                if w["pid"] not in tasks:
                    problems.append("%s: waiter %d is not in D" % (lk, w["pid"]))
        q = queues.get(lk, [])
        qp = {w["pid"]: w for w in q}
        pp = pending.get(lk, {})
        if set(qp) != set(pp):
            problems.append("%s: wait list %s != announced, unreturned calls %s"
                            % (lk, sorted(qp), sorted(pp)))
        for pid in set(qp) & set(pp):
            if qp[pid]["mode"] != pp[pid]["mode"]:
                problems.append("%s: pid %d queued as %s but asked for %s"
                                % (lk, pid, qp[pid]["mode"], pp[pid]["mode"]))
            if qp[pid]["tgid"] != pp[pid]["tgid"] or qp[pid]["comm"] != pp[pid]["comm"]:
                problems.append("%s: pid %d identity differs (%s/%s vs %s/%s)"
                                % (lk, pid, qp[pid]["tgid"], qp[pid]["comm"],
                                   pp[pid]["tgid"], pp[pid]["comm"]))
        if not holders.get(lk):
            problems.append("%s: no holder recorded" % lk)
    for lk in queues:
        if lk not in locks:
            problems.append("wait list for unregistered lock %s" % lk)

    # ---- raw lock words vs holders/waiters
    for lk in order:
        r, hs, q = raw.get(lk), holders.get(lk, []), queues.get(lk, [])
        if r is None and lk in unordered:
            continue                              # RT lock: no raw words printed
        if r is None:
            problems.append("%s: no RAW line in the report" % lk)
            continue
        t = locks[lk]["type"]
        if t == "mutex":
            owner = int(r["owner"], 16)
            want = task_addr.get(hs[0]["pid"]) if len(hs) == 1 else None
            if want is None or owner & ~0x7 != want:
                problems.append("%s: owner 0x%x does not name holder task" % (lk, owner))
            if bool(owner & 0x1) != bool(q):     # MUTEX_FLAG_WAITERS
                problems.append("%s: waiters flag %d but %d waiters" % (lk, owner & 1, len(q)))
        elif t == "rwsem":
            count = int(r["count"], 16)
            readers = count >> 8                  # RWSEM_READER_SHIFT
            nread = sum(1 for h in hs if h["mode"] == "read")
            nwrite = sum(1 for h in hs if h["mode"] == "write")
            if readers != nread or (count & 1) != nwrite:
                problems.append("%s: count 0x%x vs %d read / %d write holders"
                                % (lk, count, nread, nwrite))
            if bool(count & 0x2) != bool(q):      # RWSEM_FLAG_WAITERS
                problems.append("%s: waiters bit vs %d waiters" % (lk, len(q)))
        elif t == "semaphore":
            if int(r["count"]) != 0:
                problems.append("%s: count %s with %d holders" % (lk, r["count"], len(hs)))

    # ---- wait-for graph
    waiting_on = {w["pid"]: lk for lk, q in queues.items() for w in q}
    holds = {}
    for lk in order:
        for h in holders.get(lk, []):
            holds.setdefault(h["pid"], []).append(lk)
    edges = {}
    for pid, lk in waiting_on.items():
        edges[pid] = {h["pid"] for h in holders.get(lk, [])}
    for pid in set(waiting_on) | set(holds):
        if pid not in tasks:
            problems.append("pid %d is a lock holder/waiter but not in D" % pid)
    for pid, t in tasks.items():
        if pid not in waiting_on and pid not in holds and pid not in hang:
            problems.append("pid %d (%s) is in D but not explained by the scenario"
                            % (pid, t["comm"]))
        if pid in hang and pid in waiting_on:
            problems.append("pid %d both hangs and waits" % pid)
    cycles = elementary_cycles(edges)

    comm = {pid: t["comm"] for pid, t in tasks.items()}
    scen_of = {}
    for lk in order:
        for ent in holders.get(lk, []) + queues.get(lk, []):
            scen_of.setdefault(ent["pid"], locks[lk].get("scenario", a.scenario))

    def info_for(scen):
        return WHAT.get(scen, {"why": "", "notes": ""})

    # weakly connected parts of the wait-for graph (one per disjoint scenario)
    nodes = set(edges) | {b for bs in edges.values() for b in bs}
    undirected = {n: set() for n in nodes}
    for x, bs in edges.items():
        for y in bs:
            undirected[x].add(y)
            undirected[y].add(x)
    parts, seen = [], set()
    for n in sorted(nodes):
        if n in seen:
            continue
        comp, todo = set(), [n]
        while todo:
            m = todo.pop()
            if m in comp:
                continue
            comp.add(m)
            todo.extend(undirected[m] - comp)
        seen |= comp
        parts.append(comp)

    root_causes = []
    for comp in parts:
        pcycles = [c for c in cycles if set(c) <= comp]
        scen = scen_of.get(min(comp), a.scenario)
        if pcycles:
            cyc = pcycles[0]
            root = min(cyc)
            rc = {"pid": root, "comm": comm.get(root, "?"), "cycle": cyc,
                  "transitively_blocked_tasks": len(reaches(edges, root)),
                  "why": info_for(scen)["why"]}
        else:
            roots = sorted(p for p in holds if p not in waiting_on and p in comp)
            ranked = sorted(roots, key=lambda p: (-len(reaches(edges, p)), p))
            if not ranked:
                problems.append("no root holder found among %s" % sorted(comp))
                continue
            r0 = ranked[0]
            rc = {"pid": r0, "comm": comm.get(r0, "?"),
                  "blocked_in": hang.get(r0, "unknown"),
                  "transitively_blocked_tasks": len(reaches(edges, r0)),
                  "why": info_for(scen)["why"]}
            if len(ranked) > 1:
                rc["other_root_holders"] = [
                    {"pid": p, "comm": comm.get(p, "?"),
                     "transitively_blocked_tasks": len(reaches(edges, p))}
                    for p in ranked[1:]]
        if "," in a.scenario:
            rc["scenario"] = scen
        root_causes.append(rc)
    if not root_causes:
        problems.append("no root holder found")
    root_cause = root_causes[0] if root_causes else {}
    info = info_for(a.scenario)
    if "," in a.scenario:
        info = {"why": "", "notes": " ".join(
            "[%s] %s" % (sc, info_for(sc)["notes"]) for sc in a.scenario.split(","))}

    # decode the owner words: which task do they name (for rwsems only a hint)
    by_addr = {v: k for k, v in task_addr.items()}
    owner_dec, extra_notes = {}, []
    for lk in order:
        r = raw.get(lk, {})
        if "owner" not in r:
            continue
        ow = int(r["owner"], 16)
        tp = ow & ~0x7
        pid = by_addr.get(tp)
        dec = {"task": "0x%x" % tp, "flags": "0x%x" % (ow & 0x7),
               "pid": pid, "comm": comm.get(pid) if pid else None}
        if locks[lk]["type"] == "rwsem":
            readers = {h["pid"] for h in holders.get(lk, []) if h["mode"] == "read"}
            if ow & 0x1:                 # RWSEM_READER_OWNED: only a hint
                dec["meaning"] = ("reader-owned; the task pointer is the last task "
                                  "that took the lock for read (not cleared on unlock)")
                if pid not in readers:
                    dec["stale"] = True
                    extra_notes.append(
                        "%s's owner field names pid %s (%s), which does NOT hold it: "
                        "that task took and released the read lock earlier; the real "
                        "read holder(s) %s can only be found from the stacks."
                        % (lk, pid, dec["comm"] or "unknown task", sorted(readers)))
        owner_dec[lk] = dec

    out_locks = []
    for lk in order:
        r = raw.get(lk, {})
        out_locks.append({
            "name": lk, "type": locks[lk]["type"], "addr": locks[lk]["addr"],
            "holders": holders.get(lk, []),
            "waiters": queues.get(lk, []),
            "waiter_order": ("set (PREEMPT_RT: rt_mutex rbtree not walked): the tasks "
                             "that called the lock and never returned, each asleep in D"
                             if lk in unordered else
                             "kernel wait-list order, walked by lhsample.ko under "
                             "the lock's wait_lock right before the dump"),
            "state_at_dump": " ".join(["lock=%s" % lk] +
                                      ["%s=%s" % kv_ for kv_ in r.items()]),
        })
        if lk in owner_dec:
            out_locks[-1]["owner_decoded"] = owner_dec[lk]
        if "," in a.scenario and "scenario" in locks[lk]:
            out_locks[-1]["scenario"] = locks[lk]["scenario"]

    blocked = []
    for pid in sorted(tasks):
        t = tasks[pid]
        b = {"pid": pid, "tgid": t["tgid"], "comm": t["comm"], "state": t["state"],
             "wchan": t["wchan"], "waiting_on": waiting_on.get(pid),
             "holds": holds.get(pid, [])}
        if pid in hang:
            b["hang"] = hang[pid]
        if pid in task_addr:
            b["task_struct"] = "0x%x" % task_addr[pid]
        b["stack"] = t["stack"]
        blocked.append(b)

    files = {}
    for spec in a.file:
        name, what = spec.split("=", 1)
        p = os.path.join(a.outdir, name)
        if not os.path.exists(p):
            problems.append("output file %s missing" % name)
            continue
        files[name] = {"size": os.path.getsize(p), "what": what}
        if name.startswith("vmcore"):
            files[name]["sha256"] = sha256(p)

    prov = dict(s.split("=", 1) for s in a.prov)
    # "6.1.0-56-amd64" -> amd64, "6.1.0-56-rt-amd64" -> rt-amd64, "7.2.13+deb14-amd64" -> amd64
    m = re.search(r"-((?:rt-)?[a-z0-9]+)$", kernel_release)
    flavour = m.group(1) if m else ""
    truth = {
        "scenario": a.scenario,
        "kernel_release": kernel_release,
        "flavour": flavour,
        "guest": {"mem_mib": a.mem, "smp": a.smp, "arch": "x86_64", "accel": "tcg",
                  "cmdline": a.cmdline},
        "debuginfo": {
            "package": a.dbg_package,
            "build_id": prov.get("build_id", ""),
            "vmlinux_in_deb": "./usr/lib/debug/boot/vmlinux-%s" % kernel_release,
            "module": a.module_note,
            "module_sha256": sha256(a.module_ko) if a.module_ko else "",
        },
        "files": files,
        "locks": out_locks,
        "cycles": cycles,
        "root_cause": root_cause,
        "root_causes": root_causes,
        "blocked_tasks": blocked,
        "notes": " ".join([info["notes"]] + extra_notes) + " pid = kernel task id, tgid = process id. "
                 "Addresses are kernel virtual addresses printed with %px by the "
                 "module; stacks are /proc/PID/stack (hides __sched frames such as "
                 "the lock slowpaths and schedule()).",
        "module_log": module_log,
        "checks": {"problems": problems,
                   "all_waiters_in_D": all(w["pid"] in tasks
                                           for q in queues.values() for w in q),
                   "d_tasks": len(tasks)},
        "timing_s": {k: int(v) for k, v in (s.split("=", 1) for s in a.timing)},
        "provenance": prov,
    }
    if a.keep_meta_from:
        old = json.load(open(a.keep_meta_from))
        for key in ("guest", "debuginfo", "timing_s", "provenance"):
            truth[key] = old.get(key, truth[key])
        files = {}
        for name, meta in old.get("files", {}).items():
            p = os.path.join(a.outdir, name)
            files[name] = dict(meta, size=os.path.getsize(p))
            if "sha256" in meta and sha256(p) != meta["sha256"]:
                problems.append("%s changed since %s" % (name, a.keep_meta_from))
        files.pop("truth.json", None)
        truth["files"] = files
        truth["provenance"] = dict(truth["provenance"])
        truth["provenance"]["truth_rebuilt"] = (
            "truth.json re-derived from the unchanged serial.log with a newer "
            "tools/serial2truth.py (dump not regenerated)")
        truth["checks"]["problems"] = problems
    json.dump(truth, sys.stdout, indent=1)
    sys.stdout.write("\n")
    for p in problems:
        print("serial2truth: PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
