// Naming an object that embeds an address, by the slab object it lies in and the shape of the
// types (lockmodels-independent: the members are looked up, never assumed at fixed offsets):
//   inode        "i_rwsem of /var/log/app.log (ext4 on vda1)"   (i_dentry alias, d_parent, mount)
//   super_block  "s_umount of the ext4 super block on vda1 (mounted at /)"
//   mm_struct    "mmap_lock of lbmm[93]"
//   vm_area_struct "VMA of mapuser[97] 7f..000-7f..000 (/dev/lhsample)"
//   file         "f_pos_lock of file /proc/4424/cmdline"
//   task_struct  "task cat[120]"
//   anything else "inside a kmalloc-256 object at 0xffff... + 0x40"
// A freed object, a wild dentry chain or a loop in d_parent end in "unknown" with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "locks/lock_state.h"

namespace lockhound::kernel {
class Kernel;
class AddressIdentifier;
struct AddressIdentity;
}  // namespace lockhound::kernel

namespace lockhound::locks {

struct NamedObject {
    std::string name;
    std::string evidence;
    LockObject object;
};

class ObjectNamer {
  public:
    ObjectNamer(kernel::Kernel& kernel, kernel::AddressIdentifier& ids);
    // The object embedding `address` (already identified as `id`), or nullopt when the address
    // is not inside a slab object (symbols and stacks are named elsewhere).
    std::optional<NamedObject> name_object_at(std::uint64_t address,
                                              const kernel::AddressIdentity& id);
    std::optional<NamedObject> name_object_at(std::uint64_t address);

  private:
    kernel::Kernel& k_;
    kernel::AddressIdentifier& ids_;
};

}  // namespace lockhound::locks
