// Which superblock a percpu_rw_semaphore belongs to: `sb_writers` level N of a super_block, found
// by a bounded walk of the kernel's `super_blocks` list; with fstype, device (s_id), mount point
// (first mount of the superblock, dentry names up through the parent mounts) and the freeze
// level (s_writers.frozen, named by the dump's SB_* enumerators).
//
//   if (auto sb = name_sb_writers(kernel, lock.address, lock_size)) lock.name = sb->name;
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "locks/lock_state.h"

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::locks {

struct SbWritersName {
    std::string name;      // "sb_writers level 2 (SB_FREEZE_PAGEFAULT) of ext4 on ram0 (/mnt)"
    std::string evidence;  // how it was found
    std::uint64_t superblock = 0;
    int level = 0;  // 1-based: SB_FREEZE_WRITE = 1
    std::string fstype, device, mount_point;
    std::int64_t frozen = -1;  // s_writers.frozen
    std::string frozen_name;   // "SB_FREEZE_COMPLETE"
    bool frozen_complete = false;
};

std::optional<SbWritersName> name_sb_writers(kernel::Kernel& kernel,
                                             std::uint64_t address,
                                             std::uint64_t lock_size);

}  // namespace lockhound::locks
