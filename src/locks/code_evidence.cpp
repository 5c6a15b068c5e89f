#include "locks/code_evidence.h"

#include <capstone/capstone.h>

#include <algorithm>

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace lockhound::locks {

namespace {

std::string base_name(std::string name) {
    for (const char* suffix : {".isra", ".constprop", ".part", ".cold"}) {
        if (auto p = name.find(suffix); p != std::string::npos) name.resize(p);
    }
    return name;
}

constexpr std::uint64_t kMaxFunction = 64 * 1024;
constexpr int kCallWindow = 8;  // instructions between loading the address and the call

}  // namespace

CodeScanner::CodeScanner(kernel::Kernel& kernel) : kernel_(kernel) {
    csh h = 0;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) == CS_ERR_OK) {
        cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
        handle_ = h;
        ok_ = true;
    }
}

CodeScanner::~CodeScanner() {
    if (ok_) {
        csh h = handle_;
        cs_close(&h);
    }
}

const std::vector<CodeScanner::Insn>* CodeScanner::decode(std::uint64_t start, std::uint64_t size) {
    if (!ok_ || size == 0 || size > kMaxFunction) return nullptr;
    if (auto it = cache_.find(start); it != cache_.end()) return &it->second;
    // A symbol's size runs to the next symbol: for a module's last function that can reach past
    // its text into a page the dump lacks. The code up to there is still the function's.
    auto bytes = kernel_.memory().read_readable(start, size);
    std::vector<Insn> out;
    if (!bytes.empty()) {
        csh h = handle_;
        cs_insn* insn = cs_malloc(h);
        const std::uint8_t* code = reinterpret_cast<const std::uint8_t*>(bytes.data());
        std::size_t left = bytes.size();
        std::uint64_t addr = start;
        while (left > 0) {
            if (!cs_disasm_iter(h, &code, &left, &addr, insn)) {
                // Skip an undecodable byte (data in text, padding) and go on.
                ++code;
                --left;
                ++addr;
                continue;
            }
            Insn i{insn->address, {}, std::nullopt, std::nullopt};
            const cs_x86& x = insn->detail->x86;
            for (int k = 0; k < x.op_count; ++k) {
                const cs_x86_op& op = x.operands[k];
                if (op.type == X86_OP_IMM) {
                    i.values.push_back(static_cast<std::uint64_t>(op.imm));
                } else if (op.type == X86_OP_MEM && op.mem.base == X86_REG_RIP &&
                           op.mem.index == X86_REG_INVALID) {
                    std::uint64_t target =
                        insn->address + insn->size + static_cast<std::uint64_t>(op.mem.disp);
                    i.values.push_back(target);
                    if (op.size == 8 && insn->id == X86_INS_MOV) i.loads_from = target;
                }
            }
            if (cs_insn_group(h, insn, CS_GRP_CALL) && x.op_count == 1 &&
                x.operands[0].type == X86_OP_IMM)
                i.call_target = static_cast<std::uint64_t>(x.operands[0].imm);
            out.push_back(std::move(i));
        }
        cs_free(insn, 1);
    }
    return &cache_.emplace(start, std::move(out)).first->second;
}

std::optional<CodeReference> CodeScanner::references(std::uint64_t start,
                                                     std::uint64_t size,
                                                     std::uint64_t value,
                                                     const std::vector<std::string>& acquire) {
    const auto* insns = decode(start, size);
    if (!insns) return std::nullopt;
    const auto& syms = kernel_.symbols();
    for (std::size_t i = 0; i < insns->size(); ++i) {
        const Insn& in = (*insns)[i];
        bool loads = false;
        for (std::uint64_t v : in.values) loads |= v == value;
        // A load of a pointer variable that holds the lock's address (`mov rdi, [rip+x]`).
        bool via_pointer = false;
        std::optional<std::uint64_t> via_struct;  // offset of the lock's address in a descriptor
        if (!loads && in.loads_from) {
            std::uint64_t p = kernel_.memory().read_u64(*in.loads_from).value_or(0);
            via_pointer = p == value;
            loads = via_pointer;
            // A pointer to a small descriptor that holds the lock's address (struct { ...; void
            // *lock; }).
            if (!loads && p >= 0xffff800000000000ull && (p & 7) == 0) {
                std::uint64_t words[4] = {};  // a small descriptor: the first 32 bytes
                if (kernel_.memory().read(p, std::as_writable_bytes(std::span(words)))) {
                    for (std::uint64_t k = 0; k < 4 && !via_struct; ++k)
                        if (words[k] == value) via_struct = k * 8;
                }
                loads = via_struct.has_value();
            }
        }
        if (!loads) continue;
        for (std::size_t j = i; j < insns->size() && j <= i + kCallWindow; ++j) {
            const auto& call = (*insns)[j].call_target;
            if (!call) continue;
            auto r = syms.lookup(*call);
            if (!r || r->offset != 0) break;
            std::string callee = base_name(std::string(r->symbol->name));
            std::string through;
            bool takes = std::find(acquire.begin(), acquire.end(), callee) != acquire.end();
            if (!takes) {
                // One level of wrapper: the callee itself calls an acquire function.
                if (auto inner = calls_any(r->symbol->address, r->size, acquire)) {
                    takes = true;
                    through = *inner;
                }
            }
            if (!takes) break;  // the first call after the load decides
            CodeReference ref;
            ref.load_site = in.address;
            ref.call_site = (*insns)[j].address;
            ref.acquire = through.empty() ? r->symbol->name : through;
            auto where = syms.lookup(in.address);
            // Sized as the frame is (the module's text end bounds its last function).
            if (where && where->symbol->address == start) where->size = size;
            std::string what =
                via_struct
                    ? fmt::format(
                          "a pointer to a structure holding {:#x} at +{:#x}", value, *via_struct)
                : via_pointer ? fmt::format("a pointer to {:#x}", value)
                              : fmt::format("{:#x}", value);
            ref.description =
                fmt::format("{} loads {} and calls {}{}",
                            where ? where->format() : fmt::format("{:#x}", in.address),
                            what,
                            r->symbol->name,
                            through.empty() ? "" : fmt::format(", which calls {}", through));
            return ref;
        }
    }
    return std::nullopt;
}

std::optional<std::string> CodeScanner::calls_any(std::uint64_t start,
                                                  std::uint64_t size,
                                                  const std::vector<std::string>& names) {
    const auto* insns = decode(start, size);
    if (!insns) return std::nullopt;
    for (const auto& in : *insns) {
        if (!in.call_target) continue;
        auto r = kernel_.symbols().lookup(*in.call_target);
        if (!r || r->offset != 0) continue;
        std::string callee = base_name(std::string(r->symbol->name));
        if (std::find(names.begin(), names.end(), callee) != names.end())
            return std::string(r->symbol->name);
    }
    return std::nullopt;
}

}  // namespace lockhound::locks
