// Seeds for the fuzz targets above the dump layer (kallsyms, btf, orc, lock_decode), written by
// lh_fuzz_seeds (make_seeds.cpp calls write_parser_seeds). Small valid inputs in each target's
// input format, built here: nothing binary is committed.
#include "parser_seeds.h"

#include "support/btf_builder.h"
#include "support/kallsyms_builder.h"
#include "support/printk_builder.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace lockhound::fuzz {

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

int g_count = 0;

void write(const fs::path& out,
           const std::string& target,
           const std::string& name,
           const Bytes& b) {
    fs::create_directories(out / target);
    std::ofstream f(out / target / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ++g_count;
}

template <typename T>
void put(Bytes& b, T v) {
    std::byte raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    b.insert(b.end(), raw, raw + sizeof(T));
}
template <typename T>
void put_at(Bytes& b, std::size_t off, T v) {
    if (b.size() < off + sizeof(T)) b.resize(off + sizeof(T));
    std::memcpy(b.data() + off, &v, sizeof(T));
}

// ---- kallsyms (fuzz_kallsyms.cpp: 32-byte header of offsets + flags, then the image) ----

// 600 symbols laid out as before 6.4 with their markers, for the scan (flag 4): [offsets]
// [relative_base][num_syms][names][markers][token_table][token_index], each 8-aligned.
Bytes kallsyms_scan_seed() {
    std::vector<std::string> typed_names = {"T_stext"};
    for (int i = 1; i < 600; ++i) typed_names.push_back("tmutex_lock_" + std::to_string(i));
    const auto tables = testing::encode_kallsyms(typed_names, {"mutex", "_lock"});
    auto align8 = [](Bytes& b) { b.resize((b.size() + 7) & ~std::size_t{7}); };
    Bytes img;
    for (std::size_t i = 0; i < typed_names.size(); ++i)
        put<std::int32_t>(img, -1 - static_cast<std::int32_t>(0x10 * i));
    align8(img);
    put<std::uint64_t>(img, 0xffffffff81000000ull);
    put<std::uint32_t>(img, static_cast<std::uint32_t>(typed_names.size()));
    align8(img);
    std::vector<std::uint32_t> markers;
    for (std::size_t i = 0, sym = 0; i < tables.names.size(); ++sym) {
        if (sym % 256 == 0) markers.push_back(static_cast<std::uint32_t>(i));
        i += 1 + tables.names[i];
    }
    for (auto c : tables.names) put<std::uint8_t>(img, c);
    align8(img);
    for (auto m : markers) put<std::uint32_t>(img, m);
    align8(img);
    for (char c : tables.token_table) put<char>(img, c);
    align8(img);
    for (auto v : tables.token_index) put<std::uint16_t>(img, v);
    Bytes in(28, std::byte{0});  // table offsets unused by the scan; h[6] = 0: _stext at base
    put<std::uint32_t>(in, 4u);
    in.insert(in.end(), img.begin(), img.end());
    return in;
}

// Tables laid out as scripts/kallsyms does (support/kallsyms_builder.h), with offsets or
// addresses.
Bytes kallsyms_seed(bool absolute_addresses, bool big_symbol) {
    const std::vector<std::string> multi = {"down_", "read", "mutex", "_lock", "lb_"};
    struct Sym {
        std::int64_t value;
        std::string typed_name;
    };
    std::vector<Sym> syms = {{-1, "T_stext"},
                             {-0xa55c11, "Tdown_read"},
                             {-0xa55131, "Tmutex_lock"},
                             {0x1fb80, "Dcurrent_task"},
                             {-0xa55dd1, "tlb_thread.cold"}};
    if (big_symbol) syms.push_back({-0xa55e01, "T" + std::string(200, 'x')});
    const std::uint64_t relative_base = 0xffffffff81000000ull;

    std::vector<std::string> typed_names;
    for (const auto& sym : syms) typed_names.push_back(sym.typed_name);
    const auto tables = testing::encode_kallsyms(typed_names, multi);
    const auto& names = tables.names;
    const auto& table = tables.token_table;
    const auto& index = tables.token_index;
    // Image: offsets/addresses @0, relative_base, num_syms, names, token table, token index.
    Bytes img;
    const std::uint32_t entry = absolute_addresses ? 8 : 4;
    const std::uint32_t rel = static_cast<std::uint32_t>(syms.size()) * entry;
    const std::uint32_t num = rel + 8;
    const std::uint32_t names_at = num + 8;
    const std::uint32_t table_at = names_at + static_cast<std::uint32_t>((names.size() + 7) & ~7u);
    const std::uint32_t index_at = table_at + static_cast<std::uint32_t>((table.size() + 7) & ~7u);
    for (std::size_t i = 0; i < syms.size(); ++i) {
        if (absolute_addresses) {
            std::uint64_t a = syms[i].value >= 0
                                  ? static_cast<std::uint64_t>(syms[i].value)
                                  : relative_base - 1 - static_cast<std::uint64_t>(syms[i].value);
            put_at<std::uint64_t>(img, i * 8, a);
        } else {
            put_at<std::int32_t>(img, i * 4, static_cast<std::int32_t>(syms[i].value));
        }
    }
    put_at<std::uint64_t>(img, rel, relative_base);
    put_at<std::uint32_t>(img, num, static_cast<std::uint32_t>(syms.size()));
    img.resize(names_at);
    for (auto c : names) put<std::uint8_t>(img, c);
    img.resize(table_at);
    for (char c : table) put<char>(img, c);
    img.resize(index_at);
    for (auto v : index) put<std::uint16_t>(img, v);

    Bytes in;
    put<std::uint32_t>(in, num);       // num_syms
    put<std::uint32_t>(in, names_at);  // names
    put<std::uint32_t>(in, table_at);  // token_table
    put<std::uint32_t>(in, index_at);  // token_index
    put<std::uint32_t>(in, 0);         // offsets
    put<std::uint32_t>(in, rel);       // relative_base
    put<std::uint32_t>(in, 0);         // addresses
    put<std::uint32_t>(in, absolute_addresses ? 1u : 0u);
    in.insert(in.end(), img.begin(), img.end());
    return in;
}

// ---- BTF (fuzz_btf.cpp: raw .BTF bytes) ----

using testing::BtfBuilder;

Bytes btf_seed() {
    BtfBuilder b;
    const auto t_int = b.integer("int", 4, 32, true);                     // 1
    const auto t_long = b.integer("long", 8, 64, true);                   // 2
    const auto t_char = b.integer("char", 1, 8, true);                    // 3
    const auto t_list = b.type("list_head", BtfBuilder::kStruct, 2, 16);  // 4
    b.member("next", 5, 0);
    b.member("prev", 5, 64);
    b.type("", BtfBuilder::kPtr, 0, t_list);                   // 5
    const auto t_comm = b.type("", BtfBuilder::kArray, 0, 0);  // 6: char[16]
    b.u32(t_char);
    b.u32(t_int);
    b.u32(16);
    const auto t_thread = b.type("thread_struct", BtfBuilder::kStruct, 1, 8);  // 7
    b.member("sp", t_long, 0);
    const auto t_task = b.type("task_struct", BtfBuilder::kStruct, 5, 64);  // 8
    b.member("__state", t_int, 0);
    b.member("tasks", t_list, 64);
    b.member("pid", t_int, 192);
    b.member("comm", t_comm, 224);
    b.member("thread", t_thread, 384);
    const auto t_counter = b.type("", BtfBuilder::kStruct, 1, 8);  // 9
    b.member("counter", t_long, 0);
    const auto t_atomic = b.type("atomic_long_t", BtfBuilder::kTypedef, 0, t_counter);  // 10
    const auto t_union = 12u;
    b.type("mutex", BtfBuilder::kStruct, 3, 32);  // 11
    b.member("owner", t_atomic, 0);
    b.member("", t_union, 64);
    b.member("wait_list", t_list, 128);
    b.type("", BtfBuilder::kUnion, 2, 8);  // 12
    b.member("a", t_int, 0);
    b.member("b", t_long, 0);
    const auto t_mode = b.type("rwsem_waiter_type", BtfBuilder::kEnum, 2, 4);  // 13
    b.u32(b.str("RWSEM_WAITING_FOR_WRITE"));
    b.u32(0);
    b.u32(b.str("RWSEM_WAITING_FOR_READ"));
    b.u32(1);
    b.type("rwsem_waiter", BtfBuilder::kStruct, 3, 40);  // 14
    b.member("list", t_list, 0);
    b.member("task", 15, 128);
    b.member("type", t_mode, 192);
    b.type("", BtfBuilder::kPtr, 0, t_task);                        // 15
    b.type("bits", BtfBuilder::kStruct, 2, 4, /*kind_flag=*/true);  // 16
    b.member("x", t_int, (3u << 24) | 0);
    b.member("y", t_int, (5u << 24) | 3);
    b.type("big", BtfBuilder::kEnum64, 1, 8);  // 17
    b.u32(b.str("E"));
    b.u32(0);
    b.u32(1);
    b.type("module", BtfBuilder::kFwd, 0, 0);  // 18
    return b.build();
}

// ---- ORC (fuzz_orc.cpp: u8 format, u8 flags, u16 n, u32 text size, IPs, entries, blocks) ----

Bytes orc_seed(int format, bool with_blocks) {
    constexpr std::uint64_t kIpTable = 0xffffffff81e00000ull;
    constexpr std::uint64_t kText = 0xffffffff81000000ull;
    const std::uint16_t n = 32;
    Bytes in;
    put<std::uint8_t>(in, static_cast<std::uint8_t>(format - 1));
    put<std::uint8_t>(in, with_blocks ? 1 : 2);
    put<std::uint16_t>(in, n);
    put<std::uint32_t>(in, n * 0x100);
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint64_t ip = kText + 0x100ull * i;
        put<std::int32_t>(in, static_cast<std::int32_t>(ip - (kIpTable + 4ull * i)));
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        // v1 bits: sp_reg:4 bp_reg:4 type:2 end:1. CALL with CFA = SP + 8 (+16 for every
        // fourth), BP undefined; the last entry: a terminator (undefined SP, end clear).
        std::uint16_t bits = i + 1 == n ? 0 : 5;
        put<std::int16_t>(in, static_cast<std::int16_t>(i % 4 == 3 ? 24 : 8));
        put<std::int16_t>(in, static_cast<std::int16_t>(i % 4 == 3 ? -16 : 0));
        put<std::uint16_t>(in, static_cast<std::uint16_t>(i % 4 == 3 ? bits | (1u << 4) : bits));
    }
    for (std::uint32_t b = 0; b <= n; ++b) put<std::uint32_t>(in, b);
    return in;
}

// ---- lock_decode (fuzz_lock_decode.cpp: memory at kHeap, the lock at offset 0) ----

Bytes lock_seed(bool tree) {
    constexpr std::uint64_t kHeap = 0xffff888000100000ull;
    Bytes img(0x600);
    // Tasks: 'T' at 0x400, 0x440, 0x480, 0x4c0.
    for (std::size_t t = 0x400; t < 0x500; t += 0x40) img[t] = std::byte{'T'};
    put_at<std::uint64_t>(img, 0, 0x100);              // count: one reader (v5.3 shift 8)
    put_at<std::uint64_t>(img, 8, kHeap + 0x400 + 1);  // owner: task 0x400, a flag bit
    const std::uint64_t head = kHeap + 16;
    const std::uint64_t w[3] = {kHeap + 0x110, kHeap + 0x150, kHeap + 0x190};
    if (!tree) {
        // list_head ring: head -> w0 -> w1 -> w2 -> head.
        put_at<std::uint64_t>(img, 16, w[0]);
        put_at<std::uint64_t>(img, 24, w[2]);
        for (int i = 0; i < 3; ++i) {
            put_at<std::uint64_t>(img, w[i] - kHeap, i < 2 ? w[i + 1] : head);
            put_at<std::uint64_t>(img, w[i] - kHeap + 8, i > 0 ? w[i - 1] : head);
        }
    } else {
        // rb_root -> w1, with w0 on its left and w2 on its right (rb_right @8, rb_left @16).
        put_at<std::uint64_t>(img, 16, w[1]);
        put_at<std::uint64_t>(img, w[1] - kHeap + 16, w[0]);
        put_at<std::uint64_t>(img, w[1] - kHeap + 8, w[2]);
    }
    for (int i = 0; i < 3; ++i) {
        put_at<std::uint64_t>(img, w[i] - kHeap + 24, kHeap + 0x440 + 0x40ull * i);  // task
        put_at<std::uint32_t>(img, w[i] - kHeap + 32, static_cast<std::uint32_t>(i % 2));
    }
    return img;
}

}  // namespace

int write_parser_seeds(const std::filesystem::path& out) {
    g_count = 0;
    write(out, "kallsyms", "base-relative", kallsyms_seed(false, false));
    write(out, "kallsyms", "base-relative-big-symbol", kallsyms_seed(false, true));
    write(out, "kallsyms", "absolute-addresses", kallsyms_seed(true, false));
    write(out, "kallsyms", "scan-pre-6.4", kallsyms_scan_seed());
    write(out, "btf", "small-kernel-types", btf_seed());
    for (int f = 1; f <= 4; ++f) {
        write(out, "orc", "v" + std::to_string(f) + "-blocks", orc_seed(f, true));
        write(out, "orc", "v" + std::to_string(f) + "-computed", orc_seed(f, false));
    }
    for (std::uint32_t n : {3u, 40u}) {  // a short log, and one whose text ring wrapped
        testing::PrbBuilder b(3, 8);
        for (std::uint32_t i = 0; i < n; ++i)
            b.add(i * 1000ull, 6, i % 2 ? 0x80000001u : 148u, "message " + std::to_string(i));
        write(out, "printk", "ring-" + std::to_string(n), b.image(0xffff888001000000ull));
    }
    write(out, "lock_decode", "list-ring", lock_seed(false));
    write(out, "lock_decode", "rbtree", lock_seed(true));
    return g_count;
}

}  // namespace lockhound::fuzz
