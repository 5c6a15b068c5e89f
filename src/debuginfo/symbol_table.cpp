#include "debuginfo/symbol_table.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <tuple>
#include <utility>

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

int leading_underscores(std::string_view name) {
    int n = 0;
    while (n < static_cast<int>(name.size()) && name[static_cast<std::size_t>(n)] == '_') ++n;
    return n;
}

// Order of symbols at one address, the preferred name first: the kernel's kallsyms puts weak
// symbols last and prefers fewer leading underscores; then sized over labels, global over local.
bool preferred(const Symbol& a, const Symbol& b) {
    auto key = [](const Symbol& s) {
        int rank = binding_rank(s);
        return std::make_tuple(rank == 2, leading_underscores(s.name), s.size == 0, rank, s.module);
    };
    auto ka = key(a), kb = key(b);
    if (ka != kb) return ka < kb;
    return a.name < b.name;
}

// The leading fields of preferred()'s key, packed in the same order (leading underscores capped:
// equal packed keys fall back to preferred()), so a < b implies preferred(a, b).
std::uint32_t preference_key(const Symbol& s) {
    int rank = binding_rank(s);
    auto under = static_cast<std::uint32_t>(std::min(leading_underscores(s.name), 255));
    return (rank == 2 ? 1u << 12 : 0u) | under << 4 | (s.size == 0 ? 1u << 3 : 0u) |
           static_cast<std::uint32_t>(rank);
}

// Sorts (address, index) pairs given in index order by address, then index: a stable LSD radix
// sort on 11-bit digits, skipping the digits all addresses share (the kernel's high bits).
void sort_by_address(std::vector<std::pair<std::uint64_t, std::uint32_t>>& v) {
    constexpr unsigned kBits = 11;
    constexpr std::size_t kBuckets = std::size_t{1} << kBits;
    if (v.size() < 64) {
        std::sort(v.begin(), v.end());
        return;
    }
    std::vector<std::pair<std::uint64_t, std::uint32_t>> tmp(v.size());
    std::vector<std::size_t> count(kBuckets);
    for (unsigned shift = 0; shift < 64; shift += kBits) {
        std::fill(count.begin(), count.end(), 0);
        for (const auto& e : v) ++count[(e.first >> shift) & (kBuckets - 1)];
        if (std::find(count.begin(), count.end(), v.size()) != count.end()) continue;
        std::size_t sum = 0;
        for (auto& c : count) sum += std::exchange(c, sum);
        for (const auto& e : v) tmp[count[(e.first >> shift) & (kBuckets - 1)]++] = e;
        v.swap(tmp);
    }
}

// Rank for the by-name index: kernel before modules, global before local before weak, and then
// the lowest address (symbols_ is visited in address order, so ties keep the first).
std::tuple<bool, int> name_rank(const Symbol& s) {
    return {!s.module.empty(), binding_rank(s)};
}

// Eight bytes at a time, multiply-xorshift mixed: symbol names are short, and the index only
// needs a cheap, stable spread (the order of ties never depends on it).
std::uint64_t name_hash(std::string_view s) {
    constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ull;
    std::uint64_t h = 0xcbf29ce484222325ull ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * kMul;
        h ^= h >> 32;
    }
    if (i < s.size()) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + i, s.size() - i);
        h = (h ^ w) * kMul;
        h ^= h >> 32;
    }
    h *= kMul;
    return h ^ (h >> 29);
}

}  // namespace

// Names copied by add(): bump-allocated in large chunks that never move.
class SymbolTable::NameStore {
  public:
    std::string_view copy(std::string_view text) {
        if (text.empty()) return {};
        if (text.size() > kChunk / 4) {  // a giant name gets a chunk of its own
            chunks_.push_back(std::make_unique_for_overwrite<char[]>(text.size()));
            std::memcpy(chunks_.back().get(), text.data(), text.size());
            return {chunks_.back().get(), text.size()};
        }
        if (!current_ || kChunk - used_ < text.size()) {
            current_ = chunks_.emplace_back(std::make_unique_for_overwrite<char[]>(kChunk)).get();
            used_ = 0;
        }
        char* at = current_ + used_;
        std::memcpy(at, text.data(), text.size());
        used_ += text.size();
        return {at, text.size()};
    }

  private:
    static constexpr std::size_t kChunk = 256 * 1024;
    std::vector<std::unique_ptr<char[]>> chunks_;
    char* current_ = nullptr;
    std::size_t used_ = 0;
};

std::string ResolvedAddress::format() const {
    if (!symbol) return "";
    std::string out(symbol->name);
    if (size > 0)
        out += fmt::format("+{:#x}/{:#x}", offset, size);
    else
        out += fmt::format("+{:#x}", offset);
    if (!symbol->module.empty()) out += fmt::format(" [{}]", symbol->module);
    return out;
}

std::string_view SymbolTable::store(std::string_view text) {
    if (!store_) {
        store_ = std::make_shared<NameStore>();
        keep_.push_back(store_);
    }
    return store_->copy(text);
}

std::string_view SymbolTable::intern_module(std::string_view module) {
    if (module.empty()) return {};
    // Symbols come module by module: the last one matches nearly always.
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it)
        if (*it == module) return *it;
    return modules_.emplace_back(store(module));
}

void SymbolTable::add(const Symbol& symbol) {
    Symbol s = symbol;
    s.name = store(symbol.name);
    s.module = intern_module(symbol.module);
    symbols_.push_back(s);
    finalized_ = false;
}

void SymbolTable::add_borrowed(const Symbol& symbol, std::string_view module) {
    Symbol s = symbol;
    s.module = intern_module(module);
    symbols_.push_back(s);
    finalized_ = false;
}

// Copies share what the names point into (the views stay valid); later adds to either table go
// to a name store of its own.
SymbolTable::SymbolTable(const SymbolTable& other)
    : symbols_(other.symbols_), keep_(other.keep_), modules_(other.modules_) {
    if (other.finalized_) finalize();
}

SymbolTable& SymbolTable::operator=(const SymbolTable& other) {
    if (this != &other) {
        symbols_ = other.symbols_;
        keep_ = other.keep_;
        store_.reset();
        modules_ = other.modules_;
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
    // Plain integer keys first, then the preference only among aliases.
    sort_by_address(order);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> aliases;
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i + 1;
        while (j < order.size() && order[j].first == order[i].first) ++j;
        if (j - i > 1) {
            // The preference's leading fields packed once per alias (the full comparison only
            // breaks ties), instead of recomputed at every comparison.
            aliases.clear();
            for (std::size_t k = i; k < j; ++k)
                aliases.emplace_back(preference_key(symbols_[order[k].second]), order[k].second);
            std::sort(aliases.begin(), aliases.end(), [this](const auto& a, const auto& b) {
                if (a.first != b.first) return a.first < b.first;
                const Symbol& sa = symbols_[a.second];
                const Symbol& sb = symbols_[b.second];
                // Equal packed keys below the cap: the rest of preferred()'s order is the
                // module, then the name (thousands of __kstrtabns_* share one address).
                if ((a.first >> 4 & 0xff) == 0xff) return preferred(sa, sb);
                if (sa.module != sb.module) return sa.module < sb.module;
                return sa.name < sb.name;
            });
            for (std::size_t k = i; k < j; ++k) order[k].second = aliases[k - i].second;
        }
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
        std::inplace_merge(symbols_.begin(),
                           symbols_.begin() + static_cast<std::ptrdiff_t>(done),
                           symbols_.end(),
                           by_address);
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
    auto it = std::upper_bound(
        symbols_.begin(), symbols_.end(), addr, [](std::uint64_t a, const Symbol& s) {
            return a < s.address;
        });
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
    for (std::size_t j = first; j-- > 0 && max_end_[j] > addr && steps++ < kMaxWalk;) {
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
