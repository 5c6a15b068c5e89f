#include "kernel/vmalloc_area.h"

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::kernel {

std::optional<VmallocArea> vmalloc_area_of(Kernel& k, std::uint64_t address, std::string* why) {
    auto say = [why](std::string s) {
        if (why) *why = std::move(s);
        return std::nullopt;
    };
    auto root = k.symbols().address_of("vmap_area_root");
    if (!root) return say("no vmap_area_root symbol");
    auto va_start = k.offset_of("vmap_area", "va_start");
    auto va_end = k.offset_of("vmap_area", "va_end");
    auto rb = k.offset_of("vmap_area", "rb_node");
    auto left = k.offset_of("rb_node", "rb_left");
    auto right = k.offset_of("rb_node", "rb_right");
    if (!va_start || !va_end || !rb || !left || !right) return say("vmap_area layout unknown");
    auto node = k.memory().read_u64(*root);
    for (int depth = 0; node && *node; ++depth) {
        if (depth > 96) return say("vmap_area tree deeper than 96 (loop?)");
        std::uint64_t va = *node - *rb;
        auto s = k.memory().read_u64(va + *va_start), e = k.memory().read_u64(va + *va_end);
        if (!s || !e) return say(fmt::format("vmap_area {:#x} unreadable", va));
        if (address < *s) {
            node = k.memory().read_u64(*node + *left);
        } else if (address >= *e) {
            node = k.memory().read_u64(*node + *right);
        } else {
            VmallocArea a{va, *s, *e, 0, 0, 0};
            if (auto vm_off = k.offset_of("vmap_area", "vm")) {
                a.vm = k.memory().read_u64(va + *vm_off).value_or(0);
                if (a.vm >= 0xffff800000000000ull) {
                    if (auto c = k.offset_of("vm_struct", "caller"))
                        a.caller = k.memory().read_u64(a.vm + *c).value_or(0);
                    if (auto z = k.offset_of("vm_struct", "size"))
                        a.size = k.memory().read_u64(a.vm + *z).value_or(0);
                } else {
                    a.vm = 0;
                }
            }
            return a;
        }
    }
    if (!node) return say("vmap_area tree unreadable");
    return say("in no vmap_area (unmapped vmalloc space, or freed)");
}

}  // namespace lockhound::kernel
