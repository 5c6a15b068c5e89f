// The kernel log as text (dmesg-like, one line per line of a record) and as JSON.
//
//   <6>[    1.234567][  T148] lockbomb: loaded
//
// Text is untrusted: escaped for the terminal (control bytes as \xNN) and for JSON (valid UTF-8).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/printk_log.h"

namespace lockhound::report {

struct LogFilter {
    std::optional<double> since_seconds;  // records at or after this timestamp
    std::optional<int> max_level;         // records of this level or more urgent (lower)
};

bool log_record_selected(const kernel::LogRecord& record, const LogFilter& filter);
// "[    1.234567]" as the kernel prints a timestamp.
std::string format_log_timestamp(std::uint64_t ts_nsec);
// Each line of one record, prefixed "<level>[timestamp][caller] ".
std::vector<std::string> format_log_record(const kernel::LogRecord& record);
std::string render_log_text(const kernel::PrintkLog& log, const LogFilter& filter);
std::string render_log_json(const kernel::PrintkLog& log, const LogFilter& filter);

}  // namespace lockhound::report
