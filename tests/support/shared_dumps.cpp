#include "support/shared_dumps.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;

namespace lockhound::testing {

std::string source_dir() {
    return LH_SOURCE_DIR;
}
std::string lockhound_binary() {
    return LH_BINARY;
}

std::optional<std::string> shared_dir() {
    if (const char* env = std::getenv("LOCKHOUND_SHARED"); env && *env) {
        if (fs::is_directory(env)) return std::string(env);
        return std::nullopt;
    }
    fs::path p = fs::path(LH_SOURCE_DIR) / ".." / "shared";
    if (fs::is_directory(p / "dumps")) return fs::canonical(p).string();
    return std::nullopt;
}

static bool is_vmcore(const fs::path& p) {
    return p.filename().string().rfind("vmcore", 0) == 0 && fs::is_regular_file(p);
}

static std::vector<SharedDump> dumps_under(const fs::path& dumps);

std::vector<SharedDump> shared_dumps() {
    auto dir = shared_dir();
    if (!dir) return {};
    return dumps_under(fs::path(*dir) / "dumps");
}

std::vector<SharedDump> extra_dumps() {
    fs::path root;
    if (const char* env = std::getenv("LOCKHOUND_EXTRA_DUMPS"); env && *env)
        root = env;
    else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
        root = fs::path(x) / "lh-dumps";
    else if (const char* h = std::getenv("HOME"); h && *h)
        root = fs::path(h) / ".cache" / "lh-dumps";
    if (root.empty() || !fs::is_directory(root)) return {};
    return dumps_under(root);
}

static std::vector<SharedDump> dumps_under(const fs::path& dumps) {
    std::vector<SharedDump> out;
    std::error_code ec;
    for (const auto& rel : fs::directory_iterator(dumps, ec)) {
        if (!rel.is_directory()) continue;
        for (const auto& sc : fs::directory_iterator(rel.path(), ec)) {
            fs::path truth = sc.path() / "truth.json";
            if (!fs::exists(truth)) continue;
            SharedDump d;
            d.scenario = sc.path().filename().string();
            d.release = rel.path().filename().string();
            d.dir = sc.path().string();
            std::ifstream in(truth);
            d.truth = nlohmann::json::parse(in, nullptr, false);
            for (const auto& f : fs::directory_iterator(sc.path(), ec))
                if (is_vmcore(f.path())) d.vmcores.push_back(f.path().string());
            std::sort(d.vmcores.begin(), d.vmcores.end());
            if (!d.vmcores.empty() && !d.truth.is_discarded()) out.push_back(std::move(d));
        }
    }
    std::sort(out.begin(), out.end(), [](const SharedDump& a, const SharedDump& b) {
        return a.name() < b.name();
    });
    return out;
}

std::vector<SharedDump> sample_dumps() {
    std::vector<SharedDump> out;
    fs::path root = fs::path(LH_SOURCE_DIR) / "sample_dumps";
    std::error_code ec;
    for (const auto& sc : fs::directory_iterator(root, ec)) {
        fs::path truth = sc.path() / "truth.json";
        if (!sc.is_directory() || !fs::exists(truth)) continue;
        SharedDump d;
        d.scenario = "sample/" + sc.path().filename().string();
        d.dir = sc.path().string();
        std::ifstream in(truth);
        d.truth = nlohmann::json::parse(in, nullptr, false);
        if (d.truth.is_discarded()) continue;
        d.release = d.truth.value("kernel_release", "");
        for (const auto& f : fs::directory_iterator(sc.path(), ec))
            if (is_vmcore(f.path())) d.vmcores.push_back(f.path().string());
        std::sort(d.vmcores.begin(), d.vmcores.end());
        if (!d.vmcores.empty()) out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [](const SharedDump& a, const SharedDump& b) {
        return a.name() < b.name();
    });
    return out;
}

std::vector<SharedDump> all_truth_dumps() {
    auto out = shared_dumps();
    auto samples = sample_dumps();
    out.insert(out.end(), samples.begin(), samples.end());
    return out;
}

std::vector<SharedDump> every_dump() {
    auto out = all_truth_dumps();
    auto extra = extra_dumps();
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

std::optional<SharedDump> shared_dump(const std::string& scenario) {
    for (auto& d : shared_dumps())
        if (d.scenario == scenario) return d;
    return std::nullopt;
}

namespace {
// The vmlinux of a release in get-debuginfo.sh's cache, else under /usr/lib/debug/boot.
std::optional<std::string> cached_vmlinux(const std::string& release) {
    std::string cache;
    if (const char* c = std::getenv("DEBUGINFO_CACHE"); c && *c) {
        cache = c;
    } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
        cache = std::string(x) + "/lockdump-debuginfo";
    } else if (const char* h = std::getenv("HOME"); h && *h) {
        cache = std::string(h) + "/.cache/lockdump-debuginfo";
    }
    if (!cache.empty()) {
        fs::path p = fs::path(cache) / release / ("vmlinux-" + release);
        if (fs::exists(p)) return p.string();
    }
    fs::path sys = fs::path("/usr/lib/debug/boot") / ("vmlinux-" + release);
    if (fs::exists(sys)) return sys.string();
    return std::nullopt;
}
}  // namespace

std::optional<std::string> vmlinux_for(const std::string& release) {
    if (const char* env = std::getenv("LOCKHOUND_VMLINUX"); env && *env) {
        if (fs::exists(env)) return std::string(env);
    }
    return cached_vmlinux(release);
}

std::optional<std::string> release_vmlinux(const std::string& release) {
    if (const char* env = std::getenv("LOCKHOUND_VMLINUX"); env && *env) {
        if (std::string(env).find(release) != std::string::npos && fs::exists(env))
            return std::string(env);
    }
    return cached_vmlinux(release);
}

static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<int> wait_child(int pid, int timeout_seconds) {
    int st = 0;
    if (timeout_seconds > 0) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
        while (waitpid(pid, &st, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } else {
        waitpid(pid, &st, 0);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int make_temp_file(const std::string& stem, std::string& path) {
    std::string tmpl = (fs::temp_directory_path() / (stem + "-XXXXXX")).string();
    int fd = mkstemp(tmpl.data());
    path = tmpl;
    return fd;
}

CommandResult run_lockhound(const std::vector<std::string>& args, int timeout_seconds) {
    CommandResult res;
    std::string out_path, err_path;
    int out_fd = make_temp_file("lh-test-out", out_path);
    int err_fd = make_temp_file("lh-test-err", err_path);
    if (out_fd < 0 || err_fd < 0) return res;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        std::vector<char*> argv;
        std::string bin = lockhound_binary();
        argv.push_back(bin.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    auto status = wait_child(pid, timeout_seconds);
    close(out_fd);
    close(err_fd);
    res.timed_out = !status;
    res.status = status.value_or(-1);
    res.out = slurp(out_path);
    res.err = slurp(err_path);
    unlink(out_path.c_str());
    unlink(err_path.c_str());
    return res;
}

}  // namespace lockhound::testing
