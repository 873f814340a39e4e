#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "core/base64.h"
#include "core/thread_pool.h"

namespace seer {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string enc = base64_encode(bytes);
    EXPECT_EQ(enc.size() % 4, 0u);
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.ok()) << dec.status().to_string();
    EXPECT_EQ(dec.value(), bytes);
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

TEST(Base64, KnownVectors) {  // RFC 4648 section 10
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9v\r\nYmE=").value(), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYg").value(), "foob");  // unpadded
}

TEST(Base64, RejectsGarbage) {
  auto bad = base64_decode("Zm9v*mFy");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("offset 4"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(base64_decode("Zm9vY").ok());      // a dangling 6 bits
  EXPECT_FALSE(base64_decode("Zm9v=mFy").ok());   // data after padding
}

TEST(Base64, DataUris) {
  EXPECT_EQ(decode_data_uri_or_base64("data:image/png;base64,Zm9vYmFy").value(), "foobar");
  EXPECT_EQ(decode_data_uri_or_base64("Zm9vYmFy").value(), "foobar");
  EXPECT_FALSE(decode_data_uri_or_base64("data:image/png,rawbytes").ok());
  EXPECT_FALSE(decode_data_uri_or_base64("data:image/png;base64").ok());
}

TEST(ThreadPool, RunsEverythingAndWaits) {
  ThreadPool pool(3, 4);
  std::atomic<int> sum{0};
  for (int i = 1; i <= 100; ++i) pool.submit([&sum, i] { sum += i; });
  pool.wait_idle();
  EXPECT_EQ(sum.load(), 5050);
}

TEST(ThreadPool, TrySubmitRefusesWhenFull) {
  ThreadPool pool(1, 1);
  std::atomic<bool> release{false};
  pool.submit([&] { while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
  // Wait for the worker to take the blocker, then fill the one queue slot.
  while (!pool.try_submit([] {})) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_FALSE(pool.try_submit([] {}));
  release = true;
  pool.wait_idle();
  EXPECT_TRUE(pool.try_submit([] {}));
}

}  // namespace
}  // namespace seer
