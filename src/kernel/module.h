// Module: one loaded kernel module (struct module), as the unwinder and symbolizer need it.
#pragma once

#include <cstdint>
#include <string>

namespace lockhound::kernel {

struct Module {
    std::string name;             // "lockbomb"
    std::uint64_t address = 0;    // struct module *
    std::uint64_t text_base = 0;  // core text (core_layout.base / mem[MOD_TEXT].base)
    std::uint64_t text_size = 0;
    std::uint64_t core_base = 0;  // whole core allocation (text+data), for "is this in a module"
    std::uint64_t core_size = 0;
    // Module ORC tables (struct module.arch), 0 when absent.
    std::uint64_t orc_unwind_ip = 0;
    std::uint64_t orc_unwind = 0;
    std::uint64_t num_orcs = 0;
};

}  // namespace lockhound::kernel
