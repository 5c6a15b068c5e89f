#include "debuginfo/symbol_table.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include <fmt/format.h>

namespace lockhound::debuginfo {

namespace {

constexpr std::uint64_t kMaxDistance = 1ull << 20;  // nearest-below lookups stop at 1 MiB
constexpr std::size_t kMaxWalk = 4096;              // symbols visited looking for a container

// 0 global, 1 local, 2 weak: the kernel prefers global names for aliases.
int binding_rank(const Symbol& s) {
    if (s.type == 'w' || s.type == 'W' || s.type == 'v' || s.type == 'V') return 2;
    if (std::isupper(static_cast<unsigned char>(s.type))) return 0;
    return 1;
}

int leading_underscores(const std::string& name) {
    int n = 0;
    while (n < static_cast<int>(name.size()) && name[static_cast<std::size_t>(n)] == '_') ++n;
    return n;
}

// Order of symbols at one address, the preferred name first: the kernel's kallsyms puts weak
// symbols last and prefers fewer leading underscores; then sized over labels, global over local.
bool preferred(const Symbol& a, const Symbol& b) {
    auto key = [](const Symbol& s) {
        int rank = binding_rank(s);
        return std::make_tuple(
            rank == 2, leading_underscores(s.name), s.size == 0, rank, std::string_view(s.module));
    };
    auto ka = key(a);
    auto kb = key(b);
    if (ka != kb) return ka < kb;
    return a.name < b.name;
}

// Rank for the by-name index: kernel before modules, global before local before weak, and then
// the lowest address (symbols_ is visited in address order, so ties keep the first).
std::tuple<bool, int> name_rank(const Symbol& s) {
    return {!s.module.empty(), binding_rank(s)};
}

// FNV-1a, folded: symbol names are short, and the index only needs a cheap, stable spread.
std::uint64_t name_hash(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

}  // namespace

std::string ResolvedAddress::format() const {
    if (!symbol) return "";
    std::string out = symbol->name;
    if (size > 0)
        out += fmt::format("+{:#x}/{:#x}", offset, size);
    else
        out += fmt::format("+{:#x}", offset);
    if (!symbol->module.empty()) out += fmt::format(" [{}]", symbol->module);
    return out;
}

void SymbolTable::add(Symbol symbol) {
    symbols_.push_back(std::move(symbol));
    finalized_ = false;
}

SymbolTable::SymbolTable(const SymbolTable& other) : symbols_(other.symbols_) {
    if (other.finalized_) finalize();
}

SymbolTable& SymbolTable::operator=(const SymbolTable& other) {
    if (this != &other) {
        symbols_ = other.symbols_;
        name_slots_.clear();
        name_index_ready_ = false;
        max_end_.clear();
        finalized_ = false;
        sorted_prefix_ = 0;
        if (other.finalized_) finalize();
    }
    return *this;
}

void SymbolTable::finalize() {
    // Sort compact (address, index) pairs, then move each symbol once: far cheaper than sorting
    // the symbols themselves.
    // Symbols added since the last finalize() (module symbols after the kernel's) are sorted on
    // their own and merged, instead of sorting everything again.
    std::size_t done = std::min(sorted_prefix_, symbols_.size());
    std::vector<std::pair<std::uint64_t, std::uint32_t>> order(symbols_.size() - done);
    for (std::size_t i = done; i < symbols_.size(); ++i)
        order[i - done] = {symbols_[i].address, static_cast<std::uint32_t>(i)};
    // Plain integer keys first (cheap comparisons), then the preference only among aliases.
    std::ranges::sort(order);
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i + 1;
        while (j < order.size() && order[j].first == order[i].first) ++j;
        if (j - i > 1)
            std::sort(order.begin() + static_cast<std::ptrdiff_t>(i),
                      order.begin() + static_cast<std::ptrdiff_t>(j),
                      [this](const auto& a, const auto& b) {
                          return preferred(symbols_[a.second], symbols_[b.second]);
                      });
        i = j;
    }
    std::vector<Symbol> tail;
    tail.reserve(order.size());
    for (const auto& o : order) tail.push_back(std::move(symbols_[o.second]));
    symbols_.resize(done);
    auto by_address = [](const Symbol& a, const Symbol& b) {
        if (a.address != b.address) return a.address < b.address;
        return preferred(a, b);
    };
    bool append = done == 0 || tail.empty() || !by_address(tail.front(), symbols_.back());
    for (auto& t : tail) symbols_.push_back(std::move(t));
    if (!append)
        std::ranges::inplace_merge(
            symbols_, symbols_.begin() + static_cast<std::ptrdiff_t>(done), by_address);
    sorted_prefix_ = symbols_.size();

    max_end_.resize(symbols_.size());
    std::uint64_t max_end = 0;
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
        const Symbol& s = symbols_[i];
        std::uint64_t end = s.size > 0 && s.address + s.size > s.address ? s.address + s.size : 0;
        max_end = std::max(max_end, end);
        max_end_[i] = max_end;
    }
    // Symbols appended above every earlier one (a module's, after the kernel's) leave the earlier
    // indices valid: extend the name index instead of building it again.
    if (append && name_index_ready_ && symbols_.size() * 2 <= name_slots_.size()) {
        for (std::size_t i = done; i < symbols_.size(); ++i) index_name(i);
    } else {
        name_slots_.clear();
        name_index_ready_ = false;
    }
    finalized_ = true;
}

void SymbolTable::index_name(std::size_t i) const {
    if (i >= 0xffffffffu) return;
    const Symbol& s = symbols_[i];
    const std::size_t mask = name_slots_.size() - 1;
    const std::uint64_t h = name_hash(s.name);
    const std::uint64_t tag = h >> 32 << 32;
    for (std::size_t at = h & mask;; at = (at + 1) & mask) {
        std::uint64_t& slot = name_slots_[at];
        if (slot == 0) {
            slot = tag | (i + 1);
            return;
        }
        // The tag (high hash bits) spares a name comparison on nearly every collision.
        if ((slot & ~0xffffffffull) != tag) continue;
        const Symbol& other = symbols_[(slot & 0xffffffffu) - 1];
        if (other.name != s.name) continue;
        // Address order visits ties lowest address first: keep it unless strictly preferred.
        if (name_rank(s) < name_rank(other)) slot = tag | (i + 1);
        return;
    }
}

void SymbolTable::build_name_index() const {
    std::size_t cap = 16;
    while (cap < symbols_.size() * 2 + 8192) cap <<= 1;  // room for module symbols
    name_slots_.assign(cap, 0);
    for (std::size_t i = 0; i < symbols_.size(); ++i) index_name(i);
    name_index_ready_ = true;
}

const Symbol* SymbolTable::find(std::string_view name) const {
    if (!finalized_) {
        // Before finalize(): a linear scan with the same preference, so early callers still work.
        const Symbol* best = nullptr;
        for (const Symbol& s : symbols_) {
            if (s.name != name) continue;
            if (!best || name_rank(s) < name_rank(*best) ||
                (name_rank(s) == name_rank(*best) && s.address < best->address))
                best = &s;
        }
        return best;
    }
    if (!name_index_ready_) build_name_index();
    const std::size_t mask = name_slots_.size() - 1;
    const std::uint64_t h = name_hash(name);
    const std::uint64_t tag = h >> 32 << 32;
    for (std::size_t at = h & mask;; at = (at + 1) & mask) {
        std::uint64_t slot = name_slots_[at];
        if (slot == 0) return nullptr;
        const Symbol& s = symbols_[(slot & 0xffffffffu) - 1];
        if ((slot & ~0xffffffffull) == tag && s.name == name) return &s;
    }
}

std::optional<std::uint64_t> SymbolTable::address_of(std::string_view name) const {
    const Symbol* s = find(name);
    if (!s) return std::nullopt;
    return s->address;
}

std::optional<ResolvedAddress> SymbolTable::lookup(std::uint64_t addr) const {
    if (!finalized_ || symbols_.empty()) return std::nullopt;
    auto it = std::ranges::upper_bound(symbols_, addr, {}, &Symbol::address);
    if (it == symbols_.begin()) return std::nullopt;
    std::size_t last = static_cast<std::size_t>(it - symbols_.begin()) - 1;
    std::uint64_t start = symbols_[last].address;
    std::size_t first = last;
    while (first > 0 && symbols_[first - 1].address == start) --first;

    // Distance from a symbol to the next higher address in the same module (kallsyms' size).
    auto span_of = [&](const Symbol& s, std::size_t index_of_last_alias) -> std::uint64_t {
        for (std::size_t k = index_of_last_alias + 1; k < symbols_.size(); ++k) {
            const Symbol& next = symbols_[k];
            if (next.address == s.address) continue;
            if (next.module == s.module && next.address - s.address <= kMaxDistance)
                return next.address - s.address;
            break;
        }
        return s.size;
    };

    // 1. The nearest symbol below, if it covers addr: by its size, or (labels and kallsyms
    //    symbols, which have none) up to 1 MiB. symbols_[first] is the preferred alias.
    bool any_sized = false;
    for (std::size_t j = first; j <= last; ++j) {
        const Symbol& s = symbols_[j];
        if (s.size > 0) {
            any_sized = true;
            if (addr - start < s.size)
                return ResolvedAddress{&symbols_[first], addr - start, span_of(s, last)};
        }
    }
    if (!any_sized && addr - start < kMaxDistance) {
        const Symbol& s = symbols_[first];
        return ResolvedAddress{&s, addr - start, span_of(s, last)};
    }

    // 2. addr is past the end of every symbol at that address: an enclosing sized symbol that
    //    starts further below (nested objects). max_end_ bounds the walk; the step cap keeps one
    //    absurd size (garbage input) from making every lookup linear.
    std::size_t steps = 0;
    for (std::size_t j = first; j > 0;) {
        --j;
        if (max_end_[j] <= addr || steps >= kMaxWalk) break;
        ++steps;
        const Symbol& s = symbols_[j];
        if (s.size == 0 || addr - s.address >= s.size) continue;
        while (j > 0 && symbols_[j - 1].address == s.address) --j;
        return ResolvedAddress{&symbols_[j], addr - s.address, s.size};
    }
    return std::nullopt;
}

std::optional<ResolvedAddress> SymbolTable::lookup_backtrace(std::uint64_t return_addr) const {
    if (return_addr == 0) return std::nullopt;
    auto r = lookup(return_addr - 1);
    if (r) r->offset += 1;
    return r;
}

}  // namespace lockhound::debuginfo
