// Naming a lock by meaning rather than by address:
//   a global or module symbol:       "lb_mutex[1] [lockbomb]", "cfg_mutex [lhsample]"
//   a lock inside a process's mm:    "mmap_lock of lbmm[93]"
//   a container named by a holder rule (lockmodels/holders): "<member> of <container> <addr>"
//   the slab object embedding it (object_naming.h): "i_rwsem of /mnt/data.db (ext4 on vda1)"
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "locks/lock_model.h"

namespace lockhound::kernel {
class Kernel;
}

namespace lockhound::locks {

struct LockName {
    std::string name;
    std::string evidence;
    std::optional<std::uint64_t> container;     // e.g. the mm_struct
    std::optional<std::string> container_type;  // "mm_struct"
    std::optional<LockObject> object;           // structured: kind, address, path, pid, ...
};

std::optional<LockName> name_lock(kernel::Kernel& kernel,
                                  std::uint64_t address,
                                  std::uint64_t lock_size,
                                  const LockModelSet& models);

}  // namespace lockhound::locks
