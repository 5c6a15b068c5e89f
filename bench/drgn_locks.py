#!/usr/bin/python3
# drgn's best equivalent of `lockhound analyze` for bench/run-benchmarks.sh: load the dump and the
# vmlinux, list every task, and for each lock given (address and type, from truth.json) read the
# owner word and walk the wait list. drgn has no lock analysis of its own (no cycles, no reader
# or semaphore holders), so this is a lower bound for what a drgn user would run by hand.
#
#   /usr/bin/python3 bench/drgn_locks.py VMCORE VMLINUX [ADDR:TYPE ...]
#   TYPE: mutex | rw_semaphore | semaphore
#
# Prints one line per lock: "ADDR TYPE owner=PID|- waiters=PID,PID,...", then "tasks N".
# Needs Debian's python3-drgn (0.0.22 reads makedumpfile dumps, not QEMU's flattened ones).
import sys

import drgn
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.pid import for_each_task

WAITER = {
    "mutex": "struct mutex_waiter",
    "rw_semaphore": "struct rwsem_waiter",
    "semaphore": "struct semaphore_waiter",
}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__ or "usage: drgn_locks.py VMCORE VMLINUX [ADDR:TYPE ...]")
    core, vmlinux, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    prog = drgn.Program()
    prog.set_core_dump(core)
    prog.load_debug_info([vmlinux])

    by_address = {}
    tasks = 0
    for task in for_each_task(prog):
        tasks += 1
        by_address[task.value_()] = task.pid.value_()

    for spec in specs:
        addr_s, kind = spec.split(":")
        addr = int(addr_s, 0)
        lock = drgn.Object(prog, "struct " + kind, address=addr)
        owner = "-"
        if kind in ("mutex", "rw_semaphore"):
            word = lock.owner.counter.value_() & 0xFFFFFFFFFFFFFFF8
            owner = str(by_address.get(word, hex(word) if word else "-"))
        waiters = [
            str(w.task.pid.value_())
            for w in list_for_each_entry(WAITER[kind], lock.wait_list.address_of_(), "list")
        ]
        print(f"{addr:#x} {kind} owner={owner} waiters={','.join(waiters)}")
    print(f"tasks {tasks}")


if __name__ == "__main__":
    main()
