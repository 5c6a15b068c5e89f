#include "locks/task_frames.h"

#include <algorithm>

#include "kernel/kernel.h"

namespace lockhound::locks {

std::string base_function(const std::string& name) {
    std::string n = name;
    for (const char* suffix : {".isra", ".constprop", ".part", ".cold", ".localalias"}) {
        if (auto p = n.find(suffix); p != std::string::npos) n.resize(p);
    }
    return n;
}

TaskFrames::TaskFrames(kernel::Kernel& kernel) : kernel_(kernel) {
    auto u = kernel::TaskUnwinder::create(kernel);
    if (u) {
        unwinder_ = std::move(*u);
    } else {
        note_ = "no unwinder: " + u.error().describe();
        kernel_.warn(note_);
    }
}

const TaskStackInfo& TaskFrames::of(const kernel::Task& task) {
    if (auto it = cache_.find(task.address); it != cache_.end()) return it->second;
    TaskStackInfo info;
    if (unwinder_) {
        kernel::Backtrace bt = unwinder_->backtrace(task);
        info.reliable = bt.reliable();
        if (bt.error) info.error = bt.error->describe();
        const auto& syms = kernel_.symbols();
        for (const auto& f : bt.frames) {
            FrameInfo fi;
            fi.pc = f.pc;
            fi.function = f.function;
            fi.symbol = f.symbol();
            // Return addresses belong to the call before them (as the kernel's %pB does).
            std::uint64_t at = f.pc_is_exact || f.pc == 0 ? f.pc : f.pc - 1;
            if (auto r = syms.lookup(at)) {
                fi.function_start = r->symbol->address;
                // The frame's size is bounded by its text's end (a module's last function).
                fi.function_size = f.size && f.size < r->size ? f.size : r->size;
                if (fi.function.empty()) fi.function = r->symbol->name;
            }
            info.frames.push_back(std::move(fi));
        }
    }
    return cache_.emplace(task.address, std::move(info)).first->second;
}

const FrameInfo* TaskFrames::find(const kernel::Task& task, const std::vector<std::string>& names) {
    const auto& info = of(task);
    for (const auto& f : info.frames) {
        std::string b = base_function(f.function);
        if (std::find(names.begin(), names.end(), b) != names.end()) return &f;
    }
    return nullptr;
}

}  // namespace lockhound::locks
