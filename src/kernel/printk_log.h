// The kernel log (dmesg) from a dump, as plain records.
//
//   PrintkLog log = read_printk_log(kernel);
//   for (const LogRecord& r : log.records) r.ts_nsec, r.level, r.caller_id, r.text;
//   log.warnings;   // "the log's descriptor ring is damaged: ..." (one line per problem kind)
//
// Two formats, chosen by which symbols the kernel has:
//   - the lockless ringbuffer (5.10+): `prb` points at a struct printk_ringbuffer whose desc
//     ring (prb_desc + printk_info arrays) indexes a text data ring;
//   - the older `log_buf` of variable-length records (3.5-5.9): struct printk_log (3.10: struct
//     log) headers {ts_nsec, len, text_len, dict_len, facility, flags:5, level:3, caller_id}
//     from log_first_idx up to log_next_idx.
// Offsets come from VMCOREINFO (the kernel exports them for dump tools) and else from the types.
// The text is untrusted bytes: escape it when printing. Every walk is bounded by the ring's own
// size; wild indexes or lengths end the walk with the records read so far and one warning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dump/virtual_memory.h"

namespace lockhound::kernel {

class Kernel;

struct LogRecord {
    std::uint64_t seq = 0;
    std::uint64_t ts_nsec = 0;
    int level = 0;  // 0 (emerg) .. 7 (debug)
    int facility = 0;
    std::uint32_t caller_id = 0;  // bit 31: CPU (low bits), else task pid
    bool has_caller = false;      // the format records callers (5.10+, or CONFIG_PRINTK_CALLER)
    std::string text;             // one message; may hold several lines
};

// "T148" for a task, "C1" for a CPU (printk's own caller notation); "" when not recorded.
std::string caller_name(const LogRecord& record);

struct PrintkLog {
    std::string format;  // "lockless ringbuffer", "log_buf records", "" when none was found
    std::vector<LogRecord> records;  // oldest first
    std::vector<std::string> warnings;
};

// Member offsets of the 5.10+ ring (names as in kernel/printk/printk_ringbuffer.h).
struct PrbLayout {
    std::uint64_t desc_ring = 0, text_data_ring = 0;                // in printk_ringbuffer
    std::uint64_t count_bits = 0, descs = 0, infos = 0;             // in prb_desc_ring
    std::uint64_t head_id = 0, tail_id = 0;                         // in prb_desc_ring
    std::uint64_t desc_size = 0, state_var = 0, text_blk_lpos = 0;  // prb_desc
    std::uint64_t lpos_begin = 0, lpos_next = 8;                    // prb_data_blk_lpos
    std::uint64_t info_size = 0, seq = 0, ts_nsec = 0, text_len = 0, caller_id = 0;
    std::optional<std::uint64_t> facility;  // printk_info.facility
    std::uint64_t level_byte = 0;           // byte holding level:3
    std::uint32_t level_bit = 5, level_bits = 3;
    std::uint64_t size_bits = 0, data = 0;  // prb_data_ring
    std::uint64_t long_size = 8;            // sizeof(unsigned long)
};

struct LegacyLogLayout {
    std::uint64_t header_size = 0;  // sizeof(struct printk_log)
    std::uint64_t ts_nsec = 0, len = 0, text_len = 0;
    std::optional<std::uint64_t> facility, caller_id;
    std::uint64_t level_byte = 0;
    std::uint32_t level_bit = 5, level_bits = 3;
};

struct LegacyLogState {
    std::uint64_t buf = 0;  // log_buf (the pointer's value)
    std::uint32_t buf_len = 0, first_idx = 0, next_idx = 0;
    std::uint64_t first_seq = 0;
};

// The walks themselves, on any memory (unit tests and fuzzers build rings by hand).
PrintkLog read_prb(dump::VirtualMemory& memory, std::uint64_t prb, const PrbLayout& layout);
PrintkLog read_legacy_log(dump::VirtualMemory& memory,
                          const LegacyLogState& state,
                          const LegacyLogLayout& layout);

// The dump's log: layouts resolved from VMCOREINFO / types, format chosen by symbols.
PrintkLog read_printk_log(Kernel& kernel);

}  // namespace lockhound::kernel
