#include "memory/ledger.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/log.h"
#include "memory/probes.h"
#include "test_util/smaps.h"
#include "test_util/temp_dir.h"

namespace seer {
namespace {

constexpr DeviceId kSim{DeviceKind::kSimulated, 0};

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() { ledger.add_device(Device::simulated(0, 1 << 20)); }  // 1 MiB capacity = budget
  MemoryLedger ledger;
};

TEST_F(LedgerTest, TotalsFollowAllocationsExactly) {
  std::mt19937 rng(7);
  std::vector<Buffer> live;
  uint64_t expected = 0;
  for (int i = 0; i < 200; ++i) {
    if (!live.empty() && rng() % 3 == 0) {
      const size_t k = rng() % live.size();
      expected -= live[k].size();
      live.erase(live.begin() + static_cast<long>(k));
    } else {
      const size_t n = 1 + rng() % 5000;
      auto b = ledger.allocate(kSim, i % 2 ? "a" : "b", i % 3 ? MemoryTag::kArena : MemoryTag::kWeights, n);
      if (!b.ok()) continue;  // over the 1 MiB budget: fine, nothing counted
      EXPECT_EQ(b->size(), n);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 64, 0u);
      expected += n;
      live.push_back(std::move(b).value());
    }
    ASSERT_EQ(ledger.used_bytes(kSim), expected);
    uint64_t by_entries = 0;
    for (const auto& e : ledger.entries()) by_entries += e.bytes;
    ASSERT_EQ(by_entries, expected);
    ASSERT_EQ(ledger.owner_bytes("a") + ledger.owner_bytes("b"), expected);
  }
  live.clear();
  EXPECT_EQ(ledger.used_bytes(kSim), 0u);
  EXPECT_TRUE(ledger.entries().empty());
}

TEST_F(LedgerTest, CountsByOwnerAndTag) {
  auto w = ledger.allocate(kSim, "wd14", MemoryTag::kWeights, 1000);
  auto a = ledger.allocate(kSim, "wd14", MemoryTag::kArena, 300);
  auto o = ledger.allocate(kSim, "nsfw", MemoryTag::kWeights, 50);
  ASSERT_TRUE(w.ok() && a.ok() && o.ok());
  EXPECT_EQ(ledger.bytes(kSim, "wd14", MemoryTag::kWeights), 1000u);
  EXPECT_EQ(ledger.bytes(kSim, "wd14", MemoryTag::kArena), 300u);
  EXPECT_EQ(ledger.owner_bytes("wd14"), 1300u);
  EXPECT_EQ(ledger.owner_bytes("nsfw"), 50u);
  Buffer moved = std::move(w).value();  // a move does not count twice
  EXPECT_EQ(ledger.used_bytes(kSim), 1350u);
  moved.reset();
  EXPECT_EQ(ledger.bytes(kSim, "wd14", MemoryTag::kWeights), 0u);
  EXPECT_EQ(ledger.used_bytes(kSim), 350u);
}

TEST_F(LedgerTest, AllocationOverBudgetFailsWithNumbers) {
  auto big = ledger.allocate(kSim, "m", MemoryTag::kWeights, 900 << 10);
  ASSERT_TRUE(big.ok());
  auto more = ledger.allocate(kSim, "m2", MemoryTag::kArena, 200 << 10);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(more.status().message().find("200.0 KiB"), std::string::npos) << more.status().message();
  EXPECT_NE(more.status().message().find("1.0 MiB"), std::string::npos) << more.status().message();
  EXPECT_NE(more.status().message().find("900.0 KiB in use"), std::string::npos) << more.status().message();
  EXPECT_EQ(ledger.used_bytes(kSim), 900u << 10);  // the failure counted nothing
}

TEST_F(LedgerTest, ReservationsCannotExceedBudgetAndReturnOnDestruction) {
  {
    auto r1 = ledger.reserve(kSim, "m1", 600 << 10);
    ASSERT_TRUE(r1.ok());
    EXPECT_EQ(ledger.reserved_bytes(kSim), 600u << 10);
    auto r2 = ledger.reserve(kSim, "m2", 600 << 10);
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.status().code(), StatusCode::kResourceExhausted);
    // A plain allocation also sees the reserved bytes as taken.
    EXPECT_FALSE(ledger.allocate(kSim, "x", MemoryTag::kOther, 500 << 10).ok());

    // Allocating from the reservation does not count twice.
    auto w = r1->allocate(MemoryTag::kWeights, 400 << 10);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(ledger.used_bytes(kSim), 400u << 10);
    EXPECT_EQ(ledger.reserved_bytes(kSim), 200u << 10);
    EXPECT_EQ(r1->remaining(), 200u << 10);
    EXPECT_EQ(w->owner(), "m1");
    // Beyond what remains: the plan undercounted.
    auto over = r1->allocate(MemoryTag::kArena, 300 << 10);
    EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);

    Reservation moved = std::move(r1).value();  // move-only, still one reservation
    EXPECT_EQ(ledger.reserved_bytes(kSim), 200u << 10);
  }
  // Reservation and buffer gone: everything returned.
  EXPECT_EQ(ledger.reserved_bytes(kSim), 0u);
  EXPECT_EQ(ledger.used_bytes(kSim), 0u);
  EXPECT_TRUE(ledger.reserve(kSim, "m2", 1 << 20).ok());
}

TEST_F(LedgerTest, BufferFromReservationOutlivesIt) {
  Buffer w;
  {
    auto r = ledger.reserve(kSim, "m", 1000);
    ASSERT_TRUE(r.ok());
    w = std::move(r->allocate(MemoryTag::kWeights, 600)).value();
  }
  EXPECT_EQ(ledger.reserved_bytes(kSim), 0u);
  EXPECT_EQ(ledger.used_bytes(kSim), 600u);
  auto usage = ledger.device_usage(kSim);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->available_bytes(), (1u << 20) - 600u);
  EXPECT_EQ(usage->peak_bytes, 1000u);
}

TEST_F(LedgerTest, BudgetCanBeLowered) {
  ASSERT_TRUE(ledger.set_budget(kSim, 100).ok());
  EXPECT_FALSE(ledger.allocate(kSim, "m", MemoryTag::kOther, 101).ok());
  EXPECT_TRUE(ledger.allocate(kSim, "m", MemoryTag::kOther, 100).ok());
  EXPECT_EQ(ledger.set_budget(DeviceId{DeviceKind::kSimulated, 9}, 1).code(), StatusCode::kNotFound);
}

TEST_F(LedgerTest, MapsFileRegionsInPlace) {
  const std::string path = ::testing::TempDir() + "/seer_ledger_map.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 10000; ++i) out.put(static_cast<char>(i % 251));
  }
  auto m = ledger.map_file(kSim, "m", MemoryTag::kWeights, path, 5003, 1000);  // unaligned offset
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_TRUE(m->file_mapped());
  EXPECT_EQ(m->size(), 1000u);
  EXPECT_EQ(m->as<uint8_t>()[0], 5003 % 251);
  EXPECT_EQ(m->as<uint8_t>()[999], (5003 + 999) % 251);
  EXPECT_EQ(ledger.bytes(kSim, "m", MemoryTag::kWeights), 1000u);
  EXPECT_EQ(ledger.map_file(kSim, "m", MemoryTag::kWeights, path, 9500, 1000).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger.map_file(kSim, "m", MemoryTag::kWeights, path + ".missing", 0, 1).status().code(),
            StatusCode::kNotFound);
  m->reset();
  EXPECT_EQ(ledger.used_bytes(kSim), 0u);
  std::remove(path.c_str());
}

// A model file's pages that a load packed away leave the process and the ledger; the pages a
// kept range touches stay, readable, and only they are counted. Checked against smaps.
TEST(LedgerFileMap, ReleasesPagesOutsideTheKeptRangesFromRssAndLedger) {
  test::TempDir dir("seer-ledger");
  const std::string path = std::filesystem::canonical(dir.path()).string() + "/weights.bin";
  constexpr size_t kPage = 4096, kPages = 2048;  // 8 MiB
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < kPages * kPage - 100; ++i) out.put(static_cast<char>(i % 251));  // a partial last page
  }
  const size_t size = kPages * kPage - 100;
  MemoryLedger ledger;
  auto m = ledger.map_file(DeviceId{}, "m", MemoryTag::kWeights, path, 0, size);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const uint8_t* p = m->as<uint8_t>();
  unsigned sum = 0;
  for (size_t i = 0; i < size; i += kPage) sum += p[i];  // every page resident, as after packing
  EXPECT_EQ(test::resident_bytes_of(path), kPages * kPage) << sum;

  // Kept: 100 bytes inside page 3, pages 10..12 (a range ending one byte into page 12), and the
  // tail of the file (its last, partial page).
  std::vector<Buffer::ByteRange> keep = {{p + 3 * kPage + 10, 100}, {p + 10 * kPage, 2 * kPage + 1},
                                         {p + size - 5, 5}, {p + 3 * kPage + 20, 8}};
  const uint64_t kept_bytes = 4 * kPage + (kPage - 100);  // pages 3, 10, 11, 12 + the partial last page
  EXPECT_EQ(m->release_pages_except(keep), static_cast<int64_t>(size - kept_bytes));
  EXPECT_EQ(m->counted_bytes(), kept_bytes);
  EXPECT_EQ(ledger.bytes(DeviceId{}, "m", MemoryTag::kWeights), kept_bytes);
  EXPECT_EQ(ledger.total_bytes(), kept_bytes);
  EXPECT_EQ(test::resident_bytes_of(path), 5 * kPage);  // what the ledger counts, page-rounded
  EXPECT_EQ(p[3 * kPage + 50], (3 * kPage + 50) % 251);  // kept bytes read as before
  EXPECT_EQ(m->release_pages_except(keep), 0) << "a second release must not un-count again";
  // A released page that a later keep range touches is counted again (a run will read it: it
  // faults back in from the page cache with the file's bytes).
  keep.push_back({p + 100 * kPage + 7, 1});
  EXPECT_EQ(m->release_pages_except(keep), -static_cast<int64_t>(kPage));
  EXPECT_EQ(ledger.bytes(DeviceId{}, "m", MemoryTag::kWeights), kept_bytes + kPage);
  EXPECT_EQ(p[100 * kPage + 7], (100 * kPage + 7) % 251);

  auto anon = ledger.allocate(DeviceId{}, "m", MemoryTag::kArena, 1 << 20);
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->release_pages_except({}), 0) << "only file mappings can be released";
  EXPECT_EQ(anon->drop_pages(anon->data(), 1 << 20), 0u);
  anon->reset();
  m->reset();
  EXPECT_EQ(ledger.total_bytes(), 0u);
  EXPECT_EQ(test::resident_bytes_of(path), 0u);
}

// A load drops a weight's file pages as soon as it is packed: the bytes leave the ledger's used
// count but stay with the load's reservation (used + reserved unchanged), so the load can spend
// them on the next packed weight; pages count once however often they are dropped.
TEST(LedgerFileMap, DroppedPagesGoBackToTheLoadsReservation) {
  test::TempDir dir("seer-ledger");
  const std::string path = dir.path().string() + "/weights.bin";
  constexpr size_t kPage = 4096;
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < 64 * kPage; ++i) out.put(static_cast<char>(i % 241));
  }
  MemoryLedger ledger;
  auto r = ledger.reserve(DeviceId{}, "m", 80 * kPage);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto m = r->map_file(MemoryTag::kWeights, path, 0, 64 * kPage);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const uint8_t* p = m->as<uint8_t>();
  EXPECT_EQ(r->remaining(), 16 * kPage);
  // [2.5 pages, 13.5 pages): pages 3..12 lie wholly inside.
  // (WeightStore hands what a drop returns to Reservation::refund; here by hand.)
  const uint64_t dropped = m->drop_pages(p + 2 * kPage + kPage / 2, 11 * kPage);
  r->refund(static_cast<int64_t>(dropped));
  EXPECT_EQ(dropped, 10 * kPage);
  EXPECT_EQ(m->drop_pages(p + 3 * kPage, 10 * kPage), 0u) << "dropped pages count once";
  EXPECT_EQ(m->counted_bytes(), 54 * kPage);
  EXPECT_EQ(ledger.used_bytes(DeviceId{}), 54 * kPage);
  EXPECT_EQ(r->remaining(), 26 * kPage);
  EXPECT_EQ(ledger.used_bytes(DeviceId{}) + ledger.reserved_bytes(DeviceId{}), 80 * kPage);
  EXPECT_EQ(p[5 * kPage + 1], (5 * kPage + 1) % 241);  // still the file's bytes
  // Page 5 is read after all: counted again, drawn from the reservation.
  const int64_t net = m->release_pages_except({{p, 64 * kPage}});
  r->refund(net);
  EXPECT_EQ(net, -10 * static_cast<int64_t>(kPage));
  EXPECT_EQ(r->remaining(), 16 * kPage);
  EXPECT_EQ(ledger.used_bytes(DeviceId{}), 64 * kPage);
  r->release();
  m->reset();
  EXPECT_EQ(ledger.used_bytes(DeviceId{}) + ledger.reserved_bytes(DeviceId{}), 0u);
}

// The ledger's claim checked against the OS: a touched 512 MiB buffer shows up in RSS and goes
// away after release.
TEST(LedgerRss, TouchedBufferShowsInRssAndLeavesAfterRelease) {
  MemoryLedger ledger;
  constexpr uint64_t kSize = 512ull << 20;
  const uint64_t before = read_process_memory().rss_bytes;
  {
    auto b = ledger.allocate(DeviceId{}, "rss-test", MemoryTag::kArena, kSize);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    std::memset(b->data(), 0x5a, kSize);
    const uint64_t during = read_process_memory().rss_bytes;
    const double grew = static_cast<double>(during) - static_cast<double>(before);
    EXPECT_NEAR(grew, static_cast<double>(kSize), 0.05 * kSize)
        << "RSS grew " << grew / (1 << 20) << " MiB for a 512 MiB buffer";
    EXPECT_EQ(ledger.total_bytes(), kSize);
  }
  const uint64_t after = read_process_memory().rss_bytes;
  EXPECT_NEAR(static_cast<double>(after), static_cast<double>(before), 0.05 * kSize)
      << "RSS after release " << after / (1 << 20) << " MiB, before " << before / (1 << 20) << " MiB";
  EXPECT_EQ(ledger.total_bytes(), 0u);
}

TEST(Probes, ReadTheOs) {
  const ProcessMemory p = read_process_memory();
  const SystemMemory s = read_system_memory();
  EXPECT_GT(p.rss_bytes, 0u);
  EXPECT_GE(p.virtual_bytes, p.rss_bytes);
  EXPECT_GT(s.total_bytes, s.available_bytes);
  EXPECT_GT(s.available_bytes, 0u);
  EXPECT_GE(read_peak_rss_bytes(), p.rss_bytes / 2);
  EXPECT_GT(Device::cpu().capacity_bytes, 0u);
}

TEST(Probes, RamLineFormat) {
  EXPECT_EQ(format_ram_line("load end wd14", 1536ull << 20, 24ull << 30, 18ull << 30, 377ull << 20),
            "[RAM] load end wd14: Process=1536MB | System=25.0% used, 18.0GB available | Ledger=377MB");
  MemoryLedger ledger;
  const std::string line = ram_line("x", ledger);
  EXPECT_EQ(line.rfind("[RAM] x: Process=", 0), 0u) << line;
  EXPECT_NE(line.find("| Ledger=0MB"), std::string::npos) << line;
}

}  // namespace
}  // namespace seer
