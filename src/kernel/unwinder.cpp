#include "kernel/unwinder.h"

#include <algorithm>
#include <array>
#include <memory>

#include <fmt/format.h>

#include "base/byte_reader.h"

namespace lockhound::kernel {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kIretFrameSize = 5 * std::uint64_t{8};  // ip, cs, flags, sp, ss

bool user_mode(const dump::X86Regs& r) {
    return (r.cs & 3) != 0;
}

std::uint64_t add_signed(std::uint64_t base, std::int64_t off) {
    return base + static_cast<std::uint64_t>(off);
}

}  // namespace

std::optional<dump::X86Regs> decode_pt_regs(std::span<const std::byte> bytes) {
    ByteReader r(bytes);
    if (!r.has(0, kPtRegsSize)) return std::nullopt;
    std::array<std::uint64_t, 21> w{};
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = r.u64(i * 8).value_or(0);
    dump::X86Regs x;
    x.r15 = w[0], x.r14 = w[1], x.r13 = w[2], x.r12 = w[3], x.rbp = w[4], x.rbx = w[5];
    x.r11 = w[6], x.r10 = w[7], x.r9 = w[8], x.r8 = w[9], x.rax = w[10], x.rcx = w[11];
    x.rdx = w[12], x.rsi = w[13], x.rdi = w[14], x.orig_rax = w[15], x.rip = w[16];
    x.cs = w[17], x.eflags = w[18], x.rsp = w[19], x.ss = w[20];
    return x;
}

// The state of one walk: the stacks, a page cache over them, and the registers being unwound.
struct Unwinder::Walk {
    Walk(dump::VirtualMemory& m, std::span<const StackRegion> s, const UnwindOptions& o)
        : memory(m), stacks(s), options(o), visited(s.size(), false) {}

    dump::VirtualMemory& memory;
    std::span<const StackRegion> stacks;
    const UnwindOptions& options;

    struct Page {
        std::uint64_t address = 0;
        bool ok = false;
        std::array<std::byte, kPage> bytes{};
    };
    std::vector<std::unique_ptr<Page>> pages;

    std::uint64_t pc = 0, sp = 0, bp = 0;
    bool exact = false;
    std::optional<dump::X86Regs> full_regs;  // the pt_regs last crossed (or the CPU's registers)
    std::optional<dump::X86Regs> prev_regs;  // full regs seen before an iret-only frame
    int region = -1;
    std::vector<bool> visited;
    FrameReliability next_reliability = FrameReliability::kStart;
    std::uint64_t first_frame_low = 0;  // where frame 0's words start (the saved task frame)
    Backtrace bt;

    int region_of(std::uint64_t a, std::uint64_t len = 8) const {
        for (std::size_t i = 0; i < stacks.size(); ++i)
            if (stacks[i].contains(a, len)) return static_cast<int>(i);
        return -1;
    }

    const Page& page(std::uint64_t address) {
        std::uint64_t base = address & ~(kPage - 1);
        for (const auto& p : pages)
            if (p->address == base) return *p;
        auto p = std::make_unique<Page>();
        p->address = base;
        p->ok = memory.read(base, p->bytes).has_value();
        pages.push_back(std::move(p));
        return *pages.back();
    }

    // Reads bytes that must lie on one of the stacks.
    Result<> read(std::uint64_t address, std::span<std::byte> out) {
        if (region_of(address, out.size()) < 0)
            return fail_at(ErrorKind::kBadData,
                           address,
                           fmt::format("0x{:x} is not on the task's stacks", address));
        std::size_t done = 0;
        while (done < out.size()) {
            std::uint64_t a = address + done;
            std::size_t in_page =
                std::min<std::size_t>(out.size() - done, kPage - (a & (kPage - 1)));
            const Page& p = page(a);
            if (p.ok) {
                std::memcpy(out.data() + done, p.bytes.data() + (a & (kPage - 1)), in_page);
            } else {
                auto r = memory.read(a, out.subspan(done, in_page));
                if (!r) return std::unexpected(r.error());
            }
            done += in_page;
        }
        return {};
    }

    Result<std::uint64_t> word(std::uint64_t address) {
        std::uint64_t v = 0;
        auto r = read(address, std::as_writable_bytes(std::span<std::uint64_t, 1>(&v, 1)));
        if (!r) return std::unexpected(r.error());
        return v;
    }

    void fail_walk(Error e) {
        if (!bt.error) bt.error = std::move(e);
    }
};

Unwinder::Unwinder(dump::VirtualMemory& memory,
                   const debuginfo::SymbolTable& symbols,
                   const OrcTables& orc)
    : memory_(memory), symbols_(symbols), orc_(orc) {}

void Unwinder::add_text(std::uint64_t start, std::uint64_t end, std::string module) {
    if (end <= start) return;
    TextRange t{start, end, std::move(module)};
    auto pos = std::ranges::upper_bound(text_, start, {}, &TextRange::start);
    text_.insert(pos, std::move(t));
}

bool Unwinder::is_text(std::uint64_t address) const {
    if (text_.empty()) {
        auto r = symbols_.lookup(address);
        return r && r->symbol && r->symbol->is_text();
    }
    auto it = std::ranges::upper_bound(text_, address, {}, &TextRange::start);
    // Ranges do not normally overlap; tolerate a few nested ones.
    for (int k = 0; k < 8 && it != text_.begin(); ++k) {
        --it;
        if (address < it->end) return true;
    }
    return false;
}

void Unwinder::symbolize(StackFrame& f) const {
    std::uint64_t at = f.pc_is_exact || f.pc == 0 ? f.pc : f.pc - 1;
    auto r = symbols_.lookup(at);
    if (r && r->symbol) {
        f.function = r->symbol->name;
        f.offset = f.pc - r->symbol->address;
        f.size = r->size;
        f.module = r->symbol->module;
        // As the kernel's module kallsyms: a symbol reaches at most to the end of its module's
        // text (the next symbol may be data, far beyond).
        if (!f.module.empty()) {
            for (const auto& t : text_) {
                if (t.module == f.module && r->symbol->address >= t.start &&
                    r->symbol->address < t.end &&
                    (f.size == 0 || t.end - r->symbol->address < f.size))
                    f.size = t.end - r->symbol->address;
            }
        }
        return;
    }
    f.function.clear();
    f.offset = 0;
    f.size = 0;
    for (const auto& t : text_)
        if (at >= t.start && at < t.end && !t.module.empty()) f.module = t.module;
}

Backtrace Unwinder::unwind_inactive(std::uint64_t saved_sp,
                                    std::uint64_t frame_size,
                                    std::span<const StackRegion> stacks,
                                    const UnwindOptions& options) const {
    Walk w(memory_, stacks, options);
    if (w.region_of(saved_sp) < 0) {
        w.fail_walk(Error::fault(ErrorKind::kBadData,
                                 saved_sp,
                                 fmt::format("saved stack pointer 0x{:x} is outside the task's "
                                             "stack",
                                             saved_sp)));
        return std::move(w.bt);
    }
    if (frame_size == 0) {
        // 5.x+: r15 r14 r13 r12 bx bp ret_addr; 4.19: flags first. ret_addr is the last word.
        for (std::uint64_t words : {7, 8}) {
            auto ret = w.word(saved_sp + ((words - 1) * 8));
            if (ret && is_text(*ret)) {
                frame_size = words * 8;
                break;
            }
        }
        if (frame_size == 0) {
            w.fail_walk(Error::fault(
                ErrorKind::kBadData, saved_sp, "no return address in the saved task frame"));
            return std::move(w.bt);
        }
    }
    if (frame_size < 16 || frame_size > 256 || frame_size % 8 != 0) {
        w.fail_walk(
            Error::make(ErrorKind::kBadData,
                        fmt::format("implausible inactive_task_frame size {}", frame_size)));
        return std::move(w.bt);
    }
    auto ret = w.word(saved_sp + frame_size - 8);
    auto bp = w.word(saved_sp + frame_size - 16);
    if (!ret || !bp) {
        w.fail_walk(!ret ? ret.error() : bp.error());
        return std::move(w.bt);
    }
    w.pc = *ret;
    w.bp = *bp;
    w.sp = saved_sp + frame_size;
    w.exact = std::ranges::find(fork_entries_, w.pc) != fork_entries_.end();
    w.first_frame_low = saved_sp;
    return run(w);
}

Backtrace Unwinder::unwind_regs(const dump::X86Regs& regs,
                                std::span<const StackRegion> stacks,
                                const UnwindOptions& options) const {
    Walk w(memory_, stacks, options);
    if (user_mode(regs)) {
        w.bt.user_regs = regs;
        w.bt.complete = true;
        return std::move(w.bt);
    }
    w.pc = regs.rip;
    w.sp = regs.rsp;
    w.bp = regs.rbp;
    w.exact = true;
    w.full_regs = regs;
    w.first_frame_low = regs.rsp;
    return run(w);
}

Backtrace Unwinder::run(Walk& w) const {
    Backtrace& bt = w.bt;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    const auto& opt = w.options;

    auto scan_rest = [&](std::uint64_t from) {
        int region = w.region_of(from);
        if (region < 0) return;
        const StackRegion& s = w.stacks[static_cast<std::size_t>(region)];
        for (std::uint64_t a = (from + 7) & ~std::uint64_t{7}; a + 8 <= s.high; a += 8) {
            if (bt.frames.size() >= opt.max_frames) {
                w.fail_walk(Error::make(ErrorKind::kLimit,
                                        fmt::format("more than {} frames", opt.max_frames)));
                return;
            }
            auto v = w.word(a);
            if (!v) {
                w.fail_walk(v.error());
                return;
            }
            if (!is_text(*v)) continue;
            StackFrame f;
            f.pc = *v;
            f.sp = a + 8;
            f.reliability = FrameReliability::kStackScan;
            f.stack = s.kind;
            symbolize(f);
            bt.frames.push_back(std::move(f));
        }
    };

    while (true) {
        if (bt.frames.size() >= opt.max_frames) {
            w.fail_walk(
                Error::make(ErrorKind::kLimit, fmt::format("more than {} frames", opt.max_frames)));
            break;
        }
        // Reaching the very top of a stack is a normal end.
        if (w.region >= 0 && w.sp == w.stacks[static_cast<std::size_t>(w.region)].high) {
            bt.complete = true;
            break;
        }
        int region = w.region_of(w.sp);
        if (region < 0) {
            w.fail_walk(Error::fault(
                ErrorKind::kBadData,
                w.sp,
                fmt::format("stack pointer 0x{:x} left the task's stacks (corrupt stack?)", w.sp)));
            break;
        }
        if (w.region >= 0 && region != w.region) {
            if (w.visited[static_cast<std::size_t>(region)]) {
                w.fail_walk(Error::fault(
                    ErrorKind::kLimit, w.sp, "stack switch back to a stack already left (loop)"));
                break;
            }
            w.visited[static_cast<std::size_t>(w.region)] = true;
        }
        w.region = region;
        if (std::ranges::find(seen, std::pair{w.pc, w.sp}) != seen.end()) {
            w.fail_walk(Error::fault(
                ErrorKind::kLimit, w.sp, fmt::format("frame 0x{:x} visited twice (loop)", w.pc)));
            break;
        }
        seen.emplace_back(w.pc, w.sp);
        if (!is_text(w.pc)) {
            w.fail_walk(Error::fault(
                ErrorKind::kBadData,
                w.pc,
                fmt::format("0x{:x} is not a kernel code address (corrupt stack?)", w.pc)));
            break;
        }

        const std::size_t idx = bt.frames.size();
        {
            StackFrame f;
            f.pc = w.pc;
            f.sp = w.sp;
            f.reliability = w.next_reliability;
            f.stack = w.stacks[static_cast<std::size_t>(region)].kind;
            f.pc_is_exact = w.exact;
            symbolize(f);
            bt.frames.push_back(std::move(f));
        }

        const std::uint64_t lookup_ip = w.exact ? w.pc : w.pc - 1;
        const OrcEntry* e = orc_.find(lookup_ip).entry;
        if (e && e->type == OrcType::kEndOfStack) {
            bt.complete = true;
            break;
        }
        if (!e || e->type == OrcType::kUndefined || e->type == OrcType::kInvalid) {
            std::string why = e ? fmt::format("undefined ORC entry at 0x{:x}", w.pc)
                                : fmt::format("no ORC entry for 0x{:x}", w.pc);
            if (!opt.fallback) {
                w.fail_walk(Error::fault(ErrorKind::kNotFound, w.pc, why));
                break;
            }
            // The frame-pointer convention: saved BP at BP, return address above it.
            const StackRegion& s = w.stacks[static_cast<std::size_t>(region)];
            std::uint64_t fbp = w.bp;
            if ((fbp & 7) == 0 && fbp >= w.sp && s.contains(fbp, 16)) {
                auto ra = w.word(fbp + 8);
                auto saved = w.word(fbp);
                if (ra && saved && is_text(*ra)) {
                    bt.notes.push_back(why + "; followed the frame pointer");
                    bt.frames[idx].cfa = fbp + 16;
                    w.pc = *ra;
                    w.sp = fbp + 16;
                    w.bp = *saved;
                    w.exact = false;
                    w.full_regs.reset();
                    w.prev_regs.reset();
                    w.next_reliability = FrameReliability::kFramePointer;
                    continue;
                }
            }
            bt.notes.push_back(why + "; listed the code addresses left on the stack (guesses)");
            scan_rest(w.sp);
            break;
        }

        // The CFA: where the caller's stack pointer was.
        std::uint64_t cfa = 0;
        auto reg_value = [&](auto member) -> std::optional<std::uint64_t> {
            if (w.full_regs) return (*w.full_regs).*member;
            if (w.prev_regs) return (*w.prev_regs).*member;
            return std::nullopt;
        };
        std::optional<std::uint64_t> from_reg;
        bool bad = false;
        switch (e->sp_reg) {
            case OrcReg::kSp:
                cfa = add_signed(w.sp, e->sp_offset);
                break;
            case OrcReg::kBp:
                cfa = add_signed(w.bp, e->sp_offset);
                break;
            case OrcReg::kSpIndirect: {
                auto v = w.word(w.sp);
                if (!v) {
                    w.fail_walk(v.error());
                    bad = true;
                    break;
                }
                cfa = add_signed(*v, e->sp_offset);
                break;
            }
            case OrcReg::kBpIndirect: {
                auto v = w.word(add_signed(w.bp, e->sp_offset));
                if (!v) {
                    w.fail_walk(v.error());
                    bad = true;
                    break;
                }
                cfa = *v;
                break;
            }
            case OrcReg::kAx:
                from_reg = reg_value(&dump::X86Regs::rax);
                break;
            case OrcReg::kDx:
                from_reg = reg_value(&dump::X86Regs::rdx);
                break;
            case OrcReg::kDi:
                from_reg = reg_value(&dump::X86Regs::rdi);
                break;
            case OrcReg::kR10:
                from_reg = reg_value(&dump::X86Regs::r10);
                break;
            case OrcReg::kR13:
                from_reg = reg_value(&dump::X86Regs::r13);
                break;
            default:
                w.fail_walk(Error::fault(
                    ErrorKind::kBadData,
                    w.pc,
                    fmt::format(
                        "ORC entry at 0x{:x} has CFA register {}", w.pc, to_string(e->sp_reg))));
                bad = true;
                break;
        }
        if (bad) break;
        if (e->sp_reg == OrcReg::kAx || e->sp_reg == OrcReg::kDx || e->sp_reg == OrcReg::kDi ||
            e->sp_reg == OrcReg::kR10 || e->sp_reg == OrcReg::kR13) {
            if (!from_reg) {
                w.fail_walk(
                    Error::fault(ErrorKind::kNotFound,
                                 w.pc,
                                 fmt::format("CFA at 0x{:x} is in {}, which is unknown here",
                                             w.pc,
                                             to_string(e->sp_reg))));
                break;
            }
            cfa = *from_reg;
        }
        bt.frames[idx].cfa = cfa;

        const std::uint64_t old_bp = w.bp;
        std::uint64_t next_pc = 0;
        std::uint64_t next_sp = 0;
        bool stop = false;
        switch (e->type) {
            case OrcType::kCall: {
                auto ra = w.word(cfa - 8);
                if (!ra) {
                    w.fail_walk(ra.error());
                    stop = true;
                    break;
                }
                next_pc = *ra;
                next_sp = cfa;
                w.full_regs.reset();
                w.prev_regs.reset();
                w.exact = e->signal;
                break;
            }
            case OrcType::kRegs: {
                std::array<std::byte, kPtRegsSize> buf{};
                if (auto r = w.read(cfa, buf); !r) {
                    w.fail_walk(r.error());
                    stop = true;
                    break;
                }
                dump::X86Regs regs = *decode_pt_regs(buf);
                StackFrame& f = bt.frames[idx];
                f.exception_frame = true;
                f.regs = regs;
                if (user_mode(regs)) {
                    bt.user_regs = regs;
                    bt.complete = true;
                    stop = true;
                    break;
                }
                next_pc = regs.rip;
                next_sp = regs.rsp;
                w.full_regs = regs;
                w.prev_regs.reset();
                w.exact = true;
                break;
            }
            case OrcType::kRegsPartial: {
                std::array<std::byte, kIretFrameSize> buf{};
                if (auto r = w.read(cfa, buf); !r) {
                    w.fail_walk(r.error());
                    stop = true;
                    break;
                }
                ByteReader br(buf);
                dump::X86Regs regs;
                regs.rip = *br.u64(0);
                regs.cs = *br.u64(8);
                regs.eflags = *br.u64(16);
                regs.rsp = *br.u64(24);
                regs.ss = *br.u64(32);
                StackFrame& f = bt.frames[idx];
                f.exception_frame = true;
                f.partial_regs = true;
                f.regs = regs;
                if (user_mode(regs)) {
                    bt.user_regs = regs;
                    bt.user_regs_partial = true;
                    bt.complete = true;
                    stop = true;
                    break;
                }
                next_pc = regs.rip;
                next_sp = regs.rsp;
                if (w.full_regs) w.prev_regs = w.full_regs;
                w.full_regs.reset();
                w.exact = true;
                break;
            }
            default:
                w.fail_walk(Error::fault(
                    ErrorKind::kBadData,
                    w.pc,
                    fmt::format("ORC entry of type {} at 0x{:x}", to_string(e->type), w.pc)));
                stop = true;
                break;
        }
        if (stop) break;

        // The caller's frame pointer.
        switch (e->bp_reg) {
            case OrcReg::kUndefined:
                if (w.full_regs)
                    w.bp = w.full_regs->rbp;
                else if (e->type == OrcType::kRegsPartial && w.prev_regs)
                    w.bp = w.prev_regs->rbp;
                break;
            case OrcReg::kPrevSp: {
                auto v = w.word(add_signed(cfa, e->bp_offset));
                if (!v) {
                    w.fail_walk(v.error());
                    stop = true;
                    break;
                }
                w.bp = *v;
                break;
            }
            case OrcReg::kBp: {
                auto v = w.word(add_signed(old_bp, e->bp_offset));
                if (!v) {
                    w.fail_walk(v.error());
                    stop = true;
                    break;
                }
                w.bp = *v;
                break;
            }
            default:
                w.fail_walk(Error::fault(
                    ErrorKind::kBadData,
                    w.pc,
                    fmt::format(
                        "ORC entry at 0x{:x} has BP register {}", w.pc, to_string(e->bp_reg))));
                stop = true;
                break;
        }
        if (stop) break;

        // Within one stack the walk only goes up; leaving it is checked on the next round.
        int next_region = w.region_of(next_sp);
        if (next_region == region && next_sp <= w.sp) {
            w.fail_walk(Error::fault(ErrorKind::kBadData,
                                     next_sp,
                                     fmt::format("stack going the wrong way at 0x{:x} "
                                                 "(sp 0x{:x} -> 0x{:x})",
                                                 w.pc,
                                                 w.sp,
                                                 next_sp)));
            break;
        }
        if (next_pc == 0) {
            w.fail_walk(Error::fault(ErrorKind::kBadData, cfa - 8, "return address 0"));
            break;
        }
        w.pc = next_pc;
        w.sp = next_sp;
        w.next_reliability = FrameReliability::kOrc;
    }

    if (opt.capture_words) {
        for (std::size_t i = 0; i < bt.frames.size(); ++i) {
            StackFrame& f = bt.frames[i];
            std::uint64_t low = i == 0 && w.first_frame_low ? w.first_frame_low : f.sp;
            int region = w.region_of(low);
            if (region < 0) continue;
            const StackRegion& s = w.stacks[static_cast<std::size_t>(region)];
            std::uint64_t high = s.high;
            if (f.cfa > low && f.cfa <= s.high) {
                high = f.cfa;
                if (f.exception_frame) high += f.partial_regs ? kIretFrameSize : kPtRegsSize;
            } else if (i + 1 < bt.frames.size() && bt.frames[i + 1].sp > low &&
                       bt.frames[i + 1].sp <= s.high) {
                high = bt.frames[i + 1].sp;
            }
            high = std::min(high, s.high);
            f.words_start = low & ~std::uint64_t{7};
            for (std::uint64_t a = f.words_start; a + 8 <= high && f.words.size() < opt.max_words;
                 a += 8) {
                auto v = w.word(a);
                if (!v) break;
                f.words.push_back(*v);
            }
        }
    }
    return std::move(bt);
}

}  // namespace lockhound::kernel
