#include "report/json_renderer.h"

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/escape.h"
#include "report_fixtures.h"

namespace lockhound::testing {
namespace {

nlohmann::json render(const report::Report& r) {
    std::ostringstream out;
    report::render_json(out, r);
    return nlohmann::json::parse(out.str());  // throws on invalid JSON or UTF-8
}

TEST(JsonRenderer, MixedCycleFieldByField) {
    auto j = render(make_report(mixed_cycle()));
    ASSERT_EQ(j["locks"].size(), 2u);
    const auto& rw = j["locks"][0];
    EXPECT_EQ(rw["address"], "0xffffffffc057a6c0");
    EXPECT_EQ(rw["type"], "rw_semaphore");
    EXPECT_EQ(rw["name"], "table_rwsem [lhsample]");
    ASSERT_EQ(rw["holders"].size(), 1u);
    EXPECT_EQ(rw["holders"][0]["pid"], 97);
    EXPECT_EQ(rw["holders"][0]["tgid"], 97);
    EXPECT_EQ(rw["holders"][0]["comm"], "table_scan");
    EXPECT_EQ(rw["holders"][0]["mode"], "read");
    EXPECT_EQ(rw["holders"][0]["confidence"], "likely");
    EXPECT_EQ(rw["holders"][0]["evidence"], nlohmann::json::array({"rwsem on the stack"}));
    ASSERT_EQ(rw["waiters"].size(), 2u);
    EXPECT_EQ(rw["waiters"][0]["pid"], 96);
    EXPECT_EQ(rw["waiters"][0]["comm"], "cfg_commit");
    EXPECT_EQ(rw["waiters"][0]["mode"], "write");
    EXPECT_EQ(rw["waiters"][0]["queue_pos"], 0);
    EXPECT_EQ(rw["waiters"][1]["pid"], 98);
    EXPECT_EQ(rw["waiters"][1]["mode"], "read");
    EXPECT_EQ(rw["waiters"][1]["queue_pos"], 1);
    const auto& m = j["locks"][1];
    EXPECT_EQ(m["type"], "mutex");
    EXPECT_EQ(m["holders"][0]["mode"], "exclusive");
    EXPECT_EQ(m["holders"][0]["confidence"], "certain");

    ASSERT_EQ(j["cycles"].size(), 1u);
    EXPECT_EQ(j["cycles"][0]["pids"], nlohmann::json::array({96, 97}));
    EXPECT_EQ(j["cycles"][0]["locks"],
              nlohmann::json::array({"0xffffffffc057a6c0", "0xffffffffc057a700"}));
    ASSERT_EQ(j["cycles"][0]["chain"].size(), 2u);
    EXPECT_EQ(j["cycles"][0]["chain"][0]["waiter"], 96);
    EXPECT_EQ(j["cycles"][0]["chain"][0]["holder"], 97);

    ASSERT_EQ(j["root_causes"].size(), 1u);
    const auto& root = j["root_causes"][0];
    EXPECT_EQ(root["pid"], 96);
    EXPECT_EQ(root["comm"], "cfg_commit");
    EXPECT_TRUE(root["blocked_in"].is_string());
    EXPECT_TRUE(root["summary"].is_string());
    EXPECT_EQ(root["blocked_tasks"], 3);
    EXPECT_EQ(root["cycle"], 0);
    EXPECT_EQ(j["kernel"]["release"], "6.1.0-56-amd64");
}

TEST(JsonRenderer, RootCauseFromActivityAndNullName) {
    auto b = mmap_pileup();
    b.lock(0x1000, locks::LockKind::kSemaphore);  // unnamed, uncontended
    auto j = render(make_report(std::move(b)));
    ASSERT_EQ(j["root_causes"].size(), 1u);
    EXPECT_EQ(j["root_causes"][0]["pid"], 96);
    EXPECT_EQ(j["root_causes"][0]["comm"], "lbmm_fault");
    EXPECT_EQ(j["root_causes"][0]["blocked_in"], "io_schedule");
    EXPECT_EQ(j["root_causes"][0]["summary"], "page fault");
    EXPECT_EQ(j["root_causes"][0]["blocked_tasks"], 13);
    EXPECT_TRUE(j["root_causes"][0]["cycle"].is_null());
    EXPECT_EQ(j["cycles"], nlohmann::json::array());
    EXPECT_EQ(j["locks"][0]["holders"][0]["tgid"], 93);
    EXPECT_EQ(j["locks"][0]["waiters"].size(), 13u);
    EXPECT_EQ(j["locks"][0]["waiters"][12]["queue_pos"], 12);
    EXPECT_EQ(j["locks"][0]["waiters"][12]["comm"], "ps");
    EXPECT_TRUE(j["locks"][1]["name"].is_null());
    EXPECT_EQ(j["locks"][1]["type"], "semaphore");
}

TEST(JsonRenderer, InvalidUtf8CommStillGivesValidJson) {
    AnalysisBuilder b;
    std::string comm = "bad\xff\xfe\xc3(\x1b[2J\"";
    b.lock(0x2000, locks::LockKind::kMutex, std::string("name\xe2\x28\xa1"));
    b.hold(0x2000, b.task(5, comm), locks::Mode::kExclusive, locks::Confidence::kCertain, {"\x80"});
    b.wait(0x2000, b.task(6, "ok"));
    report::Report r = make_report(std::move(b));
    r.warnings.push_back("warn \xc0\xaf");
    std::ostringstream out;
    report::render_json(out, r);
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(out.str()));
    EXPECT_EQ(j["locks"][0]["holders"][0]["comm"], report::sanitize_utf8(comm));
    EXPECT_EQ(j["root_causes"][0]["comm"], report::sanitize_utf8(comm));
    EXPECT_EQ(j["locks"][0]["name"], report::sanitize_utf8("name\xe2\x28\xa1"));
    EXPECT_EQ(j["warnings"][0], report::sanitize_utf8("warn \xc0\xaf"));
    EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
}

TEST(JsonRenderer, EmptyAnalysis) {
    auto j = render(make_report(AnalysisBuilder{}));
    EXPECT_EQ(j["locks"], nlohmann::json::array());
    EXPECT_EQ(j["cycles"], nlohmann::json::array());
    EXPECT_EQ(j["root_causes"], nlohmann::json::array());
}

TEST(JsonRenderer, SingleLockForWhoHolds) {
    report::Report r = make_report(mutex_chain_io());
    std::ostringstream out;
    report::render_lock_json(out, r, r.analysis.locks[0]);  // M1: t2 holds, t1 waits
    auto j = nlohmann::json::parse(out.str());
    EXPECT_EQ(j["lock"]["address"], "0xffffffffc027b4a0");
    EXPECT_EQ(j["lock"]["holders"][0]["pid"], 93);
    EXPECT_EQ(j["lock"]["waiters"][0]["pid"], 94);
    ASSERT_EQ(j["root_causes"].size(), 1u);
    EXPECT_EQ(j["root_causes"][0]["pid"], 92);
}

}  // namespace
}  // namespace lockhound::testing
