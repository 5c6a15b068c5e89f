// Graphviz DOT of the wait-for graph: task nodes (box) and lock nodes (ellipse; octagon when on a
// deadlock cycle), edges waiter -> lock (label: mode) and lock -> holder (label: mode,
// confidence; dashed when not certain), cycle members and cycle edges red, root causes filled,
// identical waiters of one lock collapsed into one "N × comm" node, and a legend. Every label
// goes through escape_dot.
//
//   report::render_dot(std::cout, report);        // `dot -Tsvg` it, or see svg.h
#pragma once

#include <ostream>

#include "report/report.h"

namespace lockhound::report {

void render_dot(std::ostream& out, const Report& report);

}  // namespace lockhound::report
