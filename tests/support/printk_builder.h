// Hand-built kernel logs for tests and fuzz seeds: a 5.10+ lockless printk ringbuffer (desc ring,
// info array, text data ring, laid out as 6.1 lays them) or a 3.x/4.x log_buf, as one byte image
// mapped at a base address. Standard library only (the fuzz seed tool links it too).
//
//   PrbBuilder b(/*count_bits=*/4, /*size_bits=*/10);
//   b.add(1'500'000, 6, 148, "hello\n");
//   std::vector<std::byte> image = b.image(base);   // the printk_ringbuffer at base
//   kernel::read_prb(mem, base, PrbBuilder::layout());
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lockhound::testing {

class PrbBuilder {
  public:
    // Offsets in the image (printk_ringbuffer at 0, then the arrays).
    static constexpr std::uint64_t kRingSize = 80, kDescSize = 24, kInfoSize = 88;

    PrbBuilder(std::uint32_t count_bits, std::uint32_t size_bits)
        : count_bits_(count_bits), size_bits_(size_bits) {}

    // caller: a pid, or 0x80000000 | cpu.
    void add(std::uint64_t ts_nsec, int level, std::uint32_t caller, const std::string& text) {
        records_.push_back({ts_nsec, level, caller, text});
    }
    std::uint64_t count() const { return 1ull << count_bits_; }
    std::uint64_t data_size() const { return 1ull << size_bits_; }
    std::uint64_t descs_offset() const { return kRingSize; }
    std::uint64_t infos_offset() const { return kRingSize + count() * kDescSize; }
    std::uint64_t data_offset() const { return infos_offset() + count() * kInfoSize; }
    // Index of the oldest record still in the ring (after image()).
    std::uint64_t first_kept() const { return first_kept_; }

    std::vector<std::byte> image(std::uint64_t base) {
        std::vector<std::byte> img(data_offset() + data_size());
        const std::uint64_t dsize = data_size(), n = records_.size();
        std::uint64_t lpos = 0;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> blk(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            const Rec& r = records_[i];
            std::uint64_t size = (8 + r.text.size() + 7) / 8 * 8;
            std::uint64_t begin = lpos, next = lpos + size, at = begin % dsize;
            if ((begin >> size_bits_) != (next >> size_bits_)) {  // wraps: data at the start
                next = (next >> size_bits_ << size_bits_) + size;
                at = 0;
            }
            blk[i] = {begin, next};
            std::uint64_t id = i;
            put64(img, data_offset() + at, id);
            std::memcpy(img.data() + data_offset() + at + 8, r.text.data(), r.text.size());
            lpos = next;
        }
        // Kept: the last `count` records whose data the later ones did not overwrite.
        first_kept_ = n > count() ? n - count() : 0;
        while (first_kept_ < n && blk[first_kept_].first + dsize < lpos) ++first_kept_;
        for (std::uint64_t i = first_kept_; i < n; ++i) {
            const Rec& r = records_[i];
            std::uint64_t idx = i & (count() - 1);
            std::uint64_t d = descs_offset() + idx * kDescSize,
                          in = infos_offset() + idx * kInfoSize;
            put64(img, d, (2ull << 62) | i);  // finalized
            put64(img, d + 8, blk[i].first);
            put64(img, d + 16, blk[i].second);
            put64(img, in, i);  // seq
            put64(img, in + 8, r.ts);
            auto len = static_cast<std::uint16_t>(r.text.size());
            std::memcpy(img.data() + in + 16, &len, 2);
            img[in + 18] = std::byte{0};
            img[in + 19] = static_cast<std::byte>(r.level << 5);
            std::memcpy(img.data() + in + 20, &r.caller, 4);
        }
        put32(img, 0, count_bits_);
        put64(img, 8, base + descs_offset());
        put64(img, 16, base + infos_offset());
        put64(img, 24, n ? n - 1 : 0);  // head_id
        put64(img, 32, first_kept_);    // tail_id
        put32(img, 40, size_bits_);
        put64(img, 48, base + data_offset());
        put64(img, 56, lpos);
        return img;
    }

    // The layout the image uses, as kernel::PrbLayout (written out field by field by the caller's
    // header to keep this file free of lockhound headers): see prb_layout() in the tests.
    static constexpr std::uint64_t kDescRing = 0, kTextDataRing = 40;

    static void put64(std::vector<std::byte>& img, std::uint64_t off, std::uint64_t v) {
        std::memcpy(img.data() + off, &v, 8);
    }
    static void put32(std::vector<std::byte>& img, std::uint64_t off, std::uint32_t v) {
        std::memcpy(img.data() + off, &v, 4);
    }

  private:
    struct Rec {
        std::uint64_t ts;
        int level;
        std::uint32_t caller;
        std::string text;
    };
    std::uint32_t count_bits_, size_bits_;
    std::vector<Rec> records_;
    std::uint64_t first_kept_ = 0;
};

}  // namespace lockhound::testing
