#include "locks/lock_model.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace lockhound::locks {

namespace fs = std::filesystem;

namespace {

struct ParseError {
    std::string message;
};

std::string req_string(const toml::table& t, const char* key, const char* where) {
    auto v = t[key].value<std::string>();
    if (!v || v->empty())
        throw ParseError{fmt::format("[{}] needs a non-empty string `{}`", where, key)};
    return *v;
}

std::string opt_string(const toml::table& t, const char* key) {
    return t[key].value<std::string>().value_or("");
}

std::vector<std::string> string_list(const toml::node_view<const toml::node>& n, const char* what) {
    std::vector<std::string> out;
    if (!n) return out;
    const toml::array* a = n.as_array();
    if (!a) throw ParseError{fmt::format("`{}` must be an array of strings", what)};
    for (const auto& e : *a) {
        auto s = e.value<std::string>();
        if (!s) throw ParseError{fmt::format("`{}` must be an array of strings", what)};
        out.push_back(*s);
    }
    return out;
}

std::uint64_t as_u64(const toml::node_view<const toml::node>& n) {
    auto v = n.value<std::int64_t>();
    return v ? static_cast<std::uint64_t>(*v) : 0;
}

std::map<std::uint64_t, std::string> flag_names(const toml::node_view<const toml::node>& n) {
    std::map<std::uint64_t, std::string> out;
    const toml::table* t = n.as_table();
    if (!t) return out;
    for (const auto& [k, v] : *t) {
        std::string key(k.str());
        std::uint64_t bit = std::stoull(key, nullptr, 0);
        auto name = v.value<std::string>();
        if (!bit || !name)
            throw ParseError{fmt::format("flag `{}` needs a non-zero bit and a name", key)};
        out[bit] = *name;
    }
    return out;
}

LockKind parse_kind(const std::string& s) {
    if (s == "mutex") return LockKind::kMutex;
    if (s == "rw_semaphore") return LockKind::kRwSemaphore;
    if (s == "semaphore") return LockKind::kSemaphore;
    if (s == "rt_mutex") return LockKind::kRtMutex;
    if (s == "percpu_rw_semaphore") return LockKind::kPercpuRwSemaphore;
    throw ParseError{fmt::format("unknown lock kind `{}`", s)};
}

Mode parse_mode(const std::string& s) {
    if (s == "exclusive") return Mode::kExclusive;
    if (s == "read") return Mode::kRead;
    if (s == "write") return Mode::kWrite;
    throw ParseError{fmt::format("unknown mode `{}`", s)};
}

debuginfo::TypeKind parse_type_kind(const std::string& s) {
    using debuginfo::TypeKind;
    if (s == "pointer") return TypeKind::kPointer;
    if (s == "struct") return TypeKind::kStruct;
    if (s == "union") return TypeKind::kUnion;
    if (s == "integer") return TypeKind::kInteger;
    if (s == "enum") return TypeKind::kEnum;
    if (s == "array") return TypeKind::kArray;
    throw ParseError{fmt::format("unknown type kind `{}`", s)};
}

LockModel parse_model(const toml::table& root, const std::string& file) {
    LockModel m;
    m.file = file;
    const toml::table* model = root["model"].as_table();
    if (!model) throw ParseError{"missing [model] table"};
    m.id = req_string(*model, "id", "model");
    m.kind = parse_kind(req_string(*model, "kind", "model"));
    m.struct_name = req_string(*model, "struct", "model");
    m.introduced = req_string(*model, "introduced", "model");
    m.priority = static_cast<int>((*model)["priority"].value<std::int64_t>().value_or(0));
    m.require_slowpath = root["require_slowpath"].value<bool>().value_or(
        (*model)["require_slowpath"].value<bool>().value_or(false));

    const toml::array* detect = root["detect"].as_array();
    if (!detect || detect->empty()) throw ParseError{"needs at least one [[detect]] clause"};
    for (const auto& d : *detect) {
        const toml::table* t = d.as_table();
        if (!t) throw ParseError{"[[detect]] entries must be tables"};
        DetectClause c;
        c.struct_name = req_string(*t, "struct", "detect");
        c.member = req_string(*t, "member", "detect");
        if (auto k = (*t)["kind"].value<std::string>()) c.kind = parse_type_kind(*k);
        if (auto ty = (*t)["type"].value<std::string>()) c.type = *ty;
        m.detect.push_back(std::move(c));
    }

    if (const toml::table* o = root["owner"].as_table()) {
        m.owner.member = req_string(*o, "member", "owner");
        std::string sem = req_string(*o, "semantics", "owner");
        if (sem == "tagged-task")
            m.owner.semantics = OwnerSemantics::kTaggedTask;
        else if (sem == "pointer")
            m.owner.semantics = OwnerSemantics::kPointer;
        else if (sem == "rwsem-owner")
            m.owner.semantics = OwnerSemantics::kRwsemOwner;
        else if (sem == "hint-pointer")
            m.owner.semantics = OwnerSemantics::kHintPointer;
        else
            throw ParseError{fmt::format("unknown owner semantics `{}`", sem)};
        m.owner.flags_mask = as_u64((*o)["flags_mask"]);
        m.owner.reader_owned_flag = as_u64((*o)["reader_owned_flag"]);
        m.owner.flags = flag_names((*o)["flags"]);
        m.owner.optional = (*o)["optional"].value<bool>().value_or(false);
        if (m.owner.reader_owned_flag & ~m.owner.flags_mask)
            throw ParseError{"owner.reader_owned_flag must be inside owner.flags_mask"};
    }
    if (const toml::table* c = root["count"].as_table()) {
        m.count.member = req_string(*c, "member", "count");
        std::string sem = req_string(*c, "semantics", "count");
        if (sem == "rwsem-v5.3")
            m.count.semantics = CountSemantics::kRwsemV53;
        else if (sem == "rwsem-bias")
            m.count.semantics = CountSemantics::kRwsemBias;
        else if (sem == "mutex-count")
            m.count.semantics = CountSemantics::kMutexCount;
        else if (sem == "semaphore")
            m.count.semantics = CountSemantics::kSemaphore;
        else if (sem == "rwbase-readers")
            m.count.semantics = CountSemantics::kRwbaseReaders;
        else if (sem == "percpu-readers")
            m.count.semantics = CountSemantics::kPercpuReaders;
        else
            throw ParseError{fmt::format("unknown count semantics `{}`", sem)};
        m.count.width = static_cast<unsigned>((*c)["width"].value<std::int64_t>().value_or(8));
        if (m.count.width != 4 && m.count.width != 8)
            throw ParseError{"count.width must be 4 or 8"};
        m.count.writer_locked = as_u64((*c)["writer_locked"]);
        m.count.flags = flag_names((*c)["flags"]);
        m.count.reader_shift =
            static_cast<unsigned>((*c)["reader_shift"].value<std::int64_t>().value_or(0));
        m.count.reader_mask = as_u64((*c)["reader_mask"]);
        m.count.active_mask = as_u64((*c)["active_mask"]);
        m.count.waiting_bias = (*c)["waiting_bias"].value<std::int64_t>().value_or(0);
        m.count.reader_bias = as_u64((*c)["reader_bias"]);
        m.count.writer_bias = as_u64((*c)["writer_bias"]);
        m.count.block_member = opt_string(*c, "block_member");
        if (m.count.semantics == CountSemantics::kRwbaseReaders &&
            (!m.count.reader_bias || !m.count.writer_bias))
            throw ParseError{"rwbase-readers count needs reader_bias and writer_bias"};
        if (m.count.semantics == CountSemantics::kRwsemV53 &&
            (!m.count.writer_locked || !m.count.reader_mask))
            throw ParseError{"rwsem-v5.3 count needs writer_locked and reader_mask"};
        if (m.count.semantics == CountSemantics::kRwsemBias &&
            (!m.count.active_mask || !m.count.waiting_bias))
            throw ParseError{"rwsem-bias count needs active_mask and waiting_bias"};
        if (m.count.reader_shift > 63) throw ParseError{"count.reader_shift must be < 64"};
    }

    const toml::table* w = root["waiters"].as_table();
    if (!w) throw ParseError{"missing [waiters] table"};
    m.waiters.list = req_string(*w, "list", "waiters");
    std::string layout = req_string(*w, "layout", "waiters");
    if (layout == "list_head")
        m.waiters.layout = WaitListLayout::kListHead;
    else if (layout == "slist")
        m.waiters.layout = WaitListLayout::kSlist;
    else if (layout == "ring-from-first")
        m.waiters.layout = WaitListLayout::kRingFromFirst;
    else if (layout == "rbtree")
        m.waiters.layout = WaitListLayout::kRbtree;
    else
        throw ParseError{fmt::format("unknown waiters.layout `{}`", layout)};
    m.waiters.entry = req_string(*w, "entry", "waiters");
    m.waiters.link = req_string(*w, "link", "waiters");
    m.waiters.task = req_string(*w, "task", "waiters");
    m.waiters.mode_member = opt_string(*w, "mode_member");
    if (const toml::table* modes = (*w)["modes"].as_table()) {
        for (const auto& [k, v] : *modes) {
            auto s = v.value<std::string>();
            if (!s) throw ParseError{"waiters.modes values must be strings"};
            m.waiters.modes[std::string(k.str())] = parse_mode(*s);
        }
    }
    m.waiters.mode_flag = as_u64((*w)["mode_flag"]);
    if (m.waiters.mode_flag) {
        m.waiters.flag_set_mode =
            parse_mode((*w)["flag_set_mode"].value<std::string>().value_or("read"));
        m.waiters.flag_clear_mode =
            parse_mode((*w)["flag_clear_mode"].value<std::string>().value_or("write"));
    }
    if (!m.waiters.mode_member.empty() && m.waiters.modes.empty() && !m.waiters.mode_flag)
        throw ParseError{"waiters.mode_member needs waiters.modes or waiters.mode_flag"};
    m.waiters.default_mode =
        parse_mode((*w)["default_mode"].value<std::string>().value_or("exclusive"));
    m.waiters.lock_member = opt_string(*w, "lock");
    m.waiters.lock_target = opt_string(*w, "lock_target");
    if (!m.waiters.lock_target.empty() && m.waiters.lock_member.empty())
        throw ParseError{"waiters.lock_target needs waiters.lock"};
    if (const toml::table* mf = (*w)["mode_frames"].as_table()) {
        for (const char* mode : {"exclusive", "read", "write"})
            if (auto list = string_list((*mf)[mode], mode); !list.empty())
                m.waiters.mode_frames[parse_mode(mode)] = list;
        if (m.waiters.mode_frames.empty())
            throw ParseError{"waiters.mode_frames needs function lists by mode"};
    }

    if (const toml::table* a = root["acquire"].as_table()) {
        for (const char* mode : {"exclusive", "read", "write"})
            if (auto list = string_list((*a)[mode], mode); !list.empty())
                m.acquire[parse_mode(mode)] = list;
        m.slowpath = string_list((*a)["slowpath"], "slowpath");
    }
    if (m.acquire.empty()) throw ParseError{"[acquire] needs the functions that take the lock"};
    return m;
}

HolderRule parse_rule(const toml::table& root, const std::string& file) {
    HolderRule r;
    r.file = file;
    const toml::table* t = root["rule"].as_table();
    if (!t) throw ParseError{"missing [rule] table"};
    r.id = req_string(*t, "id", "rule");
    r.kind = parse_kind(req_string(*t, "kind", "rule"));
    r.container = req_string(*t, "container", "rule");
    r.members = string_list((*t)["members"], "members");
    if (r.members.empty()) throw ParseError{"[rule] needs `members`"};
    r.task_link = req_string(*t, "task_link", "rule");
    r.mode = parse_mode(req_string(*t, "mode", "rule"));
    r.frames_any = string_list((*t)["frames_any"], "frames_any");
    if (r.frames_any.empty()) throw ParseError{"[rule] needs `frames_any`"};
    std::string conf = req_string(*t, "confidence", "rule");
    if (conf == "certain")
        r.confidence = Confidence::kCertain;
    else if (conf == "likely")
        r.confidence = Confidence::kLikely;
    else if (conf == "possible")
        r.confidence = Confidence::kPossible;
    else
        throw ParseError{fmt::format("unknown confidence `{}`", conf)};
    r.evidence = req_string(*t, "evidence", "rule");
    return r;
}

FrameFacts parse_frames(const toml::table& root, const std::string& file) {
    (void)file;
    FrameFacts f;
    const toml::table* t = root["frames"].as_table();
    if (!t) throw ParseError{"missing [frames] table"};
    f.scheduler = string_list((*t)["scheduler"], "scheduler");
    if (f.scheduler.empty()) throw ParseError{"[frames] needs `scheduler`"};
    f.io_wait = string_list((*t)["io_wait"], "io_wait");
    f.sleep = string_list((*t)["sleep"], "sleep");
    if (const toml::array* cs = root["context"].as_array()) {
        for (const auto& c : *cs) {
            const toml::table* ct = c.as_table();
            if (!ct) throw ParseError{"[[context]] entries must be tables"};
            FrameFacts::Context ctx;
            ctx.name = req_string(*ct, "name", "context");
            ctx.any = string_list((*ct)["any"], "any");
            if (ctx.any.empty()) throw ParseError{"[[context]] needs `any`"};
            f.contexts.push_back(std::move(ctx));
        }
    }
    return f;
}

template <typename T, typename F>
Result<T> parse_with(const std::string& text, const std::string& file, F f) {
    try {
        toml::table root = toml::parse(text, file);
        return f(root, file);
    } catch (const toml::parse_error& e) {
        return fail(ErrorKind::kBadData, fmt::format("{}: {}", file, e.description()));
    } catch (const ParseError& e) {
        return fail(ErrorKind::kBadData, fmt::format("{}: {}", file, e.message));
    } catch (const std::exception& e) {
        return fail(ErrorKind::kBadData, fmt::format("{}: {}", file, e.what()));
    }
}

}  // namespace

Result<LockModel> parse_lock_model(const std::string& text, const std::string& file) {
    return parse_with<LockModel>(text, file, parse_model);
}

Result<HolderRule> parse_holder_rule(const std::string& text, const std::string& file) {
    return parse_with<HolderRule>(text, file, parse_rule);
}

Result<FrameFacts> parse_frame_facts(const std::string& text, const std::string& file) {
    return parse_with<FrameFacts>(text, file, parse_frames);
}

std::string lockmodels_dir() {
    if (const char* env = std::getenv("LOCKHOUND_LOCKMODELS"); env && *env) return env;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path installed = exe.parent_path() / ".." / "share" / "lockhound" / "lockmodels";
        if (fs::is_directory(installed, ec)) return installed.lexically_normal().string();
    }
    return LH_LOCKMODELS_DIR;
}

Result<LockModelSet> load_lock_models(const std::string& dir) {
    LockModelSet set;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return fail(ErrorKind::kNotFound,
                    fmt::format("lock model directory {} does not exist", dir));
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string rel = fs::relative(f, dir, ec).string();
        if (ss.str().find("[frames]") != std::string::npos) {
            auto fr = parse_frame_facts(ss.str(), rel);
            if (!fr) return std::unexpected(fr.error());
            auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
                to.insert(to.end(), from.begin(), from.end());
            };
            add(set.frames.scheduler, fr->scheduler);
            add(set.frames.io_wait, fr->io_wait);
            add(set.frames.sleep, fr->sleep);
            set.frames.contexts.insert(
                set.frames.contexts.end(), fr->contexts.begin(), fr->contexts.end());
        } else if (ss.str().find("[rule]") != std::string::npos) {
            auto r = parse_holder_rule(ss.str(), rel);
            if (!r) return std::unexpected(r.error());
            set.holder_rules.push_back(std::move(*r));
        } else {
            auto m = parse_lock_model(ss.str(), rel);
            if (!m) return std::unexpected(m.error());
            set.models.push_back(std::move(*m));
        }
    }
    std::vector<std::string> ids;
    for (const auto& m : set.models) ids.push_back(m.id);
    for (const auto& r : set.holder_rules) ids.push_back(r.id);
    std::sort(ids.begin(), ids.end());
    if (auto d = std::adjacent_find(ids.begin(), ids.end()); d != ids.end())
        return fail(ErrorKind::kBadData, fmt::format("two lock model files use the id `{}`", *d));
    if (set.models.empty())
        return fail(ErrorKind::kNotFound, fmt::format("no lock models in {}", dir));
    return set;
}

}  // namespace lockhound::locks
