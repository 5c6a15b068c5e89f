// Symbols and types taken from the real dumps alone (kallsyms + BTF), checked against the
// vmlinux (ELF .symtab + DWARF) of the same build.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "debuginfo/btf_types.h"
#include "debuginfo/build_id.h"
#include "debuginfo/dwarf_types.h"
#include "debuginfo/elf_symbols.h"
#include "debuginfo/kallsyms.h"
#include "debuginfo/kallsyms_scan.h"
#include "dump/dump_file.h"
#include "dump/kernel_address_space.h"
#include "support/shared_dumps.h"
#include "test_paths.h"

namespace lockhound::debuginfo {
namespace {

struct OpenedDump {
    dump::DumpFile file;
    std::unique_ptr<dump::KernelAddressSpace> kas;
};

std::optional<OpenedDump> open_shared(const std::string& path) {
    auto f = dump::open_dump(path);
    if (!f) {
        ADD_FAILURE() << path << ": " << f.error().describe();
        return std::nullopt;
    }
    auto setup = dump::PagingSetup::from_vmcoreinfo(f->vmcoreinfo);
    if (!setup) {
        ADD_FAILURE() << path << ": " << setup.error().describe();
        return std::nullopt;
    }
    OpenedDump d{std::move(*f), nullptr};
    d.kas = std::make_unique<dump::KernelAddressSpace>(*d.file.memory, *setup);
    return d;
}

// Every dump, every format: kallsyms decodes to the vmlinux's symbols shifted by KASLR, and the
// BTF between __start_BTF and __stop_BTF parses to the same 100,751 types.
TEST(DumpDebuginfo, KallsymsAndBtfFromEveryDump) {
    auto dumps = lockhound::testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    int checked = 0;
    for (const auto& d : dumps) {
        if (d.release != testing::kRelease) continue;
        for (const auto& path : d.vmcores) {
            SCOPED_TRACE(path);
            auto od = open_shared(path);
            if (!od) continue;
            const auto& info = od->file.vmcoreinfo;
            EXPECT_EQ(normalize_build_id(info.build_id()), testing::kBuildId);
            std::uint64_t kaslr = info.kernel_offset();

            auto where = KallsymsLocation::from_vmcoreinfo(info);
            ASSERT_TRUE(where) << "no SYMBOL(kallsyms_*) in VMCOREINFO";
            testing::Stopwatch ks_time;
            auto syms = load_kallsyms(*od->kas, *where);
            ASSERT_TRUE(syms) << syms.error().describe();
            ks_time.report("kallsyms from " + d.scenario + " (" + od->file.format + ")",
                           std::to_string(syms->size()) + " symbols");
            EXPECT_EQ(syms->size(), 94266u);
            // nm addresses + KERNELOFFSET.
            EXPECT_EQ(syms->address_of("__start_BTF"), 0xffffffff824c1b88u + kaslr);
            EXPECT_EQ(syms->address_of("__stop_BTF"), 0xffffffff828ea1f5u + kaslr);
            EXPECT_EQ(syms->address_of("init_task"), 0xffffffff82a1aa40u + kaslr);
            EXPECT_EQ(syms->address_of("down_read"), 0xffffffff81a55c10u + kaslr);
            EXPECT_EQ(syms->address_of("current_task"), 0x1fb80u);
            EXPECT_EQ(syms->address_of("init_top_pgt"), info.symbol("init_top_pgt"));
            EXPECT_EQ(syms->address_of("_stext"), info.symbol("_stext"));
            EXPECT_EQ(syms->lookup(0xffffffff810cd340u + 0xda + kaslr)->format(),
                      "kthread+0xda/0x100");

            testing::Stopwatch btf_time;
            auto btf = load_btf_from_memory(*od->kas, *syms);
            ASSERT_TRUE(btf) << btf.error().describe();
            btf_time.report("BTF read + parse from " + d.scenario);
            EXPECT_EQ((*btf)->type_count(), 100751u);
            EXPECT_EQ((*btf)->describe(), "BTF from the dump (4.4 MB)");
            EXPECT_EQ((*btf)->member("task_struct", "thread.sp")->offset, 5400u);
            EXPECT_EQ((*btf)->member("rwsem_waiter", "type")->offset, 24u);
            ++checked;
        }
    }
    EXPECT_GE(checked, 6);
}

// Found by shape, as on a 5.10 dump whose VMCOREINFO does not name them: the scan of the image
// between _stext and init_uts_ns finds exactly the tables VMCOREINFO names (every format), and
// they decode to the same symbols.
TEST(DumpDebuginfo, KallsymsFoundInTheImageAreTheOnesVmcoreinfoNames) {
    auto dumps = lockhound::testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    int checked = 0;
    for (const auto& d : dumps) {
        if (d.release != testing::kRelease) continue;
        for (const auto& path : d.vmcores) {
            SCOPED_TRACE(path);
            auto od = open_shared(path);
            if (!od) continue;
            const auto& info = od->file.vmcoreinfo;
            auto named = KallsymsLocation::from_vmcoreinfo(info);
            ASSERT_TRUE(named);
            KallsymsScan scan{.start = *info.symbol("_stext"),
                              .end = *info.symbol("init_uts_ns"),
                              .stext = *info.symbol("_stext")};
            testing::Stopwatch scan_time;
            auto found = find_kallsyms_tables(*od->kas, scan);
            ASSERT_TRUE(found) << found.error().describe();
            scan_time.report("kallsyms scan of " + d.scenario + " (" + od->file.format + ")",
                             std::to_string(found->bytes_scanned >> 20) + " MiB scanned");
            ASSERT_FALSE(found->candidates.empty());
            const auto& c = found->candidates.front();
            EXPECT_EQ(c.token_table, named->token_table);
            EXPECT_EQ(c.token_index, named->token_index);
            EXPECT_EQ(c.names, named->names);
            EXPECT_EQ(c.num_syms, named->num_syms);
            EXPECT_EQ(c.offsets, named->offsets);
            EXPECT_EQ(c.relative_base, named->relative_base);
            // It reads the tail of .rodata, not the whole image.
            EXPECT_LT(found->bytes_scanned, 16u << 20);

            auto by_scan = load_kallsyms_by_scan(*od->kas, scan);
            ASSERT_TRUE(by_scan) << by_scan.error().describe();
            auto by_name = load_kallsyms(*od->kas, *named);
            ASSERT_TRUE(by_name);
            ASSERT_EQ(by_scan->size(), by_name->size());
            for (std::size_t i = 0; i < by_scan->size(); ++i) {
                const auto& a = by_scan->symbols()[i];
                const auto& b = by_name->symbols()[i];
                ASSERT_TRUE(a.address == b.address && a.name == b.name && a.type == b.type) << i;
            }
            ++checked;
        }
    }
    EXPECT_GE(checked, 6);
}

TEST(DumpDebuginfo, KallsymsMatchTheElfSymtabExactly) {
    auto vmlinux = testing::reference_vmlinux();
    if (!vmlinux) GTEST_SKIP() << "no vmlinux for " << testing::kRelease;
    auto dumps = lockhound::testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    auto od = open_shared(dumps.front().vmcores.front());
    ASSERT_TRUE(od);
    std::uint64_t kaslr = od->file.vmcoreinfo.kernel_offset();
    auto syms = load_kallsyms(*od->kas, *KallsymsLocation::from_vmcoreinfo(od->file.vmcoreinfo));
    ASSERT_TRUE(syms);
    auto elf = load_elf_symbols(*vmlinux, kaslr);
    ASSERT_TRUE(elf);
    std::set<std::pair<std::string_view, std::uint64_t>> elf_pairs;
    for (const auto& s : elf->symbols()) elf_pairs.emplace(s.name, s.address);
    std::size_t missing = 0;
    for (const auto& s : syms->symbols()) {
        if (elf_pairs.contains({s.name, s.address})) continue;
        ++missing;
        std::printf("not in .symtab: %c %.*s %llx\n",
                    s.type,
                    static_cast<int>(s.name.size()),
                    s.name.data(),
                    static_cast<unsigned long long>(s.address));
    }
    EXPECT_EQ(missing, 0u);
}

// The member offsets lockhound uses, from DWARF (vmlinux) and from the dump's BTF: the two
// sources must agree on every field of MemberInfo.
TEST(DumpDebuginfo, DwarfAndBtfAgreeOnEverythingLockhoundReads) {
    auto vmlinux = testing::reference_vmlinux();
    if (!vmlinux) GTEST_SKIP() << "no vmlinux for " << testing::kRelease;
    auto dumps = lockhound::testing::shared_dumps();
    if (dumps.empty()) GTEST_SKIP() << "../shared/dumps is not present";
    auto od = open_shared(dumps.front().vmcores.front());
    ASSERT_TRUE(od);
    auto syms = load_kallsyms(*od->kas, *KallsymsLocation::from_vmcoreinfo(od->file.vmcoreinfo));
    ASSERT_TRUE(syms);
    auto btf = load_btf_from_memory(*od->kas, *syms);
    ASSERT_TRUE(btf) << btf.error().describe();
    auto dwarf = DwarfTypes::open(*vmlinux, od->file.vmcoreinfo.build_id());
    ASSERT_TRUE(dwarf) << dwarf.error().describe();
    TypeInfo& b = **btf;
    TypeInfo& w = **dwarf;

    struct Probe {
        const char* type;
        const char* path;
        bool required;  // on 6.1 (optional ones exist only on other versions)
    };
    const std::vector<Probe> probes = {
        {"task_struct", "__state", true},
        {"task_struct", "stack", true},
        {"task_struct", "tasks", true},
        {"task_struct", "pid", true},
        {"task_struct", "tgid", true},
        {"task_struct", "comm", true},
        {"task_struct", "mm", true},
        {"task_struct", "active_mm", true},
        {"task_struct", "thread", true},
        {"task_struct", "thread.sp", true},
        {"task_struct", "on_cpu", true},
        {"task_struct", "cpu", false},             // before 5.16
        {"task_struct", "thread_info.cpu", true},  // 5.16+: back in thread_info
        {"task_struct", "thread_info.flags", true},
        {"task_struct", "signal", true},
        {"task_struct", "group_leader", true},
        {"task_struct", "thread_group", true},
        {"task_struct", "thread_node", true},
        {"task_struct", "blocked_on", false},
        {"task_struct", "sched_reset_on_fork", true},  // a bitfield
        {"mm_struct", "mmap_lock", true},
        {"mm_struct", "owner", true},
        {"rw_semaphore", "count", true},
        {"rw_semaphore", "owner", true},
        {"rw_semaphore", "owner.counter", true},
        {"rw_semaphore", "wait_list", true},
        {"rw_semaphore", "wait_lock", true},
        {"mutex", "owner", true},
        {"mutex", "wait_list", true},
        {"mutex", "wait_lock", true},
        {"semaphore", "lock", true},
        {"semaphore", "count", true},
        {"semaphore", "wait_list", true},
        {"rwsem_waiter", "list", true},
        {"rwsem_waiter", "task", true},
        {"rwsem_waiter", "type", true},
        {"rwsem_waiter", "timeout", true},
        {"rwsem_waiter", "handoff_set", true},
        {"mutex_waiter", "list", true},
        {"mutex_waiter", "task", true},
        {"semaphore_waiter", "list", true},
        {"semaphore_waiter", "task", true},
        {"semaphore_waiter", "up", true},
        {"list_head", "next", true},
        {"list_head", "prev", true},
        {"module", "list", true},
        {"module", "name", true},
        {"module", "state", true},
        {"module", "core_layout", true},  // 6.4+: mem[]
        {"module", "core_layout.base", true},
        {"module", "core_layout.size", true},
        {"module", "core_layout.text_size", true},
        {"module", "mem", false},
        {"module", "arch.orc_unwind_ip", true},
        {"module", "arch.orc_unwind", true},
        {"module", "arch.num_orcs", true},
        {"module", "kallsyms", true},
        {"mod_kallsyms", "symtab", true},
        {"mod_kallsyms", "num_symtab", true},
        {"mod_kallsyms", "strtab", true},
        {"mod_kallsyms", "typetab", true},
        {"inactive_task_frame", "bp", true},
        {"inactive_task_frame", "ret_addr", true},
        {"pt_regs", "sp", true},
        {"pt_regs", "ip", true},
        {"signal_struct", "thread_head", true},
    };
    for (const auto& p : probes) {
        SCOPED_TRACE(std::string(p.type) + "." + p.path);
        auto mb = b.member(p.type, p.path);
        auto mw = w.member(p.type, p.path);
        ASSERT_EQ(mb.has_value(), mw.has_value());
        if (p.required) {
            ASSERT_TRUE(mb.has_value());
        }
        if (!mb) continue;
        EXPECT_EQ(mb->offset, mw->offset);
        EXPECT_EQ(mb->size, mw->size);
        EXPECT_EQ(mb->kind, mw->kind) << to_string(mb->kind) << " vs " << to_string(mw->kind);
        EXPECT_EQ(mb->type_name, mw->type_name);
        EXPECT_EQ(mb->bit_offset, mw->bit_offset);
        EXPECT_EQ(mb->bit_size, mw->bit_size);
        EXPECT_EQ(mb->array_count, mw->array_count);
    }
    for (const char* s : {"task_struct",
                          "mm_struct",
                          "rw_semaphore",
                          "mutex",
                          "semaphore",
                          "rwsem_waiter",
                          "mutex_waiter",
                          "semaphore_waiter",
                          "list_head",
                          "module",
                          "mod_kallsyms",
                          "inactive_task_frame",
                          "pt_regs",
                          "orc_entry",
                          "atomic_t",
                          "atomic_long_t"}) {
        SCOPED_TRACE(s);
        auto sb = b.struct_size(s);
        ASSERT_TRUE(sb.has_value());
        EXPECT_EQ(sb, w.struct_size(s));
    }
    for (const char* e : {"RWSEM_WAITING_FOR_WRITE",
                          "RWSEM_WAITING_FOR_READ",
                          "TASK_COMM_LEN",
                          "MODULE_STATE_LIVE",
                          "MODULE_STATE_GOING"}) {
        SCOPED_TRACE(e);
        auto eb = b.enumerator(e);
        EXPECT_EQ(eb, w.enumerator(e));
    }

    // The exact numbers (pahole / the reference measurements) for the core offsets.
    EXPECT_EQ(b.member("task_struct", "tasks")->offset, 2192u);
    EXPECT_EQ(b.member("task_struct", "pid")->offset, 2416u);
    EXPECT_EQ(b.member("task_struct", "comm")->offset, 2976u);
    EXPECT_EQ(b.member("task_struct", "thread.sp")->offset, 5400u);
    EXPECT_EQ(b.member("rw_semaphore", "wait_list")->offset, 24u);
    EXPECT_EQ(b.member("mutex_waiter", "task")->offset, 16u);
    EXPECT_EQ(b.member("mm_struct", "mmap_lock")->offset, 112u);
    EXPECT_EQ(b.struct_size("inactive_task_frame"), 56u);  // r15 r14 r13 r12 bx bp ret_addr
    EXPECT_EQ(b.member("semaphore", "wait_list")->offset, 8u);
    EXPECT_EQ(b.member("semaphore_waiter", "task")->offset, 16u);
    EXPECT_EQ(b.member("list_head", "prev")->offset, 8u);
}

}  // namespace
}  // namespace lockhound::debuginfo
