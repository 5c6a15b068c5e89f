#include "kernel/kernel.h"

#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "kernel/debuginfo_selection.h"
#include "kernel/module_walker.h"
#include "kernel/task_walker.h"

namespace lockhound::kernel {

struct Kernel::Impl {
    dump::DumpFile dump;
    std::unique_ptr<dump::KernelAddressSpace> address_space;
    std::unique_ptr<dump::VirtualMemory> patched;  // over address_space, with memory_patches
    dump::VirtualMemory* memory = nullptr;         // what everything reads
    SelectedDebuginfo debuginfo;
    std::optional<std::vector<Task>> tasks;
    std::unordered_map<int, std::size_t> by_pid;
    std::unordered_map<std::uint64_t, std::size_t> by_address;
    std::vector<Module> modules;
    bool modules_loaded = false;
    std::map<std::pair<std::string, std::string>, std::optional<std::uint64_t>, std::less<>>
        offsets;
    std::vector<std::string> warnings;
    std::vector<std::string> notes;
    std::string release;
};

Kernel::Kernel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Kernel::~Kernel() = default;

Result<std::unique_ptr<Kernel>> Kernel::open(const OpenOptions& options) {
    auto impl = std::make_unique<Impl>();
    auto d = dump::open_dump(options.dump_path);
    if (!d) {
        Error e = d.error();
        e.message = fmt::format("{}: {}", options.dump_path, e.message);
        return std::unexpected(e);
    }
    impl->dump = std::move(*d);
    impl->release = impl->dump.vmcoreinfo.osrelease();
    if (impl->release.empty()) impl->release = impl->dump.header_release;
    auto setup = dump::PagingSetup::from_vmcoreinfo(impl->dump.vmcoreinfo);
    if (!setup) return std::unexpected(setup.error());
    impl->address_space = std::make_unique<dump::KernelAddressSpace>(*impl->dump.memory, *setup);
    impl->memory = impl->address_space.get();
    if (!options.memory_patches.empty()) {
        impl->patched =
            std::make_unique<PatchedMemory>(*impl->address_space, options.memory_patches);
        impl->memory = impl->patched.get();
    }
    auto di = select_debuginfo(impl->dump, *impl->memory, options);
    if (!di) return std::unexpected(di.error());
    impl->debuginfo = std::move(*di);
    std::vector<std::string> notes = impl->debuginfo.notes;
    std::unique_ptr<Kernel> k(new Kernel(std::move(impl)));
    for (auto& n : notes) k->note(std::move(n));
    k->modules();  // module symbols join the symbol table before anyone resolves addresses
    return k;
}

dump::VirtualMemory& Kernel::memory() {
    return *impl_->memory;
}
debuginfo::TypeInfo& Kernel::types() {
    return *impl_->debuginfo.types;
}
const debuginfo::SymbolTable& Kernel::symbols() {
    return impl_->debuginfo.symbols;
}
const dump::DumpFile& Kernel::dump() const {
    return impl_->dump;
}
const std::string& Kernel::release() const {
    return impl_->release;
}
std::string Kernel::debuginfo_description() const {
    return impl_->debuginfo.description;
}
std::optional<std::string> Kernel::vmlinux_path() const {
    return impl_->debuginfo.vmlinux_path;
}

std::optional<std::uint64_t> Kernel::offset_of(std::string_view struct_name,
                                               std::string_view path) {
    auto key = std::pair{std::string(struct_name), std::string(path)};
    if (auto it = impl_->offsets.find(key); it != impl_->offsets.end()) return it->second;
    std::optional<std::uint64_t> off;
    if (auto m = types().member(struct_name, path)) off = m->offset;
    impl_->offsets.emplace(std::move(key), off);
    return off;
}

const std::vector<Task>& Kernel::tasks() {
    if (impl_->tasks) return *impl_->tasks;
    TaskWalkResult r = walk_tasks(*this);
    for (auto& p : r.problems) warn(std::move(p));
    const auto& tasks = impl_->tasks.emplace(std::move(r.tasks));
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        const Task& t = tasks[i];
        impl_->by_address.emplace(t.address, i);
        if (!t.is_idle || t.pid != 0) impl_->by_pid.emplace(t.pid, i);
    }
    return tasks;
}

const Task* Kernel::task_by_pid(int pid) {
    const auto& ts = tasks();
    auto it = impl_->by_pid.find(pid);
    return it == impl_->by_pid.end() ? nullptr : &ts[it->second];
}

const Task* Kernel::task_by_address(std::uint64_t address) {
    const auto& ts = tasks();
    auto it = impl_->by_address.find(address);
    return it == impl_->by_address.end() ? nullptr : &ts[it->second];
}

const std::vector<Module>& Kernel::modules() {
    if (!impl_->modules_loaded) {
        impl_->modules_loaded = true;
        ModuleWalkResult r = walk_modules(*this);
        for (auto& p : r.problems) warn(std::move(p));
        impl_->modules = std::move(r.modules);
        if (!r.symbols.empty()) {
            for (auto& s : r.symbols) impl_->debuginfo.symbols.add(std::move(s));
            impl_->debuginfo.symbols.finalize();
        }
    }
    return impl_->modules;
}

const Module* Kernel::module_containing(std::uint64_t address) {
    for (const Module& m : modules())
        if (address >= m.core_base && address - m.core_base < m.core_size) return &m;
    return nullptr;
}

void Kernel::warn(std::string message) {
    impl_->warnings.push_back(std::move(message));
}
const std::vector<std::string>& Kernel::warnings() const {
    return impl_->warnings;
}

void Kernel::note(std::string message) {
    impl_->notes.push_back(std::move(message));
}
const std::vector<std::string>& Kernel::notes() const {
    return impl_->notes;
}

}  // namespace lockhound::kernel
