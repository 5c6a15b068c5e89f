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

std::vector<SharedDump> shared_dumps() {
    std::vector<SharedDump> out;
    auto dir = shared_dir();
    if (!dir) return out;
    fs::path dumps = fs::path(*dir) / "dumps";
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

std::optional<SharedDump> shared_dump(const std::string& scenario) {
    for (auto& d : shared_dumps())
        if (d.scenario == scenario) return d;
    return std::nullopt;
}

std::optional<std::string> vmlinux_for(const std::string& release) {
    if (const char* env = std::getenv("LOCKHOUND_VMLINUX"); env && *env) {
        if (fs::exists(env)) return std::string(env);
    }
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

static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

CommandResult run_lockhound(const std::vector<std::string>& args, int timeout_seconds) {
    CommandResult res;
    char out_tmpl[] = "/tmp/lh-test-out-XXXXXX";
    char err_tmpl[] = "/tmp/lh-test-err-XXXXXX";
    int out_fd = mkstemp(out_tmpl);
    int err_fd = mkstemp(err_tmpl);
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
    int st = 0;
    if (timeout_seconds > 0) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
        while (waitpid(pid, &st, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                res.timed_out = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } else {
        waitpid(pid, &st, 0);
    }
    close(out_fd);
    close(err_fd);
    res.status = res.timed_out ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    res.out = slurp(out_tmpl);
    res.err = slurp(err_tmpl);
    unlink(out_tmpl);
    unlink(err_tmpl);
    return res;
}

}  // namespace lockhound::testing
