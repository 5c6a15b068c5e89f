// OrcTable: one sorted ORC table (vmlinux or one module) and the lookup of an IP in it;
// OrcTables: the kernel's table plus every module's, found by address.
//
//   auto t = OrcTable::from_raw(ip_table_addr, ip_bytes, orc_bytes, OrcFormat::kV1, "vmlinux");
//   t->set_lookup_blocks(_stext, _etext, orc_lookup_words);  // optional, as the kernel does
//   OrcTables tables;
//   tables.set_kernel(std::move(*t));
//   tables.add_module(std::move(*module_table));
//   const OrcEntry* e = tables.find(ip);   // the rightmost entry at or below ip, like orc_find()
//
// The IP table of the kernel is `int32` self-relative (ip = &entry + entry); from_raw() turns it
// into absolute addresses once, so a lookup is a binary search over plain integers.
//
// The kernel's own table in a dump is read on demand instead (on_demand()): a lookup reads the
// two orc_lookup words of the IP's block and the chunks of IPs and entries its binary search
// touches, as the kernel's orc_find() does, rather than all of the (multi-megabyte) tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "kernel/orc_entry.h"

namespace lockhound::kernel {

// Reads out.size() bytes at a kernel address; false when they are not all readable.
using OrcMemoryReader = std::function<bool(std::uint64_t address, std::span<std::byte> out)>;

class OrcTable {
  public:
    OrcTable() = default;
    // From the bytes of `.orc_unwind_ip` (read at ip_table_addr, int32 each) and `.orc_unwind`
    // (6 bytes each). Fails when the counts disagree or the table is empty. Unsorted tables
    // (a module's before load, or an unsorted vmlinux) are sorted like the kernel does, with
    // section terminators first among equal IPs.
    [[nodiscard]] static Result<OrcTable> from_raw(std::uint64_t ip_table_addr,
                                                   std::span<const std::byte> ip_bytes,
                                                   std::span<const std::byte> orc_bytes,
                                                   OrcFormat format,
                                                   std::string name);
    // A table of n entries at ip_table_addr (int32 each) and orc_table_addr (6 bytes each), read
    // through `read` when looked up. It must be sorted, as the kernel's table in memory is (built
    // sorted, or sorted at boot); a chunk found out of order makes the whole table be read and
    // sorted once. Fails when the first or last chunk cannot be read.
    [[nodiscard]] static Result<OrcTable> on_demand(std::uint64_t ip_table_addr,
                                                    std::uint64_t orc_table_addr,
                                                    std::size_t n,
                                                    OrcFormat format,
                                                    std::string name,
                                                    OrcMemoryReader read);
    // From absolute IPs and decoded entries (tests). Sorted by IP as from_raw does.
    [[nodiscard]] static Result<OrcTable> from_entries(std::vector<std::uint64_t> ips,
                                                       std::vector<OrcEntry> entries,
                                                       std::string name);

    // The kernel's `orc_lookup[]`: for each 256-byte block from text_start, the index of the first
    // entry to search. Used only to narrow the search; inconsistent data is rejected (false) and
    // the whole table is searched instead. Pass no words to compute the blocks from the table.
    bool set_lookup_blocks(std::uint64_t text_start,
                           std::uint64_t text_end,
                           std::span<const std::uint32_t> words = {});
    // On-demand tables: the kernel's orc_lookup[] at `address` (`words` u32), read a block at a
    // time. A word pair that is out of range or whose narrowed search does not bracket the IP is
    // not trusted for that lookup (the whole table is searched). Without it (address 0) only the
    // text end is noted.
    void set_lookup_words_at(std::uint64_t text_start,
                             std::uint64_t text_end,
                             std::uint64_t address,
                             std::size_t words);

    // The entry for ip (the last one whose IP is <= ip), or nullptr before the first entry or
    // outside [first IP, end()). The pointer stays valid as long as the table lives.
    const OrcEntry* find(std::uint64_t ip) const;

    std::size_t size() const { return lazy_ ? lazy_size_ : ips_.size(); }
    bool empty() const { return size() == 0; }
    std::uint64_t first_ip() const { return first_ip_; }
    // One past the last IP described (text end when known, else the last IP + 1).
    std::uint64_t end() const { return end_; }
    void set_end(std::uint64_t end) { end_ = end; }
    const std::string& name() const { return name_; }
    OrcFormat format() const { return format_; }
    // Where the table came from and how its format was chosen, for messages.
    const std::string& description() const { return description_; }
    void set_description(std::string d) { description_ = std::move(d); }
    bool has_lookup_blocks() const { return !lookup_.empty() || lookup_words_ != 0; }
    bool on_demand_table() const { return lazy_ != nullptr; }
    // IP / entry i (i < size()); on demand, 0 / an undefined entry when it cannot be read.
    std::uint64_t ip_at(std::size_t i) const;
    const OrcEntry& entry_at(std::size_t i) const;
    // On demand: chunks read so far (for tests and benchmarks).
    std::size_t chunks_read() const;

  private:
    struct Lazy;
    void sort_if_needed();
    const OrcEntry* find_on_demand(std::uint64_t ip) const;

    std::string name_;
    std::string description_;
    OrcFormat format_ = OrcFormat::kV1;
    std::vector<std::uint64_t> ips_;
    std::vector<OrcEntry> entries_;
    std::uint64_t first_ip_ = 0;
    std::uint64_t end_ = 0;
    std::shared_ptr<Lazy> lazy_;  // on-demand state (caches: filled by const lookups)
    std::size_t lazy_size_ = 0;
    std::uint64_t lookup_address_ = 0;
    std::size_t lookup_words_ = 0;
    std::uint64_t lookup_start_ = 0;
    std::uint64_t lookup_end_ = 0;
    std::vector<std::uint32_t> lookup_;
};

class OrcTables {
  public:
    struct Found {
        const OrcEntry* entry = nullptr;
        const OrcTable* table = nullptr;
    };

    void set_kernel(OrcTable table) { kernel_ = std::move(table); }
    // Adds a module's table; text_start/text_end bound where it applies (0, 0: its own IPs).
    void add_module(OrcTable table, std::uint64_t text_start = 0, std::uint64_t text_end = 0);

    Found find(std::uint64_t ip) const;
    const OrcTable& kernel() const { return kernel_; }
    std::size_t module_count() const { return modules_.size(); }
    bool empty() const { return kernel_.empty() && modules_.empty(); }

  private:
    struct ModuleTable {
        OrcTable table;
        std::uint64_t start = 0;
        std::uint64_t end = 0;
    };
    OrcTable kernel_;
    std::vector<ModuleTable> modules_;  // sorted by start
};

}  // namespace lockhound::kernel
