#include "debuginfo/vmlinux_finder.h"

#include <filesystem>

#include <fmt/format.h>

#include "debuginfo/build_id.h"

namespace lockhound::debuginfo {

namespace {

bool safe_release(std::string_view release) {
    // The release comes from the dump: keep it from walking the file system ("../../etc").
    if (release.empty() || release.size() > 256 || release == "." || release == "..") return false;
    return release.find('/') == std::string_view::npos &&
           release.find('\0') == std::string_view::npos;
}

std::string short_id(const std::string& id) {
    return id.size() > 12 ? id.substr(0, 12) + "…" : id;
}

}  // namespace

std::vector<std::string> vmlinux_candidates(std::string_view build_id,
                                            std::string_view release,
                                            const VmlinuxFinderOptions& options) {
    std::vector<std::string> out = options.extra_paths;
    const std::string& root = options.root;
    std::string id = normalize_build_id(build_id);
    if (id.size() > 2)
        out.push_back(fmt::format(
            "{}/usr/lib/debug/.build-id/{}/{}.debug", root, id.substr(0, 2), id.substr(2)));
    if (safe_release(release)) {
        out.push_back(fmt::format("{}/usr/lib/debug/boot/vmlinux-{}", root, release));
        out.push_back(fmt::format("{}/usr/lib/debug/lib/modules/{}/vmlinux", root, release));
        out.push_back(fmt::format("{}/lib/modules/{}/build/vmlinux", root, release));
    }
    return out;
}

VmlinuxSearch find_vmlinux(std::string_view build_id,
                           std::string_view release,
                           const VmlinuxFinderOptions& options) {
    VmlinuxSearch search;
    std::string want = normalize_build_id(build_id);
    for (const std::string& path : vmlinux_candidates(build_id, release, options)) {
        VmlinuxCandidate c{.path = path};
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            c.verdict = "missing";
        } else if (auto id = read_build_id(path); !id) {
            if (id.error().kind == ErrorKind::kNotFound && want.empty()) {
                c.verdict = "no build-id, accepted without check";
                c.accepted = true;
            } else if (id.error().kind == ErrorKind::kNotFound) {
                c.verdict = "has no build-id note";
            } else {
                c.verdict = id.error().message;
            }
        } else if (want.empty()) {
            c.verdict = "accepted without check (the dump has no BUILD-ID)";
            c.accepted = true;
        } else if (*id == want) {
            c.verdict = "matches";
            c.accepted = true;
        } else {
            c.verdict = fmt::format("build-id {} does not match {}", short_id(*id), short_id(want));
        }
        search.tried.push_back(c);
        if (c.accepted) {
            search.found = path;
            break;
        }
    }
    return search;
}

std::string VmlinuxSearch::describe_tried() const {
    std::string out;
    for (const auto& c : tried) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} ({})", c.path, c.verdict);
    }
    return out.empty() ? "no path to search (no build-id and no release)" : out;
}

}  // namespace lockhound::debuginfo
