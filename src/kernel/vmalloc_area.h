// The vmalloc area (vmap_area) containing an address: one descent of the kernel's vmap_area_root
// red-black tree (bounded depth), the vm_struct's caller and size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lockhound::kernel {

class Kernel;

struct VmallocArea {
    std::uint64_t vmap_area = 0;
    std::uint64_t start = 0, end = 0;  // [va_start, va_end)
    std::uint64_t vm = 0;              // struct vm_struct * (0: none)
    std::uint64_t caller = 0;          // vm->caller
    std::uint64_t size = 0;            // vm->size
};

// nullopt with *why when no area is known to hold it.
std::optional<VmallocArea> vmalloc_area_of(Kernel& kernel,
                                           std::uint64_t address,
                                           std::string* why = nullptr);

}  // namespace lockhound::kernel
