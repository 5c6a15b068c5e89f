#include "report/log_renderer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "report/escape.h"

namespace lockhound::report {

bool log_record_selected(const kernel::LogRecord& r, const LogFilter& f) {
    if (f.since_seconds && static_cast<double>(r.ts_nsec) / 1e9 < *f.since_seconds) return false;
    if (f.max_level && r.level > *f.max_level) return false;
    return true;
}

std::string format_log_timestamp(std::uint64_t ts_nsec) {
    return fmt::format("[{:5}.{:06}]", ts_nsec / 1000000000, ts_nsec % 1000000000 / 1000);
}

std::vector<std::string> format_log_record(const kernel::LogRecord& r) {
    std::string prefix = fmt::format("<{}>{}", r.level, format_log_timestamp(r.ts_nsec));
    if (auto c = kernel::caller_name(r); !c.empty()) prefix += fmt::format("[{:>6}]", c);
    std::vector<std::string> lines;
    std::string_view text = r.text;
    // A record is one message; the console prints each of its lines with the same prefix.
    while (true) {
        auto nl = text.find('\n');
        lines.push_back(prefix + " " + escape_terminal(text.substr(0, nl)));
        if (nl == std::string_view::npos || nl + 1 == text.size()) break;
        text.remove_prefix(nl + 1);
    }
    return lines;
}

std::string render_log_text(const kernel::PrintkLog& log, const LogFilter& f) {
    std::string out;
    for (const auto& r : log.records) {
        if (!log_record_selected(r, f)) continue;
        for (const auto& line : format_log_record(r)) {
            out += line;
            out += '\n';
        }
    }
    return out;
}

std::string render_log_json(const kernel::PrintkLog& log, const LogFilter& f) {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& r : log.records) {
        if (!log_record_selected(r, f)) continue;
        nlohmann::json j = {{"seq", r.seq},
                            {"ts_nsec", r.ts_nsec},
                            {"level", r.level},
                            {"facility", r.facility},
                            {"text", sanitize_utf8(r.text)}};
        if (auto c = kernel::caller_name(r); !c.empty()) j["caller"] = c;
        records.push_back(std::move(j));
    }
    nlohmann::json out = {{"format", log.format}, {"records", std::move(records)}};
    nlohmann::json w = nlohmann::json::array();
    for (const auto& s : log.warnings) w.push_back(sanitize_utf8(s));
    out["warnings"] = std::move(w);
    return out.dump(1) + "\n";
}

}  // namespace lockhound::report
