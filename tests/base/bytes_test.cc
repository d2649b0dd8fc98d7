#include "base/bytes.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

TEST(Bytes, HexRoundTripsAndRejectsBadInput) {
  Bytes b = {0x00, 0x7f, 0xff, 0x10};
  EXPECT_EQ(HexEncode(b), "007fff10");
  EXPECT_EQ(*HexDecode("007FfF10"), b);
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(Bytes, ReaderNeverReadsPastItsInput) {
  ByteWriter w;
  w.U8(1);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.U64(0x08090a0b0c0d0e0fULL);
  w.Str16("ns");
  w.Str32(AsBytes("payload"));
  Bytes all = w.Take();
  ByteReader r(all);
  EXPECT_EQ(*r.U8("a"), 1);
  EXPECT_EQ(*r.U16("b"), 0x0203);
  EXPECT_EQ(*r.U32("c"), 0x04050607u);
  EXPECT_EQ(*r.U64("d"), 0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(*r.Str16("e"), "ns");
  EXPECT_EQ(AsChars(*r.Str32("f", 100)), "payload");
  EXPECT_OK(r.ExpectEnd("record"));
  // Every truncation fails with a typed error instead of reading garbage.
  for (std::size_t n = 0; n < all.size(); ++n) {
    ByteReader t(ByteSpan(all.data(), n));
    bool failed = !t.U8("a").has_value() || !t.U16("b").has_value() || !t.U32("c").has_value() ||
                  !t.U64("d").has_value() || !t.Str16("e").has_value() ||
                  !t.Str32("f", 100).has_value();
    EXPECT_TRUE(failed) << n;
  }
  ByteReader over(all);
  (void)over.Raw(all.size() - 11, "skip");
  EXPECT_EQ(over.Str32("f", 3).error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom
