#include "debuginfo/symbol_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

namespace lockhound::debuginfo {
namespace {

SymbolTable sample() {
    SymbolTable t;
    t.add({.address = 0x1000, .size = 0x9a, .name = "down_read", .type = 'T'});
    t.add({.address = 0x10a0, .size = 0x20, .name = "helper.isra.0", .type = 't'});
    t.add({.address = 0x1100, .size = 0, .name = "entry_label", .type = 'T'});  // asm label
    t.add({.address = 0x1180, .size = 0x40, .name = "after_label", .type = 'T'});
    // Aliases at one address: the kernel prints the non-weak name with fewest underscores.
    t.add({.address = 0x2000, .size = 0x10, .name = "__alias", .type = 'T'});
    t.add({.address = 0x2000, .size = 0x10, .name = "weak_alias", .type = 'W'});
    t.add({.address = 0x2000, .size = 0x10, .name = "alias", .type = 'T'});
    // A data object with an object nested inside it.
    t.add({.address = 0x3000, .size = 0x100, .name = "outer", .type = 'D'});
    t.add({.address = 0x3010, .size = 0x8, .name = "inner", .type = 'd'});
    // Module symbols (kallsyms: no sizes).
    t.add({.address = 0xc000, .name = "lb_thread.cold", .module = "lockbomb", .type = 't'});
    t.add({.address = 0xc11d, .name = "lb_init", .module = "lockbomb", .type = 't'});
    t.finalize();
    return t;
}

TEST(SymbolTable, ExactNames) {
    auto t = sample();
    EXPECT_EQ(t.size(), 11u);
    EXPECT_EQ(t.address_of("down_read"), 0x1000u);
    EXPECT_EQ(t.address_of("lb_init"), 0xc11du);
    EXPECT_EQ(t.find("lb_init")->module, "lockbomb");
    EXPECT_FALSE(t.address_of("nope"));
    EXPECT_EQ(t.find("nope"), nullptr);
}

TEST(SymbolTable, KernelBeforeModulesAndGlobalBeforeLocal) {
    SymbolTable t;
    t.add({.address = 0xc000, .size = 4, .name = "dup", .module = "m", .type = 'T'});
    t.add({.address = 0x5000, .size = 4, .name = "dup", .type = 't'});
    t.add({.address = 0x4000, .size = 4, .name = "dup", .type = 't'});
    t.add({.address = 0x6000, .size = 4, .name = "dup", .type = 'T'});
    EXPECT_EQ(t.address_of("dup"), 0x6000u);  // works before finalize() too
    t.finalize();
    EXPECT_EQ(t.address_of("dup"), 0x6000u);
    SymbolTable u;
    u.add({.address = 0xc000, .size = 4, .name = "dup", .module = "m", .type = 'T'});
    u.add({.address = 0x5000, .size = 4, .name = "dup", .type = 't'});
    u.add({.address = 0x4000, .size = 4, .name = "dup", .type = 't'});
    u.finalize();
    EXPECT_EQ(u.address_of("dup"), 0x4000u);
}

// The kernel's symbols, a lookup (which builds the name index), then modules appended above them
// and one merged below: every name is found, with the same preferences, after each finalize().
TEST(SymbolTable, NameIndexFollowsLaterAdds) {
    SymbolTable t;
    for (int i = 0; i < 5000; ++i)
        t.add({.address = 0x100000u + 0x10u * static_cast<unsigned>(i),
               .size = 0x10,
               .name = "k" + std::to_string(i),
               .type = 'T'});
    t.add({.address = 0x200000, .size = 4, .name = "dup", .type = 't'});
    t.finalize();
    EXPECT_EQ(t.address_of("k4321"), 0x100000u + 0x10u * 4321);
    EXPECT_EQ(t.address_of("dup"), 0x200000u);
    // Appended above everything (the index is extended in place).
    for (int i = 0; i < 3000; ++i)
        t.add({.address = 0xc0000000u + 0x10u * static_cast<unsigned>(i),
               .name = "m" + std::to_string(i),
               .module = "mod",
               .type = 't'});
    t.add({.address = 0xd0000000u, .size = 4, .name = "dup", .module = "mod", .type = 'T'});
    t.finalize();
    EXPECT_EQ(t.address_of("m2999"), 0xc0000000u + 0x10u * 2999);
    EXPECT_EQ(t.address_of("k0"), 0x100000u);
    EXPECT_EQ(t.address_of("dup"), 0x200000u) << "the kernel's symbol before a module's";
    EXPECT_FALSE(t.address_of("m3000"));
    // Enough to outgrow the index: it is built again.
    for (int i = 0; i < 200000; ++i)
        t.add({.address = 0xe0000000u + 0x10u * static_cast<unsigned>(i),
               .name = "n" + std::to_string(i),
               .module = "big",
               .type = 't'});
    t.finalize();
    EXPECT_EQ(t.address_of("n199999"), 0xe0000000u + 0x10u * 199999);
    EXPECT_EQ(t.address_of("m5"), 0xc0000050u);
    // Merged below earlier symbols: indices move, and the index is rebuilt.
    t.add({.address = 0x10, .size = 4, .name = "low", .type = 'T'});
    t.finalize();
    EXPECT_EQ(t.address_of("low"), 0x10u);
    EXPECT_EQ(t.address_of("k4321"), 0x100000u + 0x10u * 4321);
    EXPECT_EQ(t.find("m7")->module, "mod");
    SymbolTable copy = t;
    EXPECT_EQ(copy.address_of("n5"), 0xe0000050u);
}

TEST(SymbolTable, LookupBySizeAndKernelStyleFormat) {
    auto t = sample();
    auto r = t.lookup(0x1042);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->symbol->name, "down_read");
    EXPECT_EQ(r->offset, 0x42u);
    EXPECT_EQ(r->size, 0xa0u);  // distance to the next symbol, as kallsyms prints it
    EXPECT_EQ(r->format(), "down_read+0x42/0xa0");
    EXPECT_EQ(t.lookup(0x1000)->format(), "down_read+0x0/0xa0");
    EXPECT_EQ(t.lookup(0x10a5)->format(), "helper.isra.0+0x5/0x60");
    // In the padding after down_read (0x9a..0xa0): beyond the sized symbol.
    EXPECT_FALSE(t.lookup(0x109b));
    EXPECT_FALSE(t.lookup(0xfff));  // before every symbol
}

TEST(SymbolTable, LabelsReachToTheNextSymbol) {
    auto t = sample();
    auto r = t.lookup(0x1150);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->format(), "entry_label+0x50/0x80");
    EXPECT_EQ(t.lookup(0x11c0 - 1)->format(), "after_label+0x3f/0xe80");
}

TEST(SymbolTable, AliasesAndNestedObjects) {
    auto t = sample();
    EXPECT_EQ(t.lookup(0x2004)->symbol->name, "alias");
    EXPECT_EQ(t.lookup(0x3012)->format(), "inner+0x2/0x8");
    auto r = t.lookup(0x3020);  // past inner's end but inside outer
    ASSERT_TRUE(r);
    EXPECT_EQ(r->symbol->name, "outer");
    EXPECT_EQ(r->offset, 0x20u);
    EXPECT_EQ(r->size, 0x100u);
    EXPECT_FALSE(t.lookup(0x3100));
}

TEST(SymbolTable, ModulesAndBacktraceStyle) {
    auto t = sample();
    EXPECT_EQ(t.lookup(0xc114)->format(), "lb_thread.cold+0x114/0x11d [lockbomb]");
    // The last symbol of a module has no next symbol: no size, and only 1 MiB of reach.
    EXPECT_EQ(t.lookup(0xc120)->format(), "lb_init+0x3 [lockbomb]");
    EXPECT_FALSE(t.lookup(0xc11d + (1u << 20)));
    // %pB: a return address just past the end of a function still names it.
    auto b = t.lookup_backtrace(0x109a);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->format(), "down_read+0x9a/0xa0");
    EXPECT_FALSE(t.lookup_backtrace(0));
}

TEST(SymbolTable, EmptyAndUnfinalized) {
    SymbolTable t;
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.lookup(0x1000));
    t.add({.address = 0x1000, .size = 4, .name = "f"});
    EXPECT_FALSE(t.lookup(0x1000));  // lookups need finalize()
    t.finalize();
    EXPECT_EQ(t.lookup(0x1001)->format(), "f+0x1/0x4");
    EXPECT_EQ(ResolvedAddress{}.format(), "");
}

TEST(SymbolTable, AbsurdSizesDoNotMakeLookupsSlow) {
    SymbolTable t;
    t.add({.address = 0x1000, .size = ~0ull >> 1, .name = "huge"});
    for (std::uint64_t i = 0; i < 100000; ++i)
        t.add({.address = 0x2000 + 16 * i, .size = 8, .name = "f" + std::to_string(i)});
    t.finalize();
    for (std::uint64_t i = 0; i < 1000; ++i) {
        auto r = t.lookup(0x2000 + 16 * (i * 97) + 12);  // in a gap: only "huge" contains it
        if (r) {
            EXPECT_EQ(r->symbol->name, "huge");
        }
    }
    EXPECT_EQ(t.lookup(0x2000 + 16 * 5 + 4)->symbol->name, "f5");
}

// Names are views: add() copies them into the table's store (the caller's strings may die),
// add_borrowed() keeps them where they are as long as the retained owner lives, and copies of
// the table keep both alive after the original is gone.
TEST(SymbolTable, NamesOutliveTheirSourcesAndTheOriginalTable) {
    std::optional<SymbolTable> copy;
    {
        SymbolTable t;
        auto owner = std::make_shared<std::string>(std::string("borrowed_name\0x", 15));
        t.retain(owner);
        t.add_borrowed({.address = 0x3000,
                        .size = 8,
                        .name = std::string_view(*owner).substr(0, 13),
                        .type = 'T'},
                       "mod");
        {
            std::string temp(5000, 'g');  // a name larger than a quarter store chunk
            t.add({.address = 0x1000, .size = 8, .name = temp, .type = 'T'});
            std::string small = "small_name";
            t.add({.address = 0x2000, .size = 8, .name = small, .module = "mod", .type = 't'});
            debuginfo::OwnedSymbol owned{0x4000, 8, "owned_name", "other", 'D'};
            t.add(owned);
            temp.assign(5000, 'x');
            small.assign("overwritten");
        }
        owner.reset();
        t.finalize();
        copy = t;
        t.add({.address = 0x5000, .size = 8, .name = "later", .type = 'T'});  // not in the copy
        t.finalize();
        EXPECT_EQ(t.address_of("later"), 0x5000u);
    }
    EXPECT_EQ(copy->address_of(std::string(5000, 'g')), 0x1000u);
    EXPECT_EQ(copy->find("small_name")->module, "mod");
    EXPECT_EQ(copy->find("borrowed_name")->module, "mod");
    EXPECT_EQ(copy->lookup(0x3004)->format(), "borrowed_name+0x4/0x8 [mod]");
    EXPECT_EQ(copy->lookup(0x4002)->format(), "owned_name+0x2/0x8 [other]");
    EXPECT_FALSE(copy->address_of("later"));
    EXPECT_EQ(copy->size(), 4u);
}

}  // namespace
}  // namespace lockhound::debuginfo
