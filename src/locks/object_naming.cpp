#include "locks/object_naming.h"

#include <array>

#include <fmt/format.h>

#include "kernel/address_identity.h"
#include "kernel/kernel.h"
#include "kernel/vfs_path.h"

namespace lockhound::locks {

namespace {

bool kptr(std::uint64_t p) {
    return p >= 0xffff800000000000ull;
}

// Lock members of each container, tried in order (renamed across versions: i_mutex -> i_rwsem
// in 4.7, mmap_sem -> mmap_lock in 5.8); the first that the types have and that puts the
// container inside the slab object wins.
constexpr std::array kInodeMembers{
    "i_rwsem", "i_mutex", "i_data.i_mmap_rwsem", "i_data.invalidate_lock", "i_mmap_mutex"};
constexpr std::array kSuperMembers{"s_umount", "s_vfs_rename_mutex", "s_sync_lock"};
constexpr std::array kMmMembers{"mmap_lock", "mmap_sem"};
constexpr std::array kFileMembers{"f_pos_lock"};

struct Slot {
    std::uint64_t container = 0;
    std::string member;
};

// Where `address` puts a container of type `st` embedding member `m`, if inside the object.
template <std::size_t N>
std::optional<Slot> place(kernel::Kernel& k,
                          const kernel::SlabObject& o,
                          std::uint64_t address,
                          const char* st,
                          const std::array<const char*, N>& members) {
    auto size = k.types().struct_size(st);
    if (!size) return std::nullopt;
    for (const char* m : members) {
        auto off = k.offset_of(st, m);
        if (!off || address < *off) continue;
        std::uint64_t c = address - *off;
        if (c < o.object || c + *size > o.object + std::max(o.object_size, *size)) continue;
        if (st != std::string_view("inode") && c != o.object) continue;
        return Slot{c, m};
    }
    return std::nullopt;
}

const kernel::Task* task_of_mm(kernel::Kernel& k, std::uint64_t mm) {
    for (const auto& t : k.tasks())
        if (t.mm == mm) {
            const kernel::Task* leader = k.task_by_pid(t.tgid);
            return leader ? leader : &t;
        }
    return nullptr;
}

}  // namespace

ObjectNamer::ObjectNamer(kernel::Kernel& kernel, kernel::AddressIdentifier& ids)
    : k_(kernel), ids_(ids) {}

std::optional<NamedObject> ObjectNamer::name_object_at(std::uint64_t address) {
    return name_object_at(address, ids_.identify(address));
}

std::optional<NamedObject> ObjectNamer::name_object_at(std::uint64_t address,
                                                       const kernel::AddressIdentity& id) {
    if (id.kind != kernel::AddressKind::kSlab || !id.slab) return std::nullopt;
    const kernel::SlabObject& o = *id.slab;
    NamedObject n;
    n.object.kind = "slab";
    n.object.address = o.object;
    n.object.cache = o.cache_name;
    n.object.offset = o.offset;
    std::string fallback =
        fmt::format("inside a {} object at {:#x} + {:#x}", o.cache_name, o.object, o.offset);
    if (o.state != kernel::SlabObjectState::kAllocated) {
        n.object.unknown_reason = o.state == kernel::SlabObjectState::kFree
                                      ? "the object is free (on its slab's freelist)"
                                      : "allocation state unknown: " + o.state_reason;
        n.name = fmt::format("unknown ({} {} object at {:#x} + {:#x}: {})",
                             o.state == kernel::SlabObjectState::kFree ? "freed" : "a",
                             o.cache_name,
                             o.object,
                             o.offset,
                             n.object.unknown_reason);
        n.evidence = fmt::format("slab object of cache {} ({})", o.cache_name, to_string(o.state));
        return n;
    }
    kernel::VfsPaths vfs(k_);
    auto unknown = [&](std::string kind, std::uint64_t c, std::string member, std::string why) {
        n.object.kind = std::move(kind);
        n.object.address = c;
        n.object.offset = address - c;
        n.object.member = member;
        n.object.unknown_reason = why;
        n.name = fmt::format("{} of {} {:#x} (unknown: {})", member, n.object.kind, c, why);
        return n;
    };

    // inode (embedded in a file system's own inode_info: ext4_inode_info.vfs_inode, ...)
    if (auto s = place(k_, o, address, "inode", kInodeMembers);
        s && vfs.looks_like_inode(s->container)) {
        auto sb = vfs.super_block(vfs.inode_sb(s->container).value_or(0));
        auto p = vfs.path_of_inode(s->container);
        n.object.kind = "inode";
        n.object.address = s->container;
        n.object.offset = address - s->container;
        n.object.member = s->member;
        n.object.fstype = sb ? sb->fstype : "";
        n.object.device = sb ? sb->device : "";
        n.evidence = fmt::format(
            "inode {:#x} in a {} object (i_sb -> {} super block); path from its "
            "i_dentry alias and the d_parent chain",
            s->container,
            o.cache_name,
            n.object.fstype);
        if (!p.ok()) {
            n.object.path = p.path;
            n.object.unknown_reason = p.reason;
            n.name = fmt::format("{} of inode {:#x} ({} on {}; path unknown: {})",
                                 s->member,
                                 s->container,
                                 n.object.fstype,
                                 n.object.device,
                                 p.reason);
            return n;
        }
        n.object.path = p.path;
        n.name =
            fmt::format("{} of {} ({} on {})", s->member, p.path, n.object.fstype, n.object.device);
        return n;
    }
    // Any other address inside an inode of an *inode* cache: the inode's start found by shape
    // (i_sb -> a named file system type), at most object_size / 8 candidates.
    if (o.cache_name.find("inode") != std::string::npos) {
        auto isize = k_.types().struct_size("inode");
        for (std::uint64_t c = o.object;
             isize && c <= address && c + *isize <= o.object + o.object_size;
             c += 8) {
            if (address >= c + *isize || !vfs.looks_like_inode(c)) continue;
            auto p = vfs.path_of_inode(c);
            if (!p.ok() && vfs.inode_sb(c).value_or(0) == 0) continue;
            auto sb = vfs.super_block(vfs.inode_sb(c).value_or(0));
            n.object.kind = "inode";
            n.object.address = c;
            n.object.offset = address - c;
            n.object.path = p.path;
            n.object.unknown_reason = p.reason;
            n.object.fstype = sb ? sb->fstype : "";
            n.object.device = sb ? sb->device : "";
            std::string where = address == c ? "" : fmt::format(" + {:#x}", address - c);
            n.name = p.ok() ? fmt::format("inode of {} ({} on {}){}",
                                          p.path,
                                          n.object.fstype,
                                          n.object.device,
                                          where)
                            : fmt::format("inode {:#x} ({} on {}; path unknown: {}){}",
                                          c,
                                          n.object.fstype,
                                          n.object.device,
                                          p.reason,
                                          where);
            n.evidence = fmt::format("inode {:#x} in a {} object (i_sb -> {} super block)",
                                     c,
                                     o.cache_name,
                                     n.object.fstype);
            return n;
        }
    }
    if (o.cache_name == "dentry") {
        auto p = vfs.path_of(o.object, 0);
        n.object.kind = "dentry";
        n.object.path = p.path;
        n.object.unknown_reason = p.reason;
        std::string where = o.offset ? fmt::format(" + {:#x}", o.offset) : "";
        n.name = p.ok()
                     ? fmt::format("dentry of {}{}", p.path, where)
                     : fmt::format("dentry {:#x} (path unknown: {}){}", o.object, p.reason, where);
        n.evidence = fmt::format("dentry {:#x}: d_name and the d_parent chain", o.object);
        return n;
    }
    if (auto s = place(k_, o, address, "super_block", kSuperMembers)) {
        if (auto sb = vfs.super_block(s->container, true)) {
            n.object.kind = "super_block";
            n.object.address = s->container;
            n.object.offset = address - s->container;
            n.object.member = s->member;
            n.object.fstype = sb->fstype;
            n.object.device = sb->device;
            std::string mounts;
            for (const auto& m : sb->mount_points) mounts += (mounts.empty() ? "" : ", ") + m;
            if (!mounts.empty()) n.object.path = sb->mount_points.front();
            n.name = fmt::format("{} of the {} super block on {}{}",
                                 s->member,
                                 sb->fstype,
                                 sb->device,
                                 mounts.empty() ? "" : " (mounted at " + mounts + ")");
            n.evidence = fmt::format(
                "super_block {:#x} (s_type {}, s_id {})", s->container, sb->fstype, sb->device);
            return n;
        }
    }
    if (o.cache_name == "mm_struct") {
        auto s = place(k_, o, address, "mm_struct", kMmMembers);
        std::uint64_t mm = s ? s->container : o.object;
        std::string member = s ? s->member : fmt::format("+{:#x}", o.offset);
        if (const kernel::Task* t = task_of_mm(k_, mm)) {
            n.object.kind = "mm";
            n.object.address = mm;
            n.object.offset = address - mm;
            n.object.member = s ? s->member : "";
            n.object.pid = t->tgid;
            n.object.comm = t->comm;
            n.name = s ? fmt::format("{} of {}[{}]", member, t->comm, t->tgid)
                       : fmt::format("mm_struct of {}[{}] + {:#x}", t->comm, t->tgid, o.offset);
            n.evidence = fmt::format("mm_struct {:#x} is task {}'s mm", mm, t->pid);
            return n;
        }
        return unknown("mm", mm, member, "no task uses this mm_struct");
    }
    if (o.cache_name == "vm_area_struct") {
        std::uint64_t vma = o.object;
        auto rd = [&](const char* m) -> std::uint64_t {
            auto off = k_.offset_of("vm_area_struct", m);
            return off ? k_.memory().read_u64(vma + *off).value_or(0) : 0;
        };
        std::uint64_t start = rd("vm_start"), end = rd("vm_end"), mm = rd("vm_mm"),
                      file = rd("vm_file");
        n.object.kind = "vma";
        n.object.address = vma;
        n.object.offset = o.offset;
        n.object.start = start;
        n.object.end = end;
        std::string who = "no process";
        if (const kernel::Task* t = kptr(mm) ? task_of_mm(k_, mm) : nullptr) {
            n.object.pid = t->tgid;
            n.object.comm = t->comm;
            who = fmt::format("{}[{}]", t->comm, t->tgid);
        }
        std::string path;
        if (kptr(file)) {
            auto d = k_.offset_of("file", "f_path.dentry"), m = k_.offset_of("file", "f_path.mnt");
            if (d && m) {
                auto p = vfs.path_of(k_.memory().read_u64(file + *d).value_or(0),
                                     k_.memory().read_u64(file + *m).value_or(0));
                path = p.ok() ? p.path : "?";
                n.object.path = path;
            }
        }
        std::string member = o.offset ? fmt::format(" + {:#x}", o.offset) : "";
        n.name = fmt::format("VMA of {} {:x}-{:x}{}{}",
                             who,
                             start,
                             end,
                             path.empty() ? " (anonymous)" : " (" + path + ")",
                             member);
        n.evidence = fmt::format("vm_area_struct {:#x} (vm_mm {:#x})", vma, mm);
        return n;
    }
    if (o.cache_name == "filp") {
        std::uint64_t file = o.object;
        auto d = k_.offset_of("file", "f_path.dentry"), m = k_.offset_of("file", "f_path.mnt");
        auto s = place(k_, o, address, "file", kFileMembers);
        std::string member = s ? s->member : fmt::format("+{:#x}", o.offset);
        if (d && m) {
            auto p = vfs.path_of(k_.memory().read_u64(file + *d).value_or(0),
                                 k_.memory().read_u64(file + *m).value_or(0));
            n.object.kind = "file";
            n.object.address = file;
            n.object.member = s ? s->member : "";
            n.object.path = p.path;
            n.object.unknown_reason = p.reason;
            if (s)
                n.name = p.ok()
                             ? fmt::format("{} of file {}", member, p.path)
                             : fmt::format(
                                   "{} of file {:#x} (path unknown: {})", member, file, p.reason);
            else
                n.name =
                    p.ok() ? fmt::format("file {} + {:#x}", p.path, o.offset)
                           : fmt::format(
                                 "file {:#x} + {:#x} (path unknown: {})", file, o.offset, p.reason);
            n.evidence = fmt::format("struct file {:#x} (f_path)", file);
            return n;
        }
    }
    if (o.cache_name == "task_struct") {
        if (const kernel::Task* t = k_.task_by_address(o.object)) {
            n.object.kind = "task";
            n.object.pid = t->pid;
            n.object.comm = t->comm;
            n.name = fmt::format("task {}[{}] + {:#x}", t->comm, t->pid, o.offset);
            n.evidence = fmt::format("task_struct {:#x} in the task list", o.object);
            return n;
        }
        return unknown("task", o.object, fmt::format("+{:#x}", o.offset), "not in the task list");
    }
    n.name = fallback;
    n.evidence = fmt::format("slab object of cache {} (allocated)", o.cache_name);
    return n;
}

}  // namespace lockhound::locks
