// A task's open files as crash's `files` shows them: ROOT, CWD, then per fd the struct file,
// dentry, inode, type and path. The fd table is read once, bounded by max_fds (<= kMaxFds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lockhound::kernel {

class Kernel;
struct Task;

struct OpenFile {
    int fd = 0;
    std::uint64_t file = 0, dentry = 0, inode = 0, vfsmount = 0;
    std::string type;    // "REG", "DIR", "CHR", ...
    std::string path;    // untrusted bytes
    std::string reason;  // why the path is incomplete, if it is
};

struct TaskFiles {
    std::string root, cwd;  // paths of fs->root and fs->pwd
    std::uint64_t root_dentry = 0, cwd_dentry = 0;
    std::vector<OpenFile> files;
    std::string problem;  // unreadable files_struct / fdtable, etc.
};

constexpr int kMaxFds = 1 << 16;

TaskFiles open_files(Kernel& kernel, const Task& task);
// One struct file's dentry, inode, type and path.
OpenFile describe_file(Kernel& kernel, std::uint64_t file);

}  // namespace lockhound::kernel

namespace lockhound::kernel {

struct PathLookup {
    std::uint64_t inode = 0;
    std::uint64_t dentry = 0;
    std::string where;  // "open as fd 3 by pid 120 (cat)", "cwd of pid 1"
};

// Finds the inode of PATH among what tasks hold: every task's open files, its cwd and root
// (each fd table bounded). nullopt when no task holds it (the dentry cache is not searched).
std::optional<PathLookup> find_path(Kernel& kernel, const std::string& path);

}  // namespace lockhound::kernel
