#include "kernel/task_unwinder.h"

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "kernel/kernel.h"
#include "kernel/orc_loader.h"
#include "kernel/percpu.h"

namespace lockhound::kernel {
namespace {

constexpr std::uint64_t kPage = 4096;

// The vmlinux's table must be the one the dump runs: its first IPs (after the KASLR shift) must
// equal those of the table in memory. Unreadable memory is not held against it.
bool agrees_with_memory(const OrcTable& t,
                        dump::VirtualMemory& memory,
                        const debuginfo::SymbolTable& symbols,
                        std::string& why) {
    auto start = symbols.address_of("__start_orc_unwind_ip");
    if (!start) return true;
    const std::size_t n = std::min<std::size_t>(t.size(), 1024);
    auto bytes = memory.read_bytes(*start, n * 4);
    if (!bytes) return true;
    ByteReader r(*bytes);
    std::size_t same = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t ip =
            *start + (i * 4) + static_cast<std::uint64_t>(std::int64_t{r.i32(i * 4).value_or(0)});
        if (ip == t.ip_at(i)) ++same;
    }
    if (same * 10 >= n * 9) return true;
    why = fmt::format(
        "the vmlinux's ORC table does not match the dump's ({} of {} IPs agree)", same, n);
    return false;
}

}  // namespace

Result<std::unique_ptr<TaskUnwinder>> TaskUnwinder::create(Kernel& kernel,
                                                           const TaskUnwinderOptions& options) {
    std::unique_ptr<TaskUnwinder> u(new TaskUnwinder(kernel));
    if (auto r = u->load(options); !r) return std::unexpected(r.error());
    return u;
}

Result<> TaskUnwinder::load(const TaskUnwinderOptions& options) {
    Kernel& k = kernel_;
    const auto& symbols = k.symbols();
    OrcFormatHints hints{.release = k.release(), .types = &k.types()};

    Result<OrcTable> table = fail(ErrorKind::kNotFound, "no vmlinux in use");
    if (options.orc_source != OrcSource::kMemory && k.vmlinux_path()) {
        table = load_vmlinux_orc(*k.vmlinux_path(), k.dump().vmcoreinfo.kernel_offset(), hints);
        std::string why;
        if (table && !agrees_with_memory(*table, k.memory(), symbols, why)) {
            notes_.push_back(why);
            table = fail(ErrorKind::kMismatch, why);
        } else if (!table) {
            notes_.push_back(fmt::format("vmlinux ORC: {}", table.error().describe()));
        }
    }
    if (!table && options.orc_source == OrcSource::kVmlinux) return std::unexpected(table.error());
    if (!table) table = load_kernel_orc_from_memory(k.memory(), symbols, hints);
    if (!table) return std::unexpected(table.error());
    const OrcFormat format = table->format();
    orc_description_ = table->description();
    // The vmlinux table knows .text; a table from memory knows _stext/_etext if the symbols do.
    tables_.set_kernel(std::move(*table));

    unwinder_ = std::make_unique<Unwinder>(k.memory(), symbols, tables_);
    auto stext = symbols.address_of("_stext");
    auto etext = symbols.address_of("_etext");
    if (stext && etext && *etext > *stext) {
        unwinder_->add_text(*stext, *etext, "");
    } else {
        unwinder_->add_text(tables_.kernel().first_ip(), tables_.kernel().end(), "");
        notes_.emplace_back("no _stext/_etext: kernel text taken from the ORC table");
    }
    auto sinit = symbols.address_of("_sinittext");
    auto einit = symbols.address_of("_einittext");
    if (sinit && einit && *einit > *sinit) unwinder_->add_text(*sinit, *einit, "");
    for (const char* name : {"ret_from_fork", "ret_from_fork_asm"})
        if (auto a = symbols.address_of(name)) unwinder_->add_fork_entry(*a);

    std::size_t with_orc = 0;
    for (const Module& m : k.modules()) {
        if (m.text_base && m.text_size)
            unwinder_->add_text(m.text_base, m.text_base + m.text_size, m.name);
        if (!options.modules) continue;
        auto mt = load_module_orc(k.memory(), m, format);
        if (!mt) {
            notes_.push_back(fmt::format("module {}: {}", m.name, mt.error().describe()));
            continue;
        }
        tables_.add_module(std::move(*mt), m.text_base, m.text_base + m.text_size);
        ++with_orc;
    }
    if (!k.modules().empty())
        orc_description_ +=
            fmt::format("; {} of {} modules with ORC", with_orc, k.modules().size());

    frame_size_ = k.types().struct_size("inactive_task_frame").value_or(0);
    if (frame_size_ == 0)
        notes_.emplace_back("no struct inactive_task_frame: its size is guessed per task");
    return {};
}

const std::vector<StackRegion>& TaskUnwinder::cpu_stacks(int cpu) {
    const auto index = static_cast<std::size_t>(cpu);
    if (cpu_stacks_.size() <= index) cpu_stacks_.resize(index + 1);
    if (const auto& cached = cpu_stacks_[index]) return *cached;
    std::vector<StackRegion> out;
    Kernel& k = kernel_;
    // IRQ stack: the per-CPU pointer holds its top (6.1: top - 8; pcpu_hot from 6.2).
    std::optional<std::uint64_t> slot;
    if (auto a = percpu_address(k, "hardirq_stack_ptr", cpu)) {
        slot = *a;
    } else if (auto h = percpu_address(k, "pcpu_hot", cpu)) {
        if (auto off = k.offset_of("pcpu_hot", "hardirq_stack_ptr")) slot = *h + *off;
    }
    if (slot) {
        if (auto ptr = k.memory().read_u64(*slot); ptr && *ptr) {
            std::uint64_t top = (*ptr + kPage - 1) & ~(kPage - 1);
            std::uint64_t size = default_stack_size_;
            if (top > size) out.push_back({top - size, top, StackKind::kIrq});
        }
    }
    // Exception stacks (NMI, #DF, #DB, #MC, #VC) of the CPU's entry area.
    if (auto a = percpu_address(k, "cea_exception_stacks", cpu)) {
        if (auto base = k.memory().read_u64(*a); base && *base) {
            for (const char* name :
                 {"DF_stack", "NMI_stack", "DB_stack", "MCE_stack", "VC_stack", "VC2_stack"}) {
                auto m = k.types().member("cea_exception_stacks", name);
                if (m && m->size > 0 && m->size <= (1u << 20))
                    out.push_back(
                        {*base + m->offset, *base + m->offset + m->size, StackKind::kException});
            }
        }
    }
    return cpu_stacks_[index].emplace(std::move(out));
}

std::vector<StackRegion> TaskUnwinder::stacks_of(const Task& task) {
    std::vector<StackRegion> stacks;
    const std::uint64_t size = task.stack_size ? task.stack_size : default_stack_size_;
    if (task.stack_base)
        stacks.push_back({task.stack_base, task.stack_base + size, StackKind::kTask});
    if (task.cpu_regs && task.cpu >= 0 && task.cpu < 65536)
        for (const auto& s : cpu_stacks(task.cpu)) stacks.push_back(s);
    return stacks;
}

Backtrace TaskUnwinder::backtrace(const Task& task, const UnwindOptions& options) {
    if (task.stack_size) default_stack_size_ = task.stack_size;
    std::vector<StackRegion> stacks = stacks_of(task);
    Backtrace bt;
    if (stacks.empty()) {
        bt.error = Error::make(ErrorKind::kNotFound, "the task has no stack (exited?)");
    } else if (task.cpu_regs) {
        bt = unwinder_->unwind_regs(*task.cpu_regs, stacks, options);
    } else if (task.saved_sp) {
        bt = unwinder_->unwind_inactive(task.saved_sp, frame_size_, stacks, options);
    } else {
        bt.error = Error::make(ErrorKind::kNotFound, "the task has no saved stack pointer");
    }
    bt.task = task.address;
    bt.pid = task.pid;
    return bt;
}

}  // namespace lockhound::kernel
