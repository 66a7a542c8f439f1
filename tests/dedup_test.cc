// Tests for --dedup's bookkeeping: first occurrences, duplicates that wait, outcomes copied.
#include "stages/dedup.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace imgpipe {
namespace {

std::shared_ptr<Item> hashed(uint64_t line, const std::string& sha) {
  auto item = std::make_shared<Item>();
  item->line = line;
  item->sha256 = sha;
  item->body = {1, 2, 3};
  return item;
}

// What the pipeline does to a first occurrence between check() and settle().
void finish_ok(Item& item) {
  item.source_width = 640;
  item.source_height = 480;
  Thumb t;
  t.width = 256;
  t.height = 192;
  t.path = "00000001.jpg";
  t.bytes = 1234;
  t.encoded = {9, 9};
  item.thumbs.push_back(std::move(t));
}

TEST(Dedup, FirstOccurrenceIsProcessedLaterOnesAreMarkedAndLoseTheirBody) {
  Dedup d;
  auto a = hashed(1, "aa"), b = hashed(2, "aa"), c = hashed(3, "cc");
  d.check(*a);
  d.check(*b);
  d.check(*c);
  EXPECT_EQ(a->duplicate_of, 0u);
  EXPECT_FALSE(a->body.empty());
  EXPECT_EQ(b->duplicate_of, 1u);
  EXPECT_TRUE(b->body.empty());
  EXPECT_EQ(c->duplicate_of, 0u);
}

TEST(Dedup, ADuplicateArrivingFirstWaitsAndIsReleasedWithTheOutcome) {
  Dedup d;
  auto first = hashed(1, "aa"), dup = hashed(2, "aa");
  d.check(*first);
  d.check(*dup);
  EXPECT_TRUE(d.settle(dup).empty());  // parked: its first occurrence is still in the pipeline
  finish_ok(*first);
  auto ready = d.settle(first);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0], first);
  EXPECT_EQ(ready[1], dup);
  EXPECT_TRUE(dup->ok());
  EXPECT_EQ(dup->source_width, 640);
  ASSERT_EQ(dup->thumbs.size(), 1u);
  EXPECT_EQ(dup->thumbs[0].path, "00000001.jpg");
  EXPECT_EQ(dup->thumbs[0].bytes, 1234u);
  EXPECT_TRUE(dup->thumbs[0].encoded.empty());  // a record of the file, not its bytes
}

TEST(Dedup, ADuplicateArrivingLaterCopiesAFailureToo) {
  Dedup d;
  auto first = hashed(1, "aa"), dup = hashed(5, "aa");
  d.check(*first);
  d.check(*dup);
  first->fail(Status::kDecodeError, "corrupt JPEG");
  EXPECT_EQ(d.settle(first).size(), 1u);
  auto ready = d.settle(dup);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(dup->status, Status::kDecodeError);
  EXPECT_EQ(dup->error, "corrupt JPEG");
  EXPECT_EQ(dup->duplicate_of, 1u);
}

TEST(Dedup, ItemsWithoutAHashPassStraightThrough) {
  Dedup d;
  auto failed = std::make_shared<Item>();
  failed->fail(Status::kHttpError, "HTTP 404");
  d.check(*failed);
  auto ready = d.settle(failed);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0], failed);
}

}  // namespace
}  // namespace imgpipe
