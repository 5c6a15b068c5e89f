// Paths through the VFS: a dentry (and the mount it is seen through) to "/mnt/data.db", an inode
// to one of its names (through its i_dentry aliases), a super_block to fstype and device.
// Every walk is bounded (kMaxComponents) and loop-safe; a wild pointer or a loop in d_parent or
// the mount chain gives an incomplete result with the reason, never a guess.
//
//   VfsPaths vfs(kernel);
//   PathResult p = vfs.path_of(dentry, vfsmount);   // p.ok(), p.path, p.reason
//   auto sb = vfs.super_block_of_inode(inode);      // {fstype "ext4", device "vda1"}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lockhound::kernel {

class Kernel;

struct PathResult {
    std::string path;    // as far as it could be built (untrusted bytes)
    std::string reason;  // empty when the path is complete
    bool ok() const { return reason.empty() && !path.empty(); }
};

struct SuperBlockInfo {
    std::uint64_t address = 0;
    std::string fstype;                     // file_system_type.name
    std::string device;                     // s_id
    std::vector<std::string> mount_points;  // bounded
};

class VfsPaths {
  public:
    static constexpr int kMaxComponents = 256;
    static constexpr int kMaxMounts = 64;
    explicit VfsPaths(Kernel& kernel);

    // dentry seen through vfsmount (0: the first mount of the dentry's super block).
    PathResult path_of(std::uint64_t dentry, std::uint64_t vfsmount = 0);
    // A name of the inode: its first i_dentry alias through the super block's first mount.
    PathResult path_of_inode(std::uint64_t inode);
    // Plausibly an inode: i_sb points at a super block with a named file system type.
    bool looks_like_inode(std::uint64_t inode);
    std::optional<SuperBlockInfo> super_block(std::uint64_t sb, bool with_mounts = false);
    std::optional<std::uint64_t> inode_sb(std::uint64_t inode);
    std::optional<std::uint64_t> dentry_inode(std::uint64_t dentry);
    std::optional<std::uint64_t> inode_mode(std::uint64_t inode);
    std::optional<std::uint64_t> inode_ino(std::uint64_t inode);
    std::string dentry_name(std::uint64_t dentry);
    // "REG", "DIR", "CHR", "BLK", "FIFO", "SOCK", "LNK" from i_mode.
    static std::string mode_type(std::uint64_t mode);

  private:
    std::optional<std::uint64_t> read(std::uint64_t base, const char* st, const char* member);
    std::optional<std::uint64_t> first_mount(std::uint64_t sb);

    Kernel& k_;
};

}  // namespace lockhound::kernel
