// BtfBuilder: raw BTF bytes written by hand, for tests and fuzz seeds (standard library only).
//
//   BtfBuilder b;
//   auto t_int = b.integer("int", 4, 32, true);           // type ids count from 1
//   b.type("list_head", BtfBuilder::kStruct, 2, 16);      // vlen 2, size 16 ...
//   b.member("next", 3, 0);                               // ... its members (bit offsets)
//   b.member("prev", 3, 64);
//   b.type("", BtfBuilder::kPtr, 0, 2);                   // id 3: pointer to list_head
//   std::vector<std::byte> raw = b.build();               // header + types + strings
//
// Layout as the kernel's uapi/linux/btf.h: btf_header, then btf_type records (name_off, info =
// kind_flag:1 kind:5 vlen:16, size/type) each followed by its kind's extra words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace lockhound::testing {

class BtfBuilder {
  public:
    enum Kind : std::uint32_t {
        kInt = 1,
        kPtr = 2,
        kArray = 3,
        kStruct = 4,
        kUnion = 5,
        kEnum = 6,
        kFwd = 7,
        kTypedef = 8,
        kConst = 10,
        kEnum64 = 19
    };

    BtfBuilder() { strings_.push_back('\0'); }

    std::uint32_t str(const std::string& s) {
        if (s.empty()) return 0;
        if (auto it = offsets_.find(s); it != offsets_.end()) return it->second;
        auto off = static_cast<std::uint32_t>(strings_.size());
        strings_.insert(strings_.end(), s.begin(), s.end());
        strings_.push_back('\0');
        return offsets_[s] = off;
    }
    // A type record; returns its id. Its kind's extra words (members, enumerators, the array
    // record, the int encoding) follow through member() / u32().
    std::uint32_t type(const std::string& name,
                       Kind kind,
                       std::uint32_t vlen,
                       std::uint32_t size_or_type,
                       bool kind_flag = false) {
        u32(str(name));
        u32((kind_flag ? 1u << 31 : 0u) | (static_cast<std::uint32_t>(kind) << 24) | vlen);
        u32(size_or_type);
        return ++count_;
    }
    std::uint32_t integer(const std::string& name,
                          std::uint32_t size,
                          std::uint32_t bits,
                          bool is_signed) {
        auto id = type(name, kInt, 0, size);
        u32((is_signed ? 1u << 24 : 0u) | bits);
        return id;
    }
    void member(const std::string& name, std::uint32_t type_id, std::uint32_t bit_offset) {
        u32(str(name));
        u32(type_id);
        u32(bit_offset);
    }
    void u32(std::uint32_t v) {
        std::byte raw[4];
        std::memcpy(raw, &v, 4);
        types_.insert(types_.end(), raw, raw + 4);
    }

    std::vector<std::byte> build() const {
        std::vector<std::byte> b;
        auto put32 = [&](std::uint32_t v) {
            std::byte raw[4];
            std::memcpy(raw, &v, 4);
            b.insert(b.end(), raw, raw + 4);
        };
        b.push_back(std::byte{0x9f});  // magic 0xeB9F, little-endian
        b.push_back(std::byte{0xeb});
        b.push_back(std::byte{1});  // version
        b.push_back(std::byte{0});  // flags
        put32(24);                  // hdr_len
        put32(0);                   // type_off
        put32(static_cast<std::uint32_t>(types_.size()));
        put32(static_cast<std::uint32_t>(types_.size()));  // str_off
        put32(static_cast<std::uint32_t>(strings_.size()));
        b.insert(b.end(), types_.begin(), types_.end());
        for (char c : strings_) b.push_back(static_cast<std::byte>(c));
        return b;
    }

  private:
    std::vector<std::byte> types_;
    std::vector<char> strings_;
    std::map<std::string, std::uint32_t> offsets_;
    std::uint32_t count_ = 0;
};

}  // namespace lockhound::testing
