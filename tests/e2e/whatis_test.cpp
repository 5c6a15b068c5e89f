// Names through memory, on the real dumps (../shared/dumps and sample_dumps/):
//  * every contended lock and every waiter record is identified: a symbol, a slab object or the
//    waiter's own stack (kernel::AddressIdentifier);
//  * the slab answers agree with drgn's slab_object_info (python3-drgn, test-only: compared when
//    /usr/bin/python3 can import drgn and the DWARF vmlinux is cached, else that part skips) on
//    the lock, the waiters' task_structs and their neighbour objects (allocated and free);
//  * `files` paths are the ones the guest printed: the `cat /proc/PID/cmdline` readers have
//    /proc/PID/cmdline open; the VMA lockbomb printed is named with its range and /dev/lockbomb;
//  * damage through kernel::OpenOptions::memory_patches: a freed object, a wild d_parent and a
//    loop in d_parent give "unknown" with the reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/address_identity.h"
#include "kernel/kernel.h"
#include "kernel/open_files.h"
#include "kernel/vfs_path.h"
#include "locks/analysis.h"
#include "locks/object_naming.h"
#include "support/shared_dumps.h"

namespace lockhound {
namespace {

using nlohmann::json;

std::unique_ptr<kernel::Kernel> open(const testing::SharedDump& d,
                                     std::vector<kernel::MemoryPatch> patches = {}) {
    auto v = testing::vmlinux_for(d.release);
    kernel::OpenOptions o{.dump_path = d.vmcores.front(),
                          .vmlinux_path = v.value_or(""),
                          .no_vmlinux = !v.has_value(),
                          .memory_patches = std::move(patches)};
    auto k = kernel::Kernel::open(o);
    if (!k) return nullptr;
    return std::move(*k);
}

std::string serial(const testing::SharedDump& d) {
    std::ifstream in(d.dir + "/serial.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(Whatis, EveryLockAndWaiterRecordIsIdentified) {
    auto dumps = testing::all_truth_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no dumps (../shared/dumps, sample_dumps)";
    for (const auto& d : dumps) {
        if (d.vmcores.empty()) continue;
        SCOPED_TRACE(d.name());
        auto k = open(d);
        ASSERT_TRUE(k);
        auto a = locks::analyze_locks(*k);
        ASSERT_FALSE(a.locks.empty());
        kernel::AddressIdentifier ids(*k);
        for (const auto& l : a.locks) {
            auto id = ids.identify(l.address);
            EXPECT_TRUE(id.kind == kernel::AddressKind::kSymbol ||
                        id.kind == kernel::AddressKind::kSlab)
                << kernel::describe(id);
            if (id.kind == kernel::AddressKind::kSlab) {
                EXPECT_EQ(id.slab->state, kernel::SlabObjectState::kAllocated);
            }
            EXPECT_TRUE(l.name && l.object) << fmt::format("{:#x}", l.address);
            for (const auto& w : l.waiters) {
                if (!w.waiter_record) continue;
                auto wid = ids.identify(w.waiter_record, {.find_frame = true});
                EXPECT_EQ(wid.kind, kernel::AddressKind::kTaskStack) << kernel::describe(wid);
                EXPECT_EQ(wid.pid, w.task.pid) << kernel::describe(wid);
                EXPECT_FALSE(wid.below_sp);
                EXPECT_FALSE(wid.frame.empty()) << kernel::describe(wid);
            }
        }
    }
}

// drgn's answer for each address: "cache object allocated" or "none".
std::optional<std::map<std::uint64_t, std::string>> drgn_answers(
    const std::string& vmcore,
    const std::string& vmlinux,
    const std::vector<std::uint64_t>& addrs) {
    if (std::system("/usr/bin/python3 -c 'import drgn.helpers.linux.slab' >/dev/null 2>&1") != 0)
        return std::nullopt;
    std::string script_path;
    int fd = testing::make_temp_file("lh-drgn", script_path);
    if (fd < 0) return std::nullopt;
    close(fd);
    {
        std::ofstream s(script_path);
        s << "import sys, drgn\n"
             "from drgn.helpers.linux.slab import slab_object_info\n"
             "p = drgn.Program(); p.set_core_dump(sys.argv[1]); p.load_debug_info([sys.argv[2]])\n"
             "for a in sys.argv[3:]:\n"
             "    try:\n"
             "        i = slab_object_info(p, int(a, 16))\n"
             "    except Exception:\n"
             "        i = None\n"
             "    if i is None: print(a, 'none')\n"
             "    else: print(a, i.slab_cache.name.string_().decode(), hex(i.address), "
             "i.allocated)\n";
    }
    std::string cmd = fmt::format("/usr/bin/python3 {} {} {}", script_path, vmcore, vmlinux);
    for (auto a : addrs) cmd += fmt::format(" {:#x}", a);
    std::map<std::uint64_t, std::string> out;
    FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
    if (!p) return std::nullopt;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        std::string l(line);
        auto sp = l.find(' ');
        if (sp == std::string::npos) continue;
        out[std::stoull(l.substr(0, sp), nullptr, 16)] = l.substr(sp + 1, l.size() - sp - 2);
    }
    pclose(p);
    unlink(script_path.c_str());
    if (out.size() != addrs.size()) return std::nullopt;  // drgn could not open this dump
    return out;
}

TEST(Whatis, SlabObjectsAgreeWithDrgn) {
    auto dumps = testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "no ../shared/dumps";
    int compared = 0, free_seen = 0;
    for (const auto& d : dumps) {
        auto v = testing::vmlinux_for(d.release);
        if (!v || d.vmcores.empty()) continue;
        SCOPED_TRACE(d.name());
        auto k = open(d);
        ASSERT_TRUE(k);
        auto a = locks::analyze_locks(*k);
        kernel::AddressIdentifier ids(*k);
        // The locks, the waiters' task_structs, and the objects around each (same slab).
        std::vector<std::uint64_t> addrs;
        std::set<std::uint64_t> seen;
        auto add = [&](std::uint64_t x) {
            if (seen.insert(x).second) addrs.push_back(x);
        };
        for (const auto& l : a.locks) {
            add(l.address);
            for (const auto& w : l.waiters) add(w.task.task + 0x10);
        }
        // Neighbours by the cache's stride: object +- k * size (read from kmem_cache.size).
        auto size_off = k->offset_of("kmem_cache", "size");
        ASSERT_TRUE(size_off);
        for (std::size_t i = 0, n = addrs.size(); i < n; ++i) {
            auto id = ids.identify(addrs[i]);
            if (id.kind != kernel::AddressKind::kSlab) continue;
            std::uint64_t stride = k->memory().read_u32(id.slab->cache + *size_off).value_or(0);
            for (int j = -12; j <= 12; ++j)
                if (j) add(id.slab->object + 8 + static_cast<std::uint64_t>(j) * stride);
        }
        auto drgn = drgn_answers(d.vmcores.front(), *v, addrs);
        if (!drgn) {
            std::cout << d.name()
                      << ": drgn did not answer (not installed, or it cannot open this dump): not "
                         "compared\n";
            continue;
        }
        for (auto x : addrs) {
            auto id = ids.identify(x);
            auto it = drgn->find(x);
            ASSERT_NE(it, drgn->end()) << fmt::format("{:#x}", x);
            if (it->second == "none") {
                EXPECT_NE(id.kind, kernel::AddressKind::kSlab) << kernel::describe(id);
                continue;
            }
            // drgn 0.0.22 does not bound the object index by slab->objects: an address in the
            // padding after a slab's last object is an "object" to drgn, padding to lockhound.
            if (id.kind != kernel::AddressKind::kSlab &&
                id.reason.find("slab padding") != std::string::npos)
                continue;
            ASSERT_EQ(id.kind, kernel::AddressKind::kSlab)
                << kernel::describe(id) << " drgn: " << it->second;
            std::string ours = fmt::format(
                "{} {:#x} {}",
                id.slab->cache_name,
                id.slab->object,
                id.slab->state == kernel::SlabObjectState::kAllocated ? "True" : "False");
            EXPECT_EQ(ours, it->second) << fmt::format("{:#x}", x);
            if (id.slab->state == kernel::SlabObjectState::kFree) ++free_seen;
            ++compared;
        }
    }
    if (compared == 0) GTEST_SKIP() << "drgn not installed, or no dump with a cached DWARF vmlinux";
    std::cout << compared << " slab objects compared with drgn, " << free_seen << " free\n";
}

TEST(Files, CmdlineReadersHaveTheFileTheGuestNamed) {
    auto dumps = testing::all_truth_dumps();
    int checked = 0;
    std::regex re(R"((?:WANT|acquire) pid=(\d+) .*(?:via|what)=cat_(/proc/\d+/cmdline))");
    for (const auto& d : dumps) {
        if (d.scenario != "mmap-pileup" || d.vmcores.empty()) continue;
        SCOPED_TRACE(d.name());
        auto k = open(d);
        ASSERT_TRUE(k);
        std::string log = serial(d);
        std::set<int> done;
        for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it) {
            int pid = std::stoi((*it)[1]);
            if (!done.insert(pid).second) continue;
            const kernel::Task* t = k->task_by_pid(pid);
            ASSERT_NE(t, nullptr) << pid;
            auto files = kernel::open_files(*k, *t);
            EXPECT_EQ(files.root, "/");
            bool found = false;
            for (const auto& f : files.files)
                if (f.path == (*it)[2].str() && f.type == "REG") found = true;
            EXPECT_TRUE(found) << "pid " << pid << " has no " << (*it)[2];
            // who-holds PATH finds that inode.
            auto p = kernel::find_path(*k, (*it)[2]);
            ASSERT_TRUE(p);
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no mmap-pileup dump";
}

TEST(Files, VmaPrintedByTheGuestIsNamedWithRangeAndFile) {
    auto d = testing::shared_dump("mmap-pileup");
    if (!d || d->vmcores.empty()) GTEST_SKIP() << "no shared mmap-pileup dump";
    std::string log = serial(*d);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m, std::regex(R"(tgid=(\d+) vma=([0-9a-f]+) address=0x([0-9a-f]+))")));
    auto k = open(*d);
    ASSERT_TRUE(k);
    kernel::AddressIdentifier ids(*k);
    locks::ObjectNamer namer(*k, ids);
    auto n = namer.name_object_at(std::stoull(m[2], nullptr, 16));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->object.kind, "vma");
    EXPECT_EQ(n->object.pid, std::stoi(m[1]));
    std::uint64_t addr = std::stoull(m[3], nullptr, 16);
    EXPECT_LE(n->object.start, addr);
    EXPECT_GT(n->object.end, addr);
    EXPECT_EQ(n->object.path, "/dev/lockbomb");  // "lockbomb: /dev/lockbomb registered"
    EXPECT_NE(log.find("/dev/lockbomb registered"), std::string::npos);
}

// The inode of /proc/PID/cmdline that a reader has open, and its dentries.
struct ProcFile {
    std::uint64_t inode = 0, dentry = 0, parent = 0, i_rwsem = 0;
};

std::optional<ProcFile> proc_file(kernel::Kernel& k) {
    for (const auto& t : k.tasks()) {
        for (const auto& f : kernel::open_files(k, t).files) {
            if (f.path.find("/cmdline") == std::string::npos) continue;
            ProcFile p{f.inode, f.dentry, 0, 0};
            auto po = k.offset_of("dentry", "d_parent");
            p.parent = k.memory().read_u64(f.dentry + *po).value_or(0);
            p.i_rwsem = f.inode + *k.offset_of("inode", "i_rwsem");
            return p;
        }
    }
    return std::nullopt;
}

TEST(Damage, FreedObjectWildAndLoopedDentriesAreUnknownWithReason) {
    auto d = testing::shared_dump("mmap-pileup");
    if (!d || d->vmcores.empty()) GTEST_SKIP() << "no shared mmap-pileup dump";
    auto k = open(*d);
    ASSERT_TRUE(k);
    auto pf = proc_file(*k);
    ASSERT_TRUE(pf);
    kernel::AddressIdentifier ids(*k);
    {
        locks::ObjectNamer namer(*k, ids);
        auto n = namer.name_object_at(pf->i_rwsem);
        ASSERT_TRUE(n);
        EXPECT_EQ(n->object.kind, "inode");
        EXPECT_EQ(n->object.path.rfind("/proc/", 0), 0u) << n->name;
        EXPECT_NE(n->name.find("i_rwsem of /proc/"), std::string::npos) << n->name;
    }
    auto parent_off = *k->offset_of("dentry", "d_parent");
    constexpr std::uint64_t kUnmapped = 0xfffffe8000001000ull;
    ASSERT_FALSE(k->memory().read_u64(kUnmapped));

    // A loop in the dentry parents: the file's parent ("93") points back at the file.
    {
        auto kl = open(*d, {{pf->parent + parent_off, kernel::le64_bytes(pf->dentry)}});
        ASSERT_TRUE(kl);
        kernel::VfsPaths vfs(*kl);
        auto p = vfs.path_of_inode(pf->inode);
        EXPECT_FALSE(p.ok());
        EXPECT_NE(p.reason.find("loop"), std::string::npos) << p.reason;
        kernel::AddressIdentifier lids(*kl);
        locks::ObjectNamer namer(*kl, lids);
        auto n = namer.name_object_at(pf->i_rwsem);
        ASSERT_TRUE(n);
        EXPECT_NE(n->name.find("path unknown"), std::string::npos) << n->name;
        EXPECT_FALSE(n->object.unknown_reason.empty());
    }
    // A wild d_parent.
    {
        auto kw = open(*d, {{pf->dentry + parent_off, kernel::le64_bytes(kUnmapped)}});
        ASSERT_TRUE(kw);
        kernel::VfsPaths vfs(*kw);
        auto p = vfs.path_of_inode(pf->inode);
        EXPECT_FALSE(p.ok());
        EXPECT_NE(p.reason.find("wild"), std::string::npos) << p.reason;
    }
    // A freed object: its slab's freelist head names it.
    {
        auto id = ids.identify(pf->i_rwsem);
        ASSERT_EQ(id.kind, kernel::AddressKind::kSlab);
        std::string st = k->types().has_member("slab", "freelist") ? "slab" : "page";
        auto fl = k->offset_of(st, "freelist");
        ASSERT_TRUE(fl);
        auto kf = open(*d, {{id.slab->slab + *fl, kernel::le64_bytes(id.slab->object)}});
        ASSERT_TRUE(kf);
        kernel::AddressIdentifier fids(*kf);
        auto fid = fids.identify(pf->i_rwsem);
        ASSERT_EQ(fid.kind, kernel::AddressKind::kSlab);
        EXPECT_EQ(fid.slab->state, kernel::SlabObjectState::kFree);
        locks::ObjectNamer namer(*kf, fids);
        auto n = namer.name_object_at(pf->i_rwsem);
        ASSERT_TRUE(n);
        EXPECT_EQ(n->name.rfind("unknown (freed", 0), 0u) << n->name;
        EXPECT_FALSE(n->object.unknown_reason.empty());
        // A freelist head pointing outside the slab: allocation state unknown, with the reason.
        auto kb = open(*d, {{id.slab->slab + *fl, kernel::le64_bytes(kUnmapped)}});
        ASSERT_TRUE(kb);
        kernel::AddressIdentifier bids(*kb);
        auto bid = bids.identify(pf->i_rwsem);
        ASSERT_EQ(bid.kind, kernel::AddressKind::kSlab);
        EXPECT_EQ(bid.slab->state, kernel::SlabObjectState::kUnknown);
        EXPECT_NE(bid.slab->state_reason.find("outside the slab"), std::string::npos);
    }
}

}  // namespace
}  // namespace lockhound
