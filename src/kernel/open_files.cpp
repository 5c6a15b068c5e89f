#include "kernel/open_files.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/vfs_path.h"

namespace lockhound::kernel {

namespace {
bool kptr(std::uint64_t p) {
    return p >= 0xffff800000000000ull;
}
}  // namespace

OpenFile describe_file(Kernel& k, std::uint64_t file) {
    OpenFile f;
    f.file = file;
    VfsPaths vfs(k);
    auto d = k.offset_of("file", "f_path.dentry"), m = k.offset_of("file", "f_path.mnt");
    if (!d || !m) {
        f.reason = "struct file layout unknown";
        return f;
    }
    f.dentry = k.memory().read_u64(file + *d).value_or(0);
    f.vfsmount = k.memory().read_u64(file + *m).value_or(0);
    if (auto in = k.offset_of("file", "f_inode"))
        f.inode = k.memory().read_u64(file + *in).value_or(0);
    if (!f.inode && kptr(f.dentry)) f.inode = vfs.dentry_inode(f.dentry).value_or(0);
    if (kptr(f.inode)) f.type = VfsPaths::mode_type(vfs.inode_mode(f.inode).value_or(0));
    auto p = vfs.path_of(f.dentry, f.vfsmount);
    f.path = p.path;
    f.reason = p.reason;
    return f;
}

TaskFiles open_files(Kernel& k, const Task& task) {
    TaskFiles out;
    VfsPaths vfs(k);
    if (auto fs_off = k.offset_of("task_struct", "fs")) {
        auto fs = k.memory().read_u64(task.address + *fs_off);
        auto root_d = k.offset_of("fs_struct", "root.dentry"),
             root_m = k.offset_of("fs_struct", "root.mnt");
        auto pwd_d = k.offset_of("fs_struct", "pwd.dentry"),
             pwd_m = k.offset_of("fs_struct", "pwd.mnt");
        if (fs && kptr(*fs) && root_d && root_m && pwd_d && pwd_m) {
            out.root_dentry = k.memory().read_u64(*fs + *root_d).value_or(0);
            out.cwd_dentry = k.memory().read_u64(*fs + *pwd_d).value_or(0);
            auto r = vfs.path_of(out.root_dentry, k.memory().read_u64(*fs + *root_m).value_or(0));
            auto c = vfs.path_of(out.cwd_dentry, k.memory().read_u64(*fs + *pwd_m).value_or(0));
            out.root = r.ok() ? r.path : "? (" + r.reason + ")";
            out.cwd = c.ok() ? c.path : "? (" + c.reason + ")";
        }
    }
    auto files_off = k.offset_of("task_struct", "files");
    auto fdt_off = k.offset_of("files_struct", "fdt");
    auto max_off = k.offset_of("fdtable", "max_fds");
    auto fd_off = k.offset_of("fdtable", "fd");
    if (!files_off || !fdt_off || !max_off || !fd_off) {
        out.problem = "files_struct / fdtable layout unknown";
        return out;
    }
    auto files = k.memory().read_u64(task.address + *files_off);
    if (!files || !kptr(*files)) {
        out.problem =
            files ? "no files_struct (exiting task or kernel thread)" : "task->files unreadable";
        return out;
    }
    auto fdt = k.memory().read_u64(*files + *fdt_off);
    if (!fdt || !kptr(*fdt)) {
        out.problem = "files->fdt unreadable";
        return out;
    }
    auto max = k.memory().read_u32(*fdt + *max_off);
    auto fds = k.memory().read_u64(*fdt + *fd_off);
    if (!max || !fds || !kptr(*fds)) {
        out.problem = "fdtable unreadable";
        return out;
    }
    std::uint32_t n = *max;
    if (n > static_cast<std::uint32_t>(kMaxFds)) {
        out.problem = fmt::format("max_fds {} capped at {}", n, kMaxFds);
        n = kMaxFds;
    }
    std::vector<std::uint64_t> table(n);
    for (std::uint32_t i = 0; i < n; i += 512) {
        std::uint32_t len = std::min<std::uint32_t>(512, n - i);
        if (!k.memory().read(*fds + i * 8ull,
                             std::as_writable_bytes(std::span(table.data() + i, len)))) {
            out.problem = fmt::format("fd array unreadable from fd {}", i);
            table.resize(i);
            break;
        }
    }
    for (std::size_t fd = 0; fd < table.size(); ++fd) {
        if (!table[fd]) continue;
        if (!kptr(table[fd])) continue;
        OpenFile f = describe_file(k, table[fd]);
        f.fd = static_cast<int>(fd);
        out.files.push_back(std::move(f));
    }
    return out;
}

}  // namespace lockhound::kernel

namespace lockhound::kernel {

std::optional<PathLookup> find_path(Kernel& k, const std::string& path) {
    VfsPaths vfs(k);
    std::vector<std::uint64_t> seen_files;
    for (const Task& t : k.tasks()) {
        TaskFiles tf = open_files(k, t);
        for (const auto& f : tf.files)
            if (f.path == path && f.reason.empty() && kptr(f.inode))
                return PathLookup{f.inode,
                                  f.dentry,
                                  fmt::format("open as fd {} by pid {} ({})", f.fd, t.pid, t.comm)};
        for (auto [p, d, what] : {std::tuple{tf.cwd, tf.cwd_dentry, "cwd"},
                                  std::tuple{tf.root, tf.root_dentry, "root"}}) {
            if (p != path || !kptr(d)) continue;
            if (auto in = vfs.dentry_inode(d); in && kptr(*in))
                return PathLookup{*in, d, fmt::format("{} of pid {} ({})", what, t.pid, t.comm)};
        }
    }
    return std::nullopt;
}

}  // namespace lockhound::kernel
