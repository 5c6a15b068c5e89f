#!/usr/bin/env python3
"""Independent check of a sample dump against its truth.json, with drgn.

    verify_dump.py SCENARIO_DIR VMLINUX [MODULE.ko]

Needs python3-drgn (Debian 12: 0.0.22) and the DWARF vmlinux of the dump's
kernel (same build id). Re-reads from the dump itself: every lock object at
its truth address (owner / count fields), its wait list in kernel order
(pid, mode), the state of every blocked task and the frames of its kernel
stack; compares with truth.json. Exit 0 if everything matches.
"""
import json
import os
import sys

import drgn
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.percpu import per_cpu_ptr
from drgn.helpers.linux.pid import find_task

TASK_UNINTERRUPTIBLE = 0x2


def frame_symbol(prog, pc):
    """Name of the ELF symbol at pc (asm entry code has no DWARF function)."""
    try:
        return prog.symbol(pc).name
    except LookupError:
        return hex(pc)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d, vmlinux = sys.argv[1], sys.argv[2]
    truth = json.load(open(os.path.join(d, "truth.json")))
    vmcores = [f for f in os.listdir(d) if f.startswith("vmcore")]
    prog = drgn.Program()
    prog.set_core_dump(os.path.join(d, vmcores[0]))
    dbg = [vmlinux] + sys.argv[3:]     # lhsample.ko and any other module .ko (ext4.ko)
    prog.load_debug_info(dbg)
    bad = []

    def check(cond, text):
        print(("ok    " if cond else "FAIL  ") + text)
        if not cond:
            bad.append(text)

    rel = prog["init_uts_ns"].name.release.string_().decode()
    check(rel == truth["kernel_release"], "uts release %s" % rel)

    for lk in truth["locks"]:
        addr = int(lk["addr"], 16)
        t = lk["type"]
        if t == "mutex":
            obj = drgn.Object(prog, "struct mutex", address=addr)
            wtype = "struct mutex_waiter"
            owner = obj.owner.counter.value_() & (2**64 - 1)
            holder = find_task(prog, lk["holders"][0]["pid"])
            check(owner & ~0x7 == holder.value_(),
                  "%s owner 0x%x -> pid %d" % (lk["name"], owner, lk["holders"][0]["pid"]))
        elif t == "percpu_rwsem":
            # frozen sb_writers level: block=1, no writer task, no reader inside;
            # waiters are wait_queue_entry records, WQ_FLAG_CUSTOM (0x08 on 6.1) = reader
            obj = drgn.Object(prog, "struct percpu_rw_semaphore", address=addr)
            nread = sum(drgn.Object(prog, "unsigned int",
                                    address=per_cpu_ptr(obj.read_count, cpu).value_()).value_()
                        for cpu in for_each_possible_cpu(prog))
            check(obj.block.counter.value_() == 1 and obj.writer.task.value_() == 0 and
                  nread & 0xffffffff == 0 and not lk["holders"],
                  "%s block=%d writer=0x%x readers=%d" % (lk["name"], obj.block.counter.value_(),
                                                         obj.writer.task.value_(), nread))
            got = []
            head = obj.waiters.head.address_of_()
            pos = head.next
            while pos.value_() != head.value_():
                w = drgn.container_of(pos, "struct wait_queue_entry", "entry")
                task = drgn.cast("struct task_struct *", w.private)
                got.append((task.pid.value_(), "read" if w.flags.value_() & 0x08 else "write"))
                pos = pos.next
            want = [(w["pid"], w["mode"]) for w in lk["waiters"]]
            check(got == want, "%s wait queue from dump %s == truth %s" % (lk["name"], got, want))
            continue
        elif t == "rwsem":
            obj = drgn.Object(prog, "struct rw_semaphore", address=addr)
            wtype = "struct rwsem_waiter"
            count = obj.count.counter.value_() & (2**64 - 1)
            nread = sum(1 for h in lk["holders"] if h["mode"] == "read")
            check(count >> 8 == nread and (count & 1) == (len(lk["holders"]) - nread),
                  "%s count 0x%x vs %d holders" % (lk["name"], count, len(lk["holders"])))
        else:
            obj = drgn.Object(prog, "struct semaphore", address=addr)
            wtype = "struct semaphore_waiter"
            check(obj.count.value_() == 0, "%s count %d" % (lk["name"], obj.count.value_()))
        got = []
        head = obj.wait_list.address_of_()
        pos = head.next
        while pos.value_() != head.value_():
            w = drgn.Object(prog, wtype, address=pos.value_())   # list is the first member
            mode = "excl"
            if t == "rwsem":
                mode = "read" if w.type.value_() == 1 else "write"
            got.append((w.task.pid.value_(), mode))
            pos = pos.next
        want = [(w["pid"], w["mode"]) for w in lk["waiters"]]
        check(got == want, "%s wait list from dump %s == truth %s" % (lk["name"], got, want))

    for b in truth["blocked_tasks"]:
        task = find_task(prog, b["pid"])
        if not task:
            check(False, "pid %d not found in dump" % b["pid"])
            continue
        state = task.__state.value_()
        comm = task.comm.string_().decode()
        check(state & TASK_UNINTERRUPTIBLE and comm == b["comm"],
              "pid %d %s state 0x%x" % (b["pid"], comm, state))
        try:
            frames = list(prog.stack_trace(task))
        except Exception as e:          # noqa: BLE001 - report and go on
            check(False, "pid %d: no stack trace (%s)" % (b["pid"], e))
            continue
        pcs = {f.pc for f in frames}
        names = {f.name for f in frames} | {frame_symbol(prog, f.pc) for f in frames}
        missing = []
        for fr in b["stack"]:           # "func+0xoff/0xsize [module]"
            func, _, rest = fr.partition("+")
            off = int(rest.split("/")[0], 16) if rest else 0
            try:
                found = prog.symbol(func).address + off in pcs
            except LookupError:
                found = False
            if not found and func.replace(".cold", "") not in names:
                missing.append(fr)
        # drgn unwinds with DWARF CFI only: a frame of a module without debuginfo
        # (Debian's ext4.ko is stripped) ends its trace. The frames from there on
        # cannot be checked by drgn; lockhound's tests check them with ORC.
        if missing and b["stack"].index(missing[0]) > 0 and \
                all(b["stack"].index(m) >= b["stack"].index(missing[0]) for m in missing) and \
                missing[0].endswith("]") and not missing[0].endswith("[lhsample]"):
            print("skip  pid %d: drgn stops at %s (module without debuginfo); %d outer frames "
                  "not checked" % (b["pid"], missing[0], len(missing)))
            missing = []
        check(not missing, "pid %d stack (%d frames in dump) has every /proc frame%s" % (
            b["pid"], len(frames), (", missing %s" % missing) if missing else ""))
    print("%d problem(s)" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
