// SVG through Graphviz: pipes DOT text into `dot -Tsvg -o FILE` (found on PATH, started with
// posix_spawn, no shell) and checks its exit status.
//
//   std::ostringstream dot; report::render_dot(dot, r);
//   if (auto ok = report::write_svg(dot.str(), "hang.svg"); !ok) print(ok.error().describe());
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lockhound::report {

// The first executable `program` in $PATH (or `path_env` when given), or nullopt.
std::optional<std::string> find_on_path(std::string_view program,
                                        std::optional<std::string> path_env = std::nullopt);

// kNotFound when `dot` is not on PATH; kIo when it cannot be started or fails.
Result<> write_svg(std::string_view dot_text, const std::string& svg_path);

}  // namespace lockhound::report
