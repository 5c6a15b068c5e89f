// Every lock model file in lockmodels/ loads and validates; malformed model texts are refused
// with a message that names the file and the problem.
#include "locks/lock_model.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace lockhound::locks {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> toml_files(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".toml")
            out.push_back(fs::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(LockModels, EveryFileLoadsAndValidates) {
    auto set = load_lock_models(LH_LOCKMODELS_DIR);
    ASSERT_TRUE(set) << set.error().describe();
    auto files = toml_files(LH_LOCKMODELS_DIR);
    // Nothing is skipped: every file became a model, a holder rule or frame facts (frames/).
    auto frame_files = std::count_if(
        files.begin(), files.end(), [](const std::string& f) { return f.starts_with("frames/"); });
    EXPECT_GE(frame_files, 1);
    EXPECT_EQ(set->models.size() + set->holder_rules.size() + frame_files, files.size());
    EXPECT_FALSE(set->frames.scheduler.empty());
    EXPECT_FALSE(set->frames.sleep.empty());
    EXPECT_FALSE(set->frames.contexts.empty());

    std::set<std::string> ids;
    for (const auto& m : set->models) {
        SCOPED_TRACE(m.file);
        EXPECT_TRUE(ids.insert(m.id).second) << "duplicate id " << m.id;
        EXPECT_EQ(m.file, m.id + ".toml") << "a model's id names its file";
        EXPECT_GE(m.introduced.size(), 10u) << "each model cites the change that introduced it";
        EXPECT_FALSE(m.detect.empty());
        EXPECT_NE(m.kind, LockKind::kOther);
        EXPECT_FALSE(m.struct_name.empty());
        EXPECT_FALSE(m.waiters.list.empty());
        EXPECT_FALSE(m.waiters.entry.empty());
        EXPECT_FALSE(m.waiters.task.empty());
        EXPECT_FALSE(m.acquire.empty());
        EXPECT_FALSE(m.slowpath.empty()) << "waiters sleep in a slow path";
        if (!m.waiters.mode_member.empty()) {
            EXPECT_TRUE(!m.waiters.modes.empty() || m.waiters.mode_flag != 0)
                << "a mode member needs enumerators or a flag";
        }
        EXPECT_EQ(m.owner.reader_owned_flag & ~m.owner.flags_mask, 0u);
        for (const auto& [bit, name] : m.owner.flags)
            EXPECT_EQ(bit & ~m.owner.flags_mask, 0u)
                << "owner flag " << name << " outside the mask";
    }
    for (const auto& r : set->holder_rules) {
        SCOPED_TRACE(r.file);
        EXPECT_TRUE(ids.insert(r.id).second) << "duplicate id " << r.id;
        EXPECT_EQ(r.file, r.id + ".toml");
        EXPECT_FALSE(r.members.empty());
        EXPECT_FALSE(r.frames_any.empty());
        EXPECT_FALSE(r.evidence.empty());
    }
    // Every kind the analysis decodes has a model.
    for (LockKind k : {LockKind::kMutex, LockKind::kRwSemaphore, LockKind::kSemaphore})
        EXPECT_TRUE(std::any_of(set->models.begin(), set->models.end(), [k](const LockModel& m) {
            return m.kind == k;
        })) << to_string(k);
}

TEST(LockModels, ReadmeTableListsEveryFile) {
    std::string readme = read_text(fs::path(LH_LOCKMODELS_DIR) / "README.md");
    ASSERT_FALSE(readme.empty());
    for (const auto& f : toml_files(LH_LOCKMODELS_DIR))
        EXPECT_NE(readme.find("`" + f + "`"), std::string::npos) << f << " is not in README.md";
    // ...and every file the table names exists.
    std::size_t pos = 0;
    while ((pos = readme.find("| `", pos)) != std::string::npos) {
        pos += 3;
        std::size_t end = readme.find('`', pos);
        ASSERT_NE(end, std::string::npos);
        std::string name = readme.substr(pos, end - pos);
        if (!name.ends_with(".toml")) continue;  // a layout column, not a file
        EXPECT_TRUE(fs::exists(fs::path(LH_LOCKMODELS_DIR) / name)) << name;
    }
}

// A valid model; the malformed cases below each break one thing in it.
constexpr const char* kValid = R"(
[model]
id = "test/valid"
kind = "rw_semaphore"
struct = "rw_semaphore"
introduced = "test fixture, no kernel change"
priority = 10

[[detect]]
struct = "rw_semaphore"
member = "owner"
kind = "pointer"

[owner]
member = "owner"
semantics = "rwsem-owner"
flags_mask = 0x3
reader_owned_flag = 0x1

[count]
member = "count"
semantics = "rwsem-bias"
active_mask = 0xffffffff
waiting_bias = -4294967296

[waiters]
list = "wait_list"
layout = "list_head"
entry = "rwsem_waiter"
link = "list"
task = "task"
mode_member = "type"
modes = { RWSEM_WAITING_FOR_WRITE = "write", RWSEM_WAITING_FOR_READ = "read" }

[acquire]
read = ["down_read"]
write = ["down_write"]
slowpath = ["rwsem_down_read_failed"]
)";

std::string replace(std::string text, std::string_view from, std::string_view to) {
    auto p = text.find(from);
    EXPECT_NE(p, std::string::npos) << "fixture lacks: " << from;
    if (p != std::string::npos) text.replace(p, from.size(), to);
    return text;
}

TEST(LockModels, ValidFixtureParses) {
    auto m = parse_lock_model(kValid, "test/valid.toml");
    ASSERT_TRUE(m) << m.error().describe();
    EXPECT_EQ(m->id, "test/valid");
    EXPECT_EQ(m->file, "test/valid.toml");
    EXPECT_EQ(m->kind, LockKind::kRwSemaphore);
    ASSERT_EQ(m->detect.size(), 1u);
    EXPECT_EQ(m->detect[0].kind, debuginfo::TypeKind::kPointer);
    EXPECT_EQ(m->owner.semantics, OwnerSemantics::kRwsemOwner);
    EXPECT_EQ(m->count.semantics, CountSemantics::kRwsemBias);
    EXPECT_EQ(m->count.waiting_bias, -4294967296);
    EXPECT_EQ(m->waiters.modes.at("RWSEM_WAITING_FOR_READ"), Mode::kRead);
    EXPECT_EQ(m->acquire.at(Mode::kWrite), std::vector<std::string>{"down_write"});
}

struct Malformed {
    const char* what;
    std::string text;
    const char* message;  // part of the expected error message
};

TEST(LockModels, MalformedModelsAreRefusedNamingTheFile) {
    const std::string v = kValid;
    const std::string detect =
        "[[detect]]\nstruct = \"rw_semaphore\"\nmember = \"owner\"\n"
        "kind = \"pointer\"\n";
    const std::vector<Malformed> cases{
        {"no [[detect]]", replace(v, detect, ""), "[[detect]]"},
        {"[[detect]] without member", replace(v, "member = \"owner\"\nkind", "kind"), "`member`"},
        {"unknown detect kind", replace(v, "kind = \"pointer\"", "kind = \"pointr\""), "pointr"},
        {"unknown owner semantics",
         replace(v, "semantics = \"rwsem-owner\"", "semantics = \"rwsem-ownr\""),
         "unknown owner semantics `rwsem-ownr`"},
        {"unknown count semantics",
         replace(v, "semantics = \"rwsem-bias\"", "semantics = \"bias\""),
         "unknown count semantics `bias`"},
        {"reader_owned_flag outside flags_mask",
         replace(v, "reader_owned_flag = 0x1", "reader_owned_flag = 0x4"),
         "reader_owned_flag"},
        {"mode_member without modes",
         replace(v,
                 "modes = { RWSEM_WAITING_FOR_WRITE = \"write\", RWSEM_WAITING_FOR_READ = "
                 "\"read\" }\n",
                 ""),
         "mode_member needs waiters.modes"},
        {"unknown mode", replace(v, "= \"read\" }", "= \"shared\" }"), "unknown mode `shared`"},
        {"no introduced",
         replace(v, "introduced = \"test fixture, no kernel change\"\n", ""),
         "`introduced`"},
        {"empty introduced",
         replace(v, "introduced = \"test fixture, no kernel change\"", "introduced = \"\""),
         "`introduced`"},
        {"no id", replace(v, "id = \"test/valid\"\n", ""), "`id`"},
        {"unknown lock kind",
         replace(v, "kind = \"rw_semaphore\"", "kind = \"spinlock\""),
         "unknown lock kind `spinlock`"},
        {"no [model]", replace(v, "[model]", "[modle]"), "missing [model]"},
        {"no [waiters]", replace(v, "[waiters]", "[waiter]"), "missing [waiters]"},
        {"unknown layout",
         replace(v, "layout = \"list_head\"", "layout = \"hlist\""),
         "unknown waiters.layout `hlist`"},
        {"waiters without task", replace(v, "task = \"task\"\n", ""), "`task`"},
        {"count width 2", replace(v, "[count]\n", "[count]\nwidth = 2\n"), "width must be 4 or 8"},
        {"rwsem-bias without waiting_bias",
         replace(v, "waiting_bias = -4294967296\n", ""),
         "needs active_mask and waiting_bias"},
        {"rwsem-v5.3 without reader_mask",
         replace(v, "semantics = \"rwsem-bias\"", "semantics = \"rwsem-v5.3\""),
         "needs writer_locked and reader_mask"},
        {"reader_shift too large",
         replace(v, "[count]\n", "[count]\nreader_shift = 64\n"),
         "reader_shift"},
        {"zero flag bit",
         replace(v, "reader_owned_flag = 0x1", "reader_owned_flag = 0x1\nflags = { 0x0 = \"X\" }"),
         "non-zero bit"},
        {"no [acquire]",
         v.substr(0, v.find("[acquire]")),
         "[acquire] needs the functions that take the lock"},
        {"acquire not strings", replace(v, "read = [\"down_read\"]", "read = [1]"), "`read`"},
        {"TOML syntax error", replace(v, "priority = 10", "priority = = 10"), ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto m = parse_lock_model(c.text, "bad/broken.toml");
        ASSERT_FALSE(m) << "accepted";
        const std::string msg = m.error().describe();
        EXPECT_NE(msg.find("bad/broken.toml"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
        EXPECT_EQ(m.error().kind, ErrorKind::kBadData) << msg;
    }
}

constexpr const char* kValidRule = R"(
[rule]
id = "holders/test"
kind = "rw_semaphore"
container = "mm_struct"
members = ["mmap_lock", "mmap_sem"]
task_link = "mm"
mode = "read"
frames_any = ["handle_mm_fault"]
confidence = "likely"
evidence = "in {frame}"
)";

TEST(LockModels, MalformedHolderRulesAreRefusedNamingTheFile) {
    auto ok = parse_holder_rule(kValidRule, "holders/test.toml");
    ASSERT_TRUE(ok) << ok.error().describe();
    EXPECT_EQ(ok->members.size(), 2u);
    EXPECT_EQ(ok->mode, Mode::kRead);
    EXPECT_EQ(ok->confidence, Confidence::kLikely);

    const std::string v = kValidRule;
    const std::vector<Malformed> cases{
        {"no frames", replace(v, "frames_any = [\"handle_mm_fault\"]\n", ""), "`frames_any`"},
        {"no members", replace(v, "members = [\"mmap_lock\", \"mmap_sem\"]\n", ""), "`members`"},
        {"unknown confidence",
         replace(v, "confidence = \"likely\"", "confidence = \"sure\""),
         "unknown confidence `sure`"},
        {"unknown mode", replace(v, "mode = \"read\"", "mode = \"shared\""), "unknown mode"},
        {"no evidence", replace(v, "evidence = \"in {frame}\"\n", ""), "`evidence`"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto r = parse_holder_rule(c.text, "holders/broken.toml");
        ASSERT_FALSE(r) << "accepted";
        const std::string msg = r.error().describe();
        EXPECT_NE(msg.find("holders/broken.toml"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    }
}

// A scratch lockmodels directory, removed afterwards.
class ModelDir : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("lh_lockmodels_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& rel, const std::string& text) {
        fs::create_directories((dir_ / rel).parent_path());
        std::ofstream(dir_ / rel) << text;
    }
    fs::path dir_;
};

TEST_F(ModelDir, OneBadFileFailsTheLoadNamingIt) {
    write("rwsem/good.toml", kValid);
    write("holders/rule.toml", kValidRule);
    ASSERT_TRUE(load_lock_models(dir_.string()));
    write("rwsem/zz-bad.toml", replace(kValid, "layout = \"list_head\"", "layout = \"hlist\""));
    auto set = load_lock_models(dir_.string());
    ASSERT_FALSE(set);
    EXPECT_NE(set.error().describe().find("rwsem/zz-bad.toml"), std::string::npos)
        << set.error().describe();
}

TEST_F(ModelDir, DuplicateIdsAreRefused) {
    write("a.toml", kValid);
    write("b.toml", kValid);
    auto set = load_lock_models(dir_.string());
    ASSERT_FALSE(set);
    EXPECT_NE(set.error().describe().find("test/valid"), std::string::npos)
        << set.error().describe();
}

TEST_F(ModelDir, EmptyOrMissingDirectoryIsAnError) {
    auto empty = load_lock_models(dir_.string());
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().kind, ErrorKind::kNotFound);
    auto missing = load_lock_models((dir_ / "nope").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
    write("notes.txt", "not a model");  // only *.toml files are models
    EXPECT_FALSE(load_lock_models(dir_.string()));
}

}  // namespace
}  // namespace lockhound::locks
