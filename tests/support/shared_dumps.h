// Locating the real dumps of ../shared/dumps and their debuginfo, for tests that use them.
//
//   for (const auto& d : shared_dumps()) { ... d.truth["locks"] ... }
//   auto vmlinux = vmlinux_for(d.release);   // nullopt -> GTEST_SKIP
//
// The shared folder is found at $LOCKHOUND_SHARED, else <source>/../shared. The DWARF vmlinux is
// $LOCKHOUND_VMLINUX, else the cache of ../shared/dumps/get-debuginfo.sh
// (${DEBUGINFO_CACHE:-${XDG_CACHE_HOME:-~/.cache}/lockdump-debuginfo}/REL/vmlinux-REL).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lockhound::testing {

struct SharedDump {
    std::string scenario;              // "abba-mutex"
    std::string release;               // "6.1.0-56-amd64"
    std::string dir;                   // the scenario directory
    std::vector<std::string> vmcores;  // every vmcore file in it (all formats)
    nlohmann::json truth;
    std::string name() const { return release + "/" + scenario; }
};

std::optional<std::string> shared_dir();
std::vector<SharedDump> shared_dumps();
// The project's own committed dumps under sample_dumps/ (same truth.json schema).
std::vector<SharedDump> sample_dumps();
// shared_dumps() followed by sample_dumps().
std::vector<SharedDump> all_truth_dumps();
std::optional<SharedDump> shared_dump(const std::string& scenario);
// Dumps of other kernels made by the dump generators (never in git), laid out as
// <root>/<release>/<scenario>/{truth.json,vmcore*}; root is $LOCKHOUND_EXTRA_DUMPS, else
// ${XDG_CACHE_HOME:-~/.cache}/lh-dumps.
std::vector<SharedDump> extra_dumps();
// all_truth_dumps() followed by extra_dumps(): every dump of every kernel at hand.
std::vector<SharedDump> every_dump();
// The DWARF vmlinux of exactly this release (the debuginfo cache or /usr/lib/debug); unlike
// vmlinux_for, $LOCKHOUND_VMLINUX counts only when its path names the release.
std::optional<std::string> release_vmlinux(const std::string& release);
std::optional<std::string> vmlinux_for(const std::string& release);
std::string source_dir();
std::string lockhound_binary();

// Runs the lockhound binary with args; returns exit status and captured stdout (+stderr).
// With timeout_seconds > 0 the process is killed (SIGKILL) when it runs longer: timed_out is set
// and status is -1.
struct CommandResult {
    int status = -1;
    std::string out;
    std::string err;
    bool timed_out = false;
};
CommandResult run_lockhound(const std::vector<std::string>& args, int timeout_seconds = 0);

// Waits for the child pid; kills it (SIGKILL) after timeout_seconds (0: no limit). Its exit status
// (128 + signal when a signal ended it), or nullopt when it was killed for the timeout.
std::optional<int> wait_child(int pid, int timeout_seconds);
// Creates an empty file named stem-XXXXXX in the temporary directory ($TMPDIR, else /tmp); sets
// path and returns its descriptor (-1 on failure).
int make_temp_file(const std::string& stem, std::string& path);

}  // namespace lockhound::testing
