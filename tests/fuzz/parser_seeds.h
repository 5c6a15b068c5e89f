// write_parser_seeds: seed inputs for the fuzz targets above the dump layer (kallsyms, btf, orc,
// lock_decode), built in code (parser_seeds.cpp); lh_fuzz_seeds calls it.
//
//   int n = write_parser_seeds(out_dir);   // out_dir/<target>/<seed>, returns how many
#pragma once

#include <filesystem>

namespace lockhound::fuzz {

int write_parser_seeds(const std::filesystem::path& out);

}  // namespace lockhound::fuzz
