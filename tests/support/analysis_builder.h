// Hand-built LockAnalysis values for the graph and report tests.
//
//   AnalysisBuilder b;
//   auto A = b.task(93, "lb_abba_1");
//   b.lock(0xffffffffc03a44a0, locks::LockKind::kMutex, "lb_mutex_A");
//   b.hold(0xffffffffc03a44a0, A);                      // exclusive, certain
//   b.wait(0xffffffffc03a44a0, b.task(94, "lb_abba_2")); // next in queue, also in blocked_on
//   b.activity(A, "io_schedule", "page fault", {"io_schedule+0x12/0x40"});
//   const locks::LockAnalysis& a = b.analysis;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "locks/lock_state.h"

namespace lockhound::testing {

struct AnalysisBuilder {
    locks::LockAnalysis analysis;

    static locks::TaskRef task(int pid, std::string comm, int tgid = 0) {
        locks::TaskRef t;
        t.task = 0xffff888100000000ULL + static_cast<std::uint64_t>(pid) * 0x2000;
        t.pid = pid;
        t.tgid = tgid == 0 ? pid : tgid;
        t.comm = std::move(comm);
        t.state = 'D';
        return t;
    }

    locks::LockState& lock(std::uint64_t address,
                           locks::LockKind kind,
                           std::optional<std::string> name = std::nullopt) {
        locks::LockState l;
        l.address = address;
        l.kind = kind;
        l.name = std::move(name);
        analysis.locks.push_back(std::move(l));
        return analysis.locks.back();
    }

    locks::LockState& find(std::uint64_t address) {
        for (auto& l : analysis.locks)
            if (l.address == address) return l;
        return lock(address, locks::LockKind::kMutex);
    }

    locks::Holder& hold(std::uint64_t address,
                        const locks::TaskRef& t,
                        locks::Mode mode = locks::Mode::kExclusive,
                        locks::Confidence confidence = locks::Confidence::kCertain,
                        std::vector<std::string> evidence = {}) {
        auto& l = find(address);
        l.holders.push_back(locks::Holder{t, mode, confidence, std::move(evidence)});
        return l.holders.back();
    }

    void wait(std::uint64_t address,
              const locks::TaskRef& t,
              locks::Mode mode = locks::Mode::kExclusive,
              bool blocked_on = true) {
        auto& l = find(address);
        locks::Waiter w;
        w.task = t;
        w.mode = mode;
        w.queue_pos = static_cast<int>(l.waiters.size());
        w.waiter_record = 0xffffc90000400000ULL + static_cast<std::uint64_t>(t.pid) * 0x4000;
        l.waiters.push_back(w);
        if (blocked_on) analysis.blocked_on.push_back(locks::BlockedOn{t, address, {}});
    }

    void activity(const locks::TaskRef& t,
                  std::string blocked_in,
                  std::string summary,
                  const std::vector<std::string>& frames = {}) {
        locks::TaskActivity a;
        a.task = t;
        a.blocked_in = std::move(blocked_in);
        a.summary = std::move(summary);
        std::uint64_t pc = 0xffffffff81000000ULL;
        for (const auto& f : frames) a.frames.push_back(locks::Frame{pc += 0x100, f});
        analysis.activities.push_back(std::move(a));
    }
};

}  // namespace lockhound::testing
