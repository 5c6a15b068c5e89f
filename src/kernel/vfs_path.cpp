#include "kernel/vfs_path.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::kernel {

namespace {
bool kptr(std::uint64_t p) {
    return p >= 0xffff800000000000ull;
}
}  // namespace

VfsPaths::VfsPaths(Kernel& kernel) : k_(kernel) {}

std::optional<std::uint64_t> VfsPaths::read(std::uint64_t base,
                                            const char* st,
                                            const char* member) {
    auto off = k_.offset_of(st, member);
    if (!off) return std::nullopt;
    auto m = k_.types().member(st, member);
    if (m && m->size == 4) {
        auto v = k_.memory().read_u32(base + *off);
        if (!v) return std::nullopt;
        return *v;
    }
    if (m && m->size == 2) {
        auto v = k_.memory().read_as<std::uint16_t>(base + *off);
        if (!v) return std::nullopt;
        return *v;
    }
    auto v = k_.memory().read_u64(base + *off);
    if (!v) return std::nullopt;
    return *v;
}

std::string VfsPaths::dentry_name(std::uint64_t dentry) {
    auto name = read(dentry, "dentry", "d_name.name");
    if (!name || !kptr(*name)) return {};
    return k_.memory().read_cstring(*name, 256).value_or("");
}

std::optional<std::uint64_t> VfsPaths::dentry_inode(std::uint64_t dentry) {
    return read(dentry, "dentry", "d_inode");
}
std::optional<std::uint64_t> VfsPaths::inode_sb(std::uint64_t inode) {
    return read(inode, "inode", "i_sb");
}
std::optional<std::uint64_t> VfsPaths::inode_mode(std::uint64_t inode) {
    return read(inode, "inode", "i_mode");
}
std::optional<std::uint64_t> VfsPaths::inode_ino(std::uint64_t inode) {
    return read(inode, "inode", "i_ino");
}

std::string VfsPaths::mode_type(std::uint64_t mode) {
    switch (mode & 0170000) {
        case 0140000:
            return "SOCK";
        case 0120000:
            return "LNK";
        case 0100000:
            return "REG";
        case 0060000:
            return "BLK";
        case 0040000:
            return "DIR";
        case 0020000:
            return "CHR";
        case 0010000:
            return "FIFO";
        default:
            return "?";
    }
}

std::optional<SuperBlockInfo> VfsPaths::super_block(std::uint64_t sb, bool with_mounts) {
    if (!kptr(sb)) return std::nullopt;
    auto type = read(sb, "super_block", "s_type");
    if (!type || !kptr(*type)) return std::nullopt;
    auto name_ptr = read(*type, "file_system_type", "name");
    if (!name_ptr || !kptr(*name_ptr)) return std::nullopt;
    SuperBlockInfo info;
    info.address = sb;
    info.fstype = k_.memory().read_cstring(*name_ptr, 32).value_or("");
    if (info.fstype.empty() || !std::all_of(info.fstype.begin(), info.fstype.end(), [](char c) {
            return c > ' ' && c < 127;
        }))
        return std::nullopt;
    if (auto off = k_.offset_of("super_block", "s_id"))
        info.device = k_.memory().read_cstring(sb + *off, 32).value_or("");
    if (with_mounts) {
        auto head_off = k_.offset_of("super_block", "s_mounts");
        auto inst = k_.offset_of("mount", "mnt_instance");
        auto mnt_off = k_.offset_of("mount", "mnt");
        auto root_off = k_.offset_of("vfsmount", "mnt_root");
        if (head_off && inst && mnt_off && root_off) {
            std::uint64_t head = sb + *head_off;
            auto p = k_.memory().read_u64(head);
            for (int n = 0; p && *p != head && kptr(*p) && n < kMaxMounts; ++n) {
                std::uint64_t mnt = *p - *inst;
                auto root = k_.memory().read_u64(mnt + *mnt_off + *root_off);
                if (root) {
                    auto path = path_of(*root, mnt + *mnt_off);
                    info.mount_points.push_back(path.ok() ? path.path : "?");
                }
                p = k_.memory().read_u64(*p);
            }
        }
    }
    return info;
}

bool VfsPaths::looks_like_inode(std::uint64_t inode) {
    auto sb = inode_sb(inode);
    return sb && super_block(*sb).has_value();
}

std::optional<std::uint64_t> VfsPaths::first_mount(std::uint64_t sb) {
    auto head_off = k_.offset_of("super_block", "s_mounts");
    auto inst = k_.offset_of("mount", "mnt_instance");
    auto mnt_off = k_.offset_of("mount", "mnt");
    auto ns_off = k_.offset_of("mount", "mnt_ns");
    auto parent_off = k_.offset_of("mount", "mnt_parent");
    if (!head_off || !inst || !mnt_off || !parent_off) return std::nullopt;
    std::uint64_t head = sb + *head_off;
    auto p = k_.memory().read_u64(head);
    // Best: a mount attached to a parent (it has a mount point); then a namespace's root; then
    // an internal kern_mount.
    std::optional<std::uint64_t> best;
    int best_score = -1;
    for (int n = 0; p && *p != head && kptr(*p) && n < kMaxMounts; ++n) {
        std::uint64_t mnt = *p - *inst;
        std::uint64_t ns = ns_off ? k_.memory().read_u64(mnt + *ns_off).value_or(0) : 0;
        std::uint64_t parent = k_.memory().read_u64(mnt + *parent_off).value_or(0);
        int score = kptr(ns) ? (parent != mnt ? 2 : 1) : 0;
        if (score > best_score) best = mnt + *mnt_off, best_score = score;
        if (score == 2) break;
        p = k_.memory().read_u64(*p);
    }
    return best;
}

PathResult VfsPaths::path_of(std::uint64_t dentry, std::uint64_t vfsmount) {
    PathResult r;
    if (!kptr(dentry)) {
        r.reason = fmt::format("dentry {:#x} is not a kernel pointer", dentry);
        return r;
    }
    auto parent_off = k_.offset_of("dentry", "d_parent");
    auto mnt_off = k_.offset_of("mount", "mnt");
    auto root_off = k_.offset_of("vfsmount", "mnt_root");
    auto mparent_off = k_.offset_of("mount", "mnt_parent");
    auto mpoint_off = k_.offset_of("mount", "mnt_mountpoint");
    if (!parent_off || !mnt_off || !root_off || !mparent_off || !mpoint_off) {
        r.reason = "dentry/mount layout unknown";
        return r;
    }
    if (!vfsmount) {
        if (auto sb = read(dentry, "dentry", "d_sb"); sb && kptr(*sb))
            if (auto m = first_mount(*sb)) vfsmount = *m;
    }
    std::uint64_t mnt = vfsmount ? vfsmount - *mnt_off : 0;
    std::vector<std::string> parts;
    std::set<std::uint64_t> seen;
    std::uint64_t d = dentry;
    bool internal = false;
    for (int steps = 0;; ++steps) {
        if (steps > kMaxComponents) {
            r.reason = fmt::format("more than {} path components (loop?)", kMaxComponents);
            break;
        }
        if (!seen.insert(d).second) {
            r.reason = fmt::format("loop in the dentry parents at {:#x}", d);
            break;
        }
        std::uint64_t mroot = 0;
        if (mnt) mroot = k_.memory().read_u64(mnt + *mnt_off + *root_off).value_or(0);
        if (mnt && d == mroot) {
            auto mp = k_.memory().read_u64(mnt + *mparent_off);
            if (!mp || !kptr(*mp)) {
                r.reason = fmt::format("mount {:#x} unreadable", mnt);
                break;
            }
            if (*mp == mnt) {  // the namespace's root (or an internal mount)
                if (auto ns = k_.offset_of("mount", "mnt_ns"))
                    internal = !kptr(k_.memory().read_u64(mnt + *ns).value_or(0));
                break;
            }
            auto point = k_.memory().read_u64(mnt + *mpoint_off);
            if (!point || !kptr(*point)) {
                r.reason = fmt::format("mount point of mount {:#x} unreadable", mnt);
                break;
            }
            d = *point;
            mnt = *mp;
            seen.erase(d);  // the mount point is seen again from the parent mount
            continue;
        }
        auto parent = k_.memory().read_u64(d + *parent_off);
        if (!parent || !kptr(*parent)) {
            r.reason = fmt::format("dentry {:#x} unreadable or a wild d_parent", d);
            break;
        }
        if (*parent == d) {  // a root that is not the mount's: disconnected or unmounted
            if (mnt) internal = true;
            if (!mnt) internal = true;
            break;
        }
        std::string name = dentry_name(d);
        if (name.empty()) {
            r.reason = fmt::format("dentry {:#x} has no readable name", d);
            break;
        }
        parts.push_back(std::move(name));
        d = *parent;
    }
    std::string path;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += "/" + *it;
    if (internal && r.reason.empty()) {
        // Pseudo file systems (pipefs, sockfs, anon inodes) mounted nowhere: "pipefs:[1234]".
        std::string fstype = "?";
        if (auto sb = read(dentry, "dentry", "d_sb"))
            if (auto info = super_block(*sb)) fstype = info->fstype;
        std::uint64_t ino = 0;
        if (auto in = dentry_inode(dentry); in && kptr(*in)) ino = inode_ino(*in).value_or(0);
        std::string name = dentry_name(dentry);
        r.path = parts.size() <= 1 && (name.empty() || name == "/")
                     ? fmt::format("{}:[{}]", fstype, ino)
                     : fmt::format("{}:{}", fstype, path);
        return r;
    }
    r.path = path.empty() ? "/" : path;
    return r;
}

PathResult VfsPaths::path_of_inode(std::uint64_t inode) {
    PathResult r;
    auto head = read(inode, "inode", "i_dentry");
    auto alias = k_.offset_of("dentry", "d_u.d_alias");
    if (!alias) alias = k_.offset_of("dentry", "d_alias");
    if (!head || !alias) {
        r.reason = "inode i_dentry / dentry d_alias unknown or unreadable";
        return r;
    }
    if (*head == 0) {
        r.reason = "the inode has no dentry (no name in the dentry cache)";
        return r;
    }
    if (!kptr(*head)) {
        r.reason = fmt::format("wild i_dentry pointer {:#x}", *head);
        return r;
    }
    std::uint64_t dentry = *head - *alias;
    if (dentry_inode(dentry).value_or(0) != inode) {
        r.reason =
            fmt::format("dentry {:#x} of the inode's alias list does not point back", dentry);
        return r;
    }
    return path_of(dentry, 0);
}

}  // namespace lockhound::kernel
