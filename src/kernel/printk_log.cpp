#include "kernel/printk_log.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/byte_reader.h"
#include "kernel/kernel.h"

namespace lockhound::kernel {

namespace {

constexpr std::uint64_t kMaxRecords = 1u << 22;
// A live ring holds committed records from tail to head; this many descriptors in a row that are
// unreadable or belong to no record between them means the ids are wild: stop there.
constexpr std::uint64_t kMaxStray = 4096;
constexpr std::uint64_t kMaxText = 1u << 16;  // text_len is a u16 in every format
constexpr int kFlagsShift = 62;               // prb_desc.state_var: 2 state bits on top
constexpr std::uint64_t kIdMask = ~(3ull << kFlagsShift);

int level_of(ByteReader& b, std::uint64_t byte, std::uint32_t bit, std::uint32_t bits) {
    std::uint32_t v = b.u8(byte).value_or(0);
    return static_cast<int>((v >> bit) & ((1u << bits) - 1));
}

// Counts what went wrong, reported as one warning at the end.
struct Damage {
    std::uint64_t unreadable = 0, bad_length = 0;
    std::string first;
    void note(std::uint64_t& counter, std::string what) {
        ++counter;
        if (first.empty()) first = std::move(what);
    }
    void report(PrintkLog& log, std::string_view where) const {
        if (!unreadable && !bad_length) return;
        log.warnings.push_back(fmt::format(
            "kernel log ({}): {} records could not be read and {} had wild lengths or positions; "
            "{} records read (first problem: {})",
            where,
            unreadable,
            bad_length,
            log.records.size(),
            first));
    }
};

}  // namespace

std::string caller_name(const LogRecord& r) {
    if (!r.has_caller) return "";
    if (r.caller_id & 0x80000000u) return fmt::format("C{}", r.caller_id & 0x7fffffffu);
    return fmt::format("T{}", r.caller_id);
}

PrintkLog read_prb(dump::VirtualMemory& mem, std::uint64_t prb, const PrbLayout& l) {
    PrintkLog log;
    log.format = "lockless ringbuffer";
    std::uint64_t ring = prb + l.desc_ring, text = prb + l.text_data_ring;
    auto bits = mem.read_u32(ring + l.count_bits);
    auto descs = mem.read_u64(ring + l.descs);
    auto infos = mem.read_u64(ring + l.infos);
    auto head = mem.read_u64(ring + l.head_id);
    auto tail = mem.read_u64(ring + l.tail_id);
    auto size_bits = mem.read_u32(text + l.size_bits);
    auto data = mem.read_u64(text + l.data);
    if (!bits || !descs || !infos || !head || !tail || !size_bits || !data) {
        log.warnings.push_back(
            fmt::format("kernel log: the printk ringbuffer at {:#x} is not in the dump", prb));
        return log;
    }
    if (*bits == 0 || *bits > 30 || *size_bits == 0 || *size_bits > 40 || l.desc_size == 0 ||
        l.desc_size > 4096 || l.info_size == 0 || l.info_size > 4096) {
        log.warnings.push_back(fmt::format(
            "kernel log: the printk ringbuffer at {:#x} has a wild size (2^{} descriptors, 2^{} "
            "text bytes)",
            prb,
            *bits,
            *size_bits));
        return log;
    }
    const std::uint64_t count = 1ull << *bits;
    const std::uint64_t dsize = 1ull << *size_bits;
    std::uint64_t tail_id = *tail & kIdMask, head_id = *head & kIdMask;
    std::uint64_t span = (head_id - tail_id) & kIdMask;
    Damage damage;
    if (span >= count) {
        damage.note(damage.bad_length,
                    fmt::format("tail id {:#x} is {} descriptors behind head id {:#x}, more than "
                                "the ring holds ({})",
                                tail_id,
                                span,
                                head_id,
                                count));
        span = count - 1;
        tail_id = (head_id - span) & kIdMask;
    }
    span = std::min(span, kMaxRecords - 1);
    std::vector<std::byte> desc(l.desc_size), info(l.info_size);
    std::uint64_t stray = 0;  // descriptors in a row that hold no record
    for (std::uint64_t i = 0; i <= span; ++i) {
        if (stray >= kMaxStray) {
            damage.note(damage.bad_length,
                        fmt::format("{} descriptors in a row hold no record of their id; the "
                                    "rest of the ring ({} descriptors) is not read",
                                    stray,
                                    span + 1 - i));
            break;
        }
        std::uint64_t id = (tail_id + i) & kIdMask;
        std::uint64_t idx = id & (count - 1);
        if (!mem.read(*descs + idx * l.desc_size, desc)) {
            damage.note(damage.unreadable, fmt::format("descriptor {:#x} not in the dump", id));
            ++stray;
            continue;
        }
        ByteReader d(desc);
        std::uint64_t sv = d.u64(l.state_var).value_or(0);
        // Only committed (1) and finalized (2) records are whole; others are being written,
        // or were recycled for a newer id.
        std::uint64_t state = sv >> kFlagsShift;
        if ((sv & kIdMask) != id || (state != 1 && state != 2)) {
            ++stray;
            continue;
        }
        stray = 0;
        if (!mem.read(*infos + idx * l.info_size, info)) {
            damage.note(damage.unreadable, fmt::format("record info {:#x} not in the dump", id));
            continue;
        }
        ByteReader in(info);
        LogRecord r;
        r.seq = in.u64(l.seq).value_or(0);
        r.ts_nsec = in.u64(l.ts_nsec).value_or(0);
        std::uint64_t text_len = in.u16(l.text_len).value_or(0);
        if (l.facility) r.facility = in.u8(*l.facility).value_or(0);
        r.level = level_of(in, l.level_byte, l.level_bit, l.level_bits);
        r.caller_id = in.u32(l.caller_id).value_or(0);
        r.has_caller = true;
        std::uint64_t begin = d.u64(l.text_blk_lpos + l.lpos_begin).value_or(1);
        std::uint64_t next = d.u64(l.text_blk_lpos + l.lpos_next).value_or(1);
        // Data-less records (bit 0 of begin: failed or empty line) have no text block.
        if ((begin & 1) == 0 && (next & 1) == 0 && begin != next && text_len > 0) {
            std::uint64_t off = 0, blk = 0;
            std::uint64_t wb = begin >> *size_bits, wn = next >> *size_bits;
            if (wb == wn) {
                off = begin & (dsize - 1);
                blk = next - begin;
            } else if (wb + 1 == wn) {  // wrapped: the block starts again at the ring's start
                off = 0;
                blk = next & (dsize - 1);
            } else {
                blk = ~0ull;
            }
            if (blk < l.long_size || blk > dsize || off + blk > dsize) {
                damage.note(
                    damage.bad_length,
                    fmt::format(
                        "record {} has a wild text block [{:#x}, {:#x})", r.seq, begin, next));
                continue;
            }
            // The block starts with the id of its descriptor: a stale or wild position does not.
            auto blk_id = mem.read_u64(*data + off);
            if (!blk_id || (*blk_id & kIdMask) != id) {
                damage.note(
                    damage.bad_length,
                    fmt::format("record {}: its text block belongs to another record", r.seq));
                continue;
            }
            std::uint64_t n = std::min({text_len, blk - l.long_size, kMaxText});
            std::vector<std::byte> bytes(n);
            if (!mem.read(*data + off + l.long_size, bytes)) {
                damage.note(damage.unreadable,
                            fmt::format("text of record {} not in the dump", r.seq));
                continue;
            }
            r.text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
        log.records.push_back(std::move(r));
    }
    damage.report(log, "lockless ringbuffer");
    return log;
}

PrintkLog read_legacy_log(dump::VirtualMemory& mem,
                          const LegacyLogState& s,
                          const LegacyLogLayout& l) {
    PrintkLog log;
    log.format = "log_buf records";
    Damage damage;
    if (s.buf == 0 || s.buf_len == 0 || s.buf_len > (1u << 30) || l.header_size == 0 ||
        l.header_size > 256 || s.first_idx >= s.buf_len || s.next_idx > s.buf_len) {
        log.warnings.push_back(
            fmt::format("kernel log: log_buf {:#x} of {} bytes with indexes {}..{} is not usable",
                        s.buf,
                        s.buf_len,
                        s.first_idx,
                        s.next_idx));
        return log;
    }
    std::vector<std::byte> hdr(l.header_size);
    std::uint64_t idx = s.first_idx, seq = s.first_seq;
    bool wrapped = false;
    // Each record takes at least a header: the walk cannot take more steps than that allows.
    std::uint64_t max_steps = s.buf_len / l.header_size + 2;
    for (std::uint64_t step = 0; idx != s.next_idx && step < max_steps; ++step) {
        if (idx + l.header_size > s.buf_len) {
            if (wrapped) break;
            idx = 0, wrapped = true;  // no room for a header: the writer wrapped to the start
            continue;
        }
        if (!mem.read(s.buf + idx, hdr)) {
            damage.note(damage.unreadable, fmt::format("log_buf at index {} not in the dump", idx));
            break;
        }
        ByteReader b(hdr);
        std::uint64_t len = b.u16(l.len).value_or(0);
        if (len == 0) {  // wrap marker
            if (wrapped) break;
            idx = 0, wrapped = true;
            continue;
        }
        std::uint64_t text_len = b.u16(l.text_len).value_or(0);
        if (len < l.header_size || idx + len > s.buf_len || text_len > len - l.header_size) {
            damage.note(
                damage.bad_length,
                fmt::format("record at index {} has length {} (text {})", idx, len, text_len));
            break;
        }
        LogRecord r;
        r.seq = seq++;
        r.ts_nsec = b.u64(l.ts_nsec).value_or(0);
        if (l.facility) r.facility = b.u8(*l.facility).value_or(0);
        r.level = level_of(b, l.level_byte, l.level_bit, l.level_bits);
        if (l.caller_id) {
            r.caller_id = b.u32(*l.caller_id).value_or(0);
            r.has_caller = true;
        }
        std::vector<std::byte> bytes(text_len);
        if (!mem.read(s.buf + idx + l.header_size, bytes)) {
            damage.note(damage.unreadable, fmt::format("text at index {} not in the dump", idx));
        } else {
            r.text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            log.records.push_back(std::move(r));
        }
        idx += len;
    }
    damage.report(log, "log_buf");
    return log;
}

namespace {

// A member offset: VMCOREINFO's OFFSET(struct.member) first, then the types.
struct Offsets {
    Kernel& k;
    bool ok = true;
    std::string missing;
    std::uint64_t need(std::string_view st, std::string_view member) {
        if (auto v = k.dump().vmcoreinfo.offset(fmt::format("{}.{}", st, member))) return *v;
        if (auto o = k.offset_of(st, member)) return *o;
        if (ok) missing = fmt::format("{}.{}", st, member);
        ok = false;
        return 0;
    }
    std::optional<std::uint64_t> maybe(std::string_view st, std::string_view member) {
        if (auto v = k.dump().vmcoreinfo.offset(fmt::format("{}.{}", st, member))) return *v;
        return k.offset_of(st, member);
    }
    std::uint64_t size(std::string_view st) {
        if (auto v = k.dump().vmcoreinfo.size(st)) return *v;
        if (auto s = k.types().struct_size(st)) return *s;
        if (ok) missing = fmt::format("sizeof(struct {})", st);
        ok = false;
        return 0;
    }
    // The level:3 bitfield: from the types when they describe it, else after_facility().
    void level(std::string_view st,
               std::uint64_t& byte,
               std::uint32_t& bit,
               std::uint32_t& bits,
               std::optional<std::uint64_t> facility) {
        if (auto m = k.types().member(st, "level");
            m && m->bit_size > 0 && m->bit_size <= 8 && m->bit_offset + m->bit_size <= 8) {
            byte = m->offset, bit = m->bit_offset, bits = m->bit_size;
            return;
        }
        after_facility(facility, byte, bit, bits);
    }
    // The level without the types: the byte after facility (its place in every kernel since
    // 3.5), top three bits.
    static void after_facility(std::optional<std::uint64_t> facility,
                               std::uint64_t& byte,
                               std::uint32_t& bit,
                               std::uint32_t& bits) {
        byte = facility ? *facility + 1 : 0;
        bit = 5, bits = 3;
    }
};

std::optional<std::uint64_t> symbol(Kernel& k, std::string_view name) {
    if (auto a = k.symbols().address_of(name)) return a;
    return k.dump().vmcoreinfo.symbol(name);
}

PrintkLog read_prb_of(Kernel& k, std::uint64_t prb_ptr) {
    PrintkLog log;
    auto prb = k.memory().read_u64(prb_ptr);
    if (!prb || *prb == 0) {
        log.format = "lockless ringbuffer";
        log.warnings.push_back("kernel log: the pointer prb is not in the dump");
        return log;
    }
    Offsets o{k};
    PrbLayout l;
    l.desc_ring = o.need("printk_ringbuffer", "desc_ring");
    l.text_data_ring = o.need("printk_ringbuffer", "text_data_ring");
    l.count_bits = o.need("prb_desc_ring", "count_bits");
    l.descs = o.need("prb_desc_ring", "descs");
    l.infos = o.need("prb_desc_ring", "infos");
    l.head_id = o.need("prb_desc_ring", "head_id");
    l.tail_id = o.need("prb_desc_ring", "tail_id");
    l.desc_size = o.size("prb_desc");
    l.state_var = o.need("prb_desc", "state_var");
    l.text_blk_lpos = o.need("prb_desc", "text_blk_lpos");
    l.lpos_begin = o.need("prb_data_blk_lpos", "begin");
    l.lpos_next = o.need("prb_data_blk_lpos", "next");
    l.info_size = o.size("printk_info");
    l.seq = o.need("printk_info", "seq");
    l.ts_nsec = o.need("printk_info", "ts_nsec");
    l.text_len = o.need("printk_info", "text_len");
    l.caller_id = o.need("printk_info", "caller_id");
    // VMCOREINFO has no facility or level. When its text_len (u16) and caller_id (u32) leave
    // exactly two bytes between them, those are facility and the flags:5/level:3 byte, as in
    // every printk_info: no type lookup is needed (with DWARF it would scan most of the
    // compilation units to reach kernel/printk's).
    if (auto tl = k.dump().vmcoreinfo.offset("printk_info.text_len"),
        cid = k.dump().vmcoreinfo.offset("printk_info.caller_id");
        tl && cid && *cid == *tl + 4) {
        l.facility = *tl + 2;
        Offsets::after_facility(l.facility, l.level_byte, l.level_bit, l.level_bits);
    } else {
        l.facility = o.maybe("printk_info", "facility");
        o.level("printk_info", l.level_byte, l.level_bit, l.level_bits, l.facility);
    }
    l.size_bits = o.need("prb_data_ring", "size_bits");
    l.data = o.need("prb_data_ring", "data");
    if (!o.ok) {
        log.format = "lockless ringbuffer";
        log.warnings.push_back(
            fmt::format("kernel log: neither VMCOREINFO nor the types give {}", o.missing));
        return log;
    }
    return read_prb(k.memory(), *prb, l);
}

PrintkLog read_legacy_of(Kernel& k, std::uint64_t log_buf) {
    PrintkLog log;
    log.format = "log_buf records";
    Offsets o{k};
    // 3.5-3.10 called the header struct log; 3.11 renamed it printk_log.
    std::string st = k.dump().vmcoreinfo.size("printk_log") || k.types().struct_size("printk_log")
                         ? "printk_log"
                         : "log";
    LegacyLogLayout l;
    l.header_size = o.size(st);
    l.ts_nsec = o.need(st, "ts_nsec");
    l.len = o.need(st, "len");
    l.text_len = o.need(st, "text_len");
    l.facility = o.maybe(st, "facility");
    l.caller_id = o.maybe(st, "caller_id");
    o.level(st, l.level_byte, l.level_bit, l.level_bits, l.facility);
    auto len_sym = symbol(k, "log_buf_len");
    auto first_sym = symbol(k, "log_first_idx");
    auto next_sym = symbol(k, "log_next_idx");
    if (!o.ok || !len_sym || !first_sym || !next_sym) {
        log.warnings.push_back(
            fmt::format("kernel log: log_buf found but not its {}",
                        !o.ok ? o.missing : "indexes (log_buf_len, log_first_idx, log_next_idx)"));
        return log;
    }
    auto& mem = k.memory();
    LegacyLogState s;
    auto buf = mem.read_u64(log_buf);
    auto len = mem.read_u32(*len_sym);
    auto first = mem.read_u32(*first_sym);
    auto next = mem.read_u32(*next_sym);
    if (!buf || !len || !first || !next) {
        log.warnings.push_back("kernel log: log_buf's pointer or indexes are not in the dump");
        return log;
    }
    s.buf = *buf, s.buf_len = *len, s.first_idx = *first, s.next_idx = *next;
    if (auto fs = symbol(k, "log_first_seq"))
        if (auto v = mem.read_u64(*fs)) s.first_seq = *v;
    return read_legacy_log(mem, s, l);
}

}  // namespace

PrintkLog read_printk_log(Kernel& k) {
    if (auto prb = symbol(k, "prb")) return read_prb_of(k, *prb);
    if (auto lb = symbol(k, "log_buf")) return read_legacy_of(k, *lb);
    PrintkLog log;
    log.warnings.push_back("kernel log: the dump has neither prb nor log_buf");
    return log;
}

}  // namespace lockhound::kernel
