// Fuzz target: the kernel log walks (read_prb, read_legacy_log) over a memory image. The image
// is mapped at kBase and holds a printk_ringbuffer at its start (laid out as
// tests/support/printk_builder.h writes it: desc ring, info array, text ring, with pointers the
// fuzzer may aim anywhere); the same image is read as a log_buf whose length and indexes are its
// first words. The walks must stay bounded whatever the ids, positions and lengths. The records
// and the raw input, as one record's text, go through the log triage (scan_log).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "fuzz_image_memory.h"
#include "kernel/printk_log.h"
#include "kernel/triage.h"

using namespace lockhound;

namespace {

constexpr std::uint64_t kBase = 0xffff888001000000ull;

kernel::PrbLayout layout() {
    kernel::PrbLayout l;
    l.desc_ring = 0, l.text_data_ring = 40;
    l.count_bits = 0, l.descs = 8, l.infos = 16, l.head_id = 24, l.tail_id = 32;
    l.desc_size = 24, l.state_var = 0, l.text_blk_lpos = 8, l.lpos_begin = 0, l.lpos_next = 8;
    l.info_size = 88, l.seq = 0, l.ts_nsec = 8, l.text_len = 16, l.caller_id = 20;
    l.facility = 18, l.level_byte = 19;
    l.size_bits = 0, l.data = 8;
    return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::ImageMemory mem(kBase, std::as_bytes(std::span(data, size)));
    // The records read are what triage scans (panic, hung tasks, stalls): fuzzed text there too.
    (void)kernel::scan_log(kernel::read_prb(mem, kBase, layout()));
    kernel::PrintkLog raw;
    raw.records.push_back({.text = std::string(reinterpret_cast<const char*>(data),
                                               std::min<std::size_t>(size, 8192))});
    (void)kernel::scan_log(raw);
    if (size >= 12) {
        kernel::LegacyLogLayout l;
        l.header_size = 16, l.ts_nsec = 0, l.len = 8, l.text_len = 10, l.facility = 14;
        l.level_byte = 15;
        kernel::LegacyLogState s;
        s.buf = kBase;
        std::memcpy(&s.buf_len, data, 4);
        std::memcpy(&s.first_idx, data + 4, 4);
        std::memcpy(&s.next_idx, data + 8, 4);
        (void)kernel::read_legacy_log(mem, s, l);
    }
    return 0;
}
