// The lock analysis against truth.json, on every real dump (../shared/dumps, in every format
// present) and on the project's own sample_dumps: exact locks (address, type), holders (pid,
// mode), waiters (pid, mode, queue order).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "kernel/kernel.h"
#include "locks/analysis.h"
#include "support/shared_dumps.h"
#include "support/truth.h"

namespace lockhound {
namespace {

using testing::all_truth_dumps;
using testing::parse_truth;
using testing::vmlinux_for;

struct Case {
    std::string name, vmcore, vmlinux;
    nlohmann::json truth;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (const auto& d : all_truth_dumps()) {
        auto v = vmlinux_for(d.release);
        if (!v) continue;
        for (const auto& f : d.vmcores)
            out.push_back({d.name() + ":" + f.substr(f.rfind('/') + 1), f, *v, d.truth});
    }
    return out;
}

void check_against_truth(const Case& c, kernel::Kernel& k) {
    SCOPED_TRACE(c.name);
    auto truth = parse_truth(c.truth);
    locks::LockAnalysis a = locks::analyze_locks(k);
    std::map<std::uint64_t, const locks::LockState*> by_addr;
    for (const auto& l : a.locks) by_addr[l.address] = &l;
    EXPECT_EQ(a.locks.size(), truth.locks.size()) << "contended locks";
    for (const auto& tl : truth.locks) {
        SCOPED_TRACE(tl.name);
        auto it = by_addr.find(tl.address);
        ASSERT_NE(it, by_addr.end()) << "lock " << std::hex << tl.address << " not found";
        const locks::LockState& l = *it->second;
        EXPECT_EQ(locks::to_string(l.kind), tl.type);
        // Named by meaning: the truth's label (a module's own name for the lock, or the member of
        // the object that embeds it) is part of lockhound's name.
        ASSERT_TRUE(l.name.has_value());
        EXPECT_NE(l.name->find(tl.name), std::string::npos) << *l.name;
        if (c.name.find("6.1.0-56-amd64/mmap-pileup") == 0) {
            EXPECT_EQ(*l.name, "mmap_lock of lbmm[93]");
        }
        std::set<std::pair<int, std::string>> want_h, got_h;
        for (const auto& h : tl.holders) want_h.insert({h.pid, h.mode});
        for (const auto& h : l.holders) got_h.insert({h.task.pid, locks::to_string(h.mode)});
        if (std::string gap = testing::known_holder_gap(c.name); !gap.empty() && got_h != want_h) {
            // Never a wrong holder: what is named must be true.
            EXPECT_TRUE(std::includes(want_h.begin(), want_h.end(), got_h.begin(), got_h.end()))
                << "holders named that do not hold it";
            std::cout << "[ KNOWN GAP ] " << c.name << " " << tl.name << ": " << gap << "\n";
        } else {
            EXPECT_EQ(got_h, want_h) << "holders";
        }
        std::vector<std::pair<int, std::string>> want_w, got_w;
        for (const auto& w : tl.waiters) want_w.push_back({w.pid, w.mode});
        for (const auto& w : l.waiters) got_w.push_back({w.task.pid, locks::to_string(w.mode)});
        EXPECT_EQ(got_w, want_w) << "waiters in queue order";
    }
}

TEST(AnalysisTruth, DwarfMatchesTruthOnEveryDump) {
    auto cs = cases();
    if (cs.empty())
        GTEST_SKIP() << "no dumps with truth.json and a matching vmlinux (run "
                        "../shared/dumps/get-debuginfo.sh)";
    for (const auto& c : cs) {
        auto k = kernel::Kernel::open({.dump_path = c.vmcore, .vmlinux_path = c.vmlinux});
        ASSERT_TRUE(k.has_value()) << c.name << ": " << k.error().describe();
        check_against_truth(c, **k);
    }
}

// The same answers with no vmlinux at all: types from the dump's BTF, symbols from its kallsyms.
TEST(AnalysisTruth, SelfContainedBtfMatchesTruthAndDwarf) {
    std::vector<testing::SharedDump> dumps = all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no dumps with truth.json";
    for (const auto& d : dumps) {
        for (const auto& f : d.vmcores) {
            Case c{d.name() + ":btf", f, "", d.truth};
            auto k = kernel::Kernel::open({.dump_path = f, .no_vmlinux = true});
            ASSERT_TRUE(k.has_value()) << c.name << ": " << k.error().describe();
            EXPECT_NE((*k)->debuginfo_description().find("BTF"), std::string::npos);
            check_against_truth(c, **k);
            // Names by meaning must not depend on where the types came from.
            auto v = vmlinux_for(d.release);
            if (!v) continue;
            auto kd = kernel::Kernel::open({.dump_path = f, .vmlinux_path = *v});
            ASSERT_TRUE(kd.has_value());
            auto a = locks::analyze_locks(**k), b = locks::analyze_locks(**kd);
            ASSERT_EQ(a.locks.size(), b.locks.size());
            for (std::size_t i = 0; i < a.locks.size(); ++i) {
                EXPECT_EQ(a.locks[i].name, b.locks[i].name) << c.name;
                EXPECT_EQ(a.locks[i].holders.size(), b.locks[i].holders.size()) << c.name;
            }
        }
    }
}

}  // namespace
}  // namespace lockhound
