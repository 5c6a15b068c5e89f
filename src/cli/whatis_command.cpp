// lockhound whatis ADDRESS|SYMBOL... DUMP [VMLINUX]: what a kernel address is — symbol, per-CPU
// data, task stack (and frame), slab object (cache, object, offset, allocated/free), memmap entry,
// page, vmalloc area — and, for objects lockhound knows, the object named by meaning.
#include <fmt/format.h>

#include "cli/common.h"
#include "kernel/address_identity.h"
#include "locks/object_naming.h"
#include "report/escape.h"

namespace lockhound::cli {

void add_whatis_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand(
        "whatis", "What a kernel address is: symbol, stack, slab object, page, vmalloc, per-CPU");
    add_common_options(*cmd, *opts, "ADDRESS... DUMP [VMLINUX]");
    cmd->callback([opts, &exit_code] {
        auto opened = open_kernel(*opts);
        if (!opened) {
            exit_code = kExitFatal;
            return;
        }
        kernel::Kernel& k = *opened->kernel;
        if (opened->arguments.empty()) {
            fmt::print(stderr, "lockhound whatis: give at least one address or symbol\n");
            exit_code = kExitUsage;
            return;
        }
        kernel::AddressIdentifier ids(k);
        locks::ObjectNamer namer(k, ids);
        for (const auto& arg : opened->arguments) {
            auto address = parse_address(k, arg);
            if (!address) {
                fmt::print(stderr,
                           "lockhound whatis: '{}' is neither an address nor a known symbol\n",
                           report::escape_terminal(arg));
                exit_code = kExitUsage;
                return;
            }
            auto id = ids.identify(*address, {.find_frame = true});
            fmt::print("{}\n", report::escape_terminal(kernel::describe(id)));
            if (auto named = namer.name_object_at(*address, id)) {
                fmt::print("  {}\n", report::escape_terminal(named->name));
                if (!named->evidence.empty())
                    fmt::print("  named from: {}\n", report::escape_terminal(named->evidence));
            }
        }
        exit_code = finish(k, *opts);
    });
}

}  // namespace lockhound::cli
