// Finding the vmlinux (with DWARF) that belongs to a dump, by build-id and release.
//
//   auto s = find_vmlinux(dump.vmcoreinfo.build_id(), dump.vmcoreinfo.osrelease());
//   if (s.found) open DwarfTypes on *s.found;
//   else error("no vmlinux: " + s.describe_tried());   // every path and why it was refused
//
// Searched in order: options.extra_paths, /usr/lib/debug/.build-id/xx/rest.debug,
// /usr/lib/debug/boot/vmlinux-REL, /usr/lib/debug/lib/modules/REL/vmlinux,
// /lib/modules/REL/build/vmlinux. The first whose build-id matches wins; with no build-id to
// compare (old dumps), the first existing ELF file does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockhound::debuginfo {

struct VmlinuxFinderOptions {
    std::vector<std::string> extra_paths;  // tried first (e.g. --vmlinux, a debuginfo cache)
    std::string root;                      // prefix for the standard paths (tests); "" = "/"
};

struct VmlinuxCandidate {
    std::string path;
    std::string verdict;  // "missing", "build-id 1234… does not match", "matches", ...
    bool accepted = false;
};

struct VmlinuxSearch {
    std::optional<std::string> found;
    std::vector<VmlinuxCandidate> tried;  // in search order, up to and including the one found
    // "/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64 (missing), /lib/modules/... (missing)"
    std::string describe_tried() const;
};

// The paths that would be searched, in order (no file access).
std::vector<std::string> vmlinux_candidates(std::string_view build_id,
                                            std::string_view release,
                                            const VmlinuxFinderOptions& options = {});

VmlinuxSearch find_vmlinux(std::string_view build_id,
                           std::string_view release,
                           const VmlinuxFinderOptions& options = {});

}  // namespace lockhound::debuginfo
