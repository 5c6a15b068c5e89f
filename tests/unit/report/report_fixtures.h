// Report values for the renderer tests: the graph tests' scenarios plus mmap-pileup, each with
// its GraphResult built.
#pragma once

#include "graph/build_graph.h"
#include "report/report.h"
#include "unit/graph/graph_scenarios.h"

namespace lockhound::testing {

inline report::Report make_report(AnalysisBuilder b) {
    report::Report r;
    r.kernel = {"6.1.0-56-amd64", "/dumps/vmcore", "DWARF: /usr/lib/debug/vmlinux"};
    r.analysis = std::move(b.analysis);
    r.graph = graph::build_graph(r.analysis);
    return r;
}

inline constexpr std::uint64_t kMmapLock = 0xffff8c1d42355b70;

// mmap-pileup: lbmm_fault (96, process 93) holds mmap_lock for read (likely) and sleeps in
// io_schedule; lbmm_mmap (97) queues for write, then 11 × cat and a ps for read.
inline AnalysisBuilder mmap_pileup() {
    using locks::Confidence;
    using locks::LockKind;
    using locks::Mode;
    AnalysisBuilder b;
    auto& l = b.lock(kMmapLock, LockKind::kRwSemaphore, "mmap_lock of lbmm[93]");
    l.name_evidence = "mm_struct 0xffff8c1d42355b00 of tgid 93, offset 0x70";
    l.model = "rwsem/owner-flags-v5.3";
    l.count_raw = 0x102;
    l.owner_raw = 0xffff8c1d45f4c8c3;
    l.reader_count = 1;
    l.state_notes = {"read-locked", "waiters bit"};
    auto fault = b.task(96, "lbmm_fault", 93);
    b.hold(kMmapLock,
           fault,
           Mode::kRead,
           Confidence::kLikely,
           {"in a page fault (exc_page_fault on its stack) under lock_mm_and_find_vma",
            "the count says 1 reader and no other task can be it"});
    b.activity(fault,
               "io_schedule",
               "page fault",
               {"io_schedule+0x42/0x70",
                "lbmm_fault_fn+0x31/0x60 [lockbomb]",
                "__do_fault+0x36/0x130",
                "do_read_fault+0x53/0x1b0",
                "handle_mm_fault+0x5c2/0xd80",
                "do_user_addr_fault+0x1b0/0x570",
                "exc_page_fault+0x70/0x170",
                "asm_exc_page_fault+0x22/0x30",
                "0x7f1234"});
    b.wait(kMmapLock, b.task(97, "lbmm_mmap", 93), Mode::kWrite);
    for (int i = 0; i < 11; ++i) b.wait(kMmapLock, b.task(120 + 2 * i, "cat"), Mode::kRead);
    b.wait(kMmapLock, b.task(142, "ps"), Mode::kRead);
    return b;
}

}  // namespace lockhound::testing
