// JSON report for programs, one document:
//
//   {"kernel":{...},
//    "locks":[{"address":"0x…","type":"mutex|rw_semaphore|semaphore|rt_mutex|other","name":str|null,
//              "holders":[{"pid","tgid","comm","mode":"read|write|exclusive",
//                          "confidence":"certain|likely|possible","evidence":[str]}],
//              "waiters":[{"pid","tgid","comm","mode","queue_pos"}], ...}],
//    "cycles":[{"pids":[int],"locks":["0x…"],"chain":[...]}],
//    "root_causes":[{"pid","comm","blocked_in","summary","blocked_tasks",...}],
//    "orphan_locks":[...], "unexplained":[...], "warnings":[str]}
//
// Addresses are "0x…" strings; every string from the dump goes through sanitize_utf8, so the
// output is valid UTF-8 whatever the task names hold.
//
//   report::render_json(std::cout, report);
//   report::render_lock_json(std::cout, report, lock);   // `who-holds --format json`
#pragma once

#include <ostream>

#include "locks/lock_state.h"
#include "report/report.h"

namespace lockhound::report {

void render_json(std::ostream& out, const Report& report);

// {"lock":{...as in "locks"...},"root_causes":[the roots its waiters' chains reach]}
void render_lock_json(std::ostream& out, const Report& report, const locks::LockState& lock);

}  // namespace lockhound::report
