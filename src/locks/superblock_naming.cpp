#include "locks/superblock_naming.h"

#include <array>

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::locks {

namespace {

constexpr std::size_t kMaxSuperblocks = 4096;
constexpr int kMaxMountDepth = 16;
constexpr int kMaxPathComponents = 64;

bool kernel_pointer(std::uint64_t v) {
    return v >= 0xffff800000000000ull && (v & 7) == 0;
}

// enum sb_freeze_state (include/linux/fs.h): names looked up in the dump's types by value.
constexpr std::array<const char*, 5> kFreezeNames = {
    "SB_UNFROZEN", "SB_FREEZE_WRITE", "SB_FREEZE_PAGEFAULT", "SB_FREEZE_FS", "SB_FREEZE_COMPLETE"};

std::string freeze_name(kernel::Kernel& k, std::int64_t value) {
    for (const char* n : kFreezeNames)
        if (auto v = k.types().enumerator(n); v && *v == value) return n;
    return fmt::format("level {}", value);
}

struct Offsets {
    std::uint64_t s_list, s_writers, rw_sem, frozen, s_id, s_type, fs_name;
    std::optional<std::uint64_t> s_mounts, mnt_instance, mnt_mountpoint, mnt_parent, d_name_name,
        d_parent;
};

std::optional<Offsets> offsets(kernel::Kernel& k) {
    auto s_list = k.offset_of("super_block", "s_list");
    auto s_writers = k.offset_of("super_block", "s_writers");
    auto rw_sem = k.offset_of("sb_writers", "rw_sem");
    auto frozen = k.offset_of("sb_writers", "frozen");
    auto s_id = k.offset_of("super_block", "s_id");
    auto s_type = k.offset_of("super_block", "s_type");
    auto fs_name = k.offset_of("file_system_type", "name");
    if (!s_list || !s_writers || !rw_sem || !frozen || !s_id || !s_type || !fs_name)
        return std::nullopt;
    return Offsets{*s_list,
                   *s_writers,
                   *rw_sem,
                   *frozen,
                   *s_id,
                   *s_type,
                   *fs_name,
                   k.offset_of("super_block", "s_mounts"),
                   k.offset_of("mount", "mnt_instance"),
                   k.offset_of("mount", "mnt_mountpoint"),
                   k.offset_of("mount", "mnt_parent"),
                   k.offset_of("dentry", "d_name.name"),
                   k.offset_of("dentry", "d_parent")};
}

std::string fstype_of(kernel::Kernel& k, const Offsets& o, std::uint64_t sb) {
    auto type = k.memory().read_u64(sb + o.s_type);
    if (!type || !kernel_pointer(*type)) return "?";
    auto name = k.memory().read_u64(*type + o.fs_name);
    if (!name) return "?";
    return k.memory().read_cstring(*name, 32).value_or("?");
}

// Path of the superblock's first mount: dentry names up to each mount's root, then the parent.
std::string mount_point(kernel::Kernel& k, const Offsets& o, std::uint64_t sb) {
    if (!o.s_mounts || !o.mnt_instance || !o.mnt_mountpoint || !o.mnt_parent || !o.d_name_name ||
        !o.d_parent)
        return "";
    auto& mem = k.memory();
    auto first = mem.read_u64(sb + *o.s_mounts);
    if (!first || *first == sb + *o.s_mounts || !kernel_pointer(*first)) return "";
    std::uint64_t mnt = *first - *o.mnt_instance;
    std::string path;
    for (int depth = 0; depth < kMaxMountDepth; ++depth) {
        auto parent = mem.read_u64(mnt + *o.mnt_parent);
        if (!parent || !kernel_pointer(*parent)) return "";
        if (*parent == mnt) break;  // the namespace's root mount
        auto d = mem.read_u64(mnt + *o.mnt_mountpoint);
        if (!d || !kernel_pointer(*d)) return "";
        std::uint64_t dentry = *d;
        for (int i = 0; i < kMaxPathComponents; ++i) {
            auto up = mem.read_u64(dentry + *o.d_parent);
            if (!up || !kernel_pointer(*up)) return "";
            if (*up == dentry) break;
            auto np = mem.read_u64(dentry + *o.d_name_name);
            if (!np) return "";
            auto name = mem.read_cstring(*np, 256);
            if (!name) return "";
            path = fmt::format("/{}{}", *name, path);
            dentry = *up;
        }
        mnt = *parent;
    }
    return path.empty() ? "/" : path;
}

}  // namespace

std::optional<SbWritersName> name_sb_writers(kernel::Kernel& k,
                                             std::uint64_t address,
                                             std::uint64_t lock_size) {
    if (!lock_size) return std::nullopt;
    auto head = k.symbols().address_of("super_blocks");
    if (!head) return std::nullopt;
    auto o = offsets(k);
    if (!o) return std::nullopt;
    auto& mem = k.memory();
    std::uint64_t node = mem.read_u64(*head).value_or(0);
    for (std::size_t n = 0; n < kMaxSuperblocks && node != *head && kernel_pointer(node); ++n) {
        std::uint64_t sb = node - o->s_list;
        std::uint64_t first = sb + o->s_writers + o->rw_sem;
        if (address >= first && address < first + 3 * lock_size &&
            (address - first) % lock_size == 0) {
            SbWritersName r;
            r.superblock = sb;
            r.level = static_cast<int>((address - first) / lock_size) + 1;
            r.device = mem.read_cstring(sb + o->s_id, 32).value_or("?");
            r.fstype = fstype_of(k, *o, sb);
            r.mount_point = mount_point(k, *o, sb);
            if (auto f = mem.read_u32(sb + o->s_writers + o->frozen)) {
                r.frozen = static_cast<std::int32_t>(*f);
                r.frozen_name = freeze_name(k, r.frozen);
                auto complete = k.types().enumerator("SB_FREEZE_COMPLETE");
                r.frozen_complete = complete && *complete == r.frozen;
            }
            std::string where = fmt::format("{} on {}", r.fstype, r.device);
            if (!r.mount_point.empty()) where += fmt::format(", mounted on {}", r.mount_point);
            r.name = fmt::format(
                "sb_writers level {} ({}) of {}", r.level, freeze_name(k, r.level), where);
            r.evidence = fmt::format(
                "super_block {:#x} (kernel list super_blocks): s_writers.rw_sem[{}]; "
                "s_writers.frozen = {} ({})",
                sb,
                r.level - 1,
                r.frozen,
                r.frozen_name);
            return r;
        }
        node = mem.read_u64(node).value_or(0);
    }
    return std::nullopt;
}

}  // namespace lockhound::locks
