#include "report/svg.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace lockhound::report {

namespace {

// Restores the SIGPIPE disposition on scope exit, so a `dot` that dies early gives EPIPE.
class IgnoreSigpipe {
  public:
    IgnoreSigpipe() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, &old_);
    }
    ~IgnoreSigpipe() { sigaction(SIGPIPE, &old_, nullptr); }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

  private:
    struct sigaction old_ {};
};

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::optional<std::string> find_on_path(std::string_view program,
                                        std::optional<std::string> path_env) {
    if (!path_env) {
        const char* p = std::getenv("PATH");
        path_env = p ? p : "/usr/local/bin:/usr/bin:/bin";
    }
    std::string_view rest = *path_env;
    while (true) {
        std::size_t colon = rest.find(':');
        std::string_view dir = rest.substr(0, colon);
        std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, program);
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

Result<> write_svg(std::string_view dot_text, const std::string& svg_path) {
    auto dot = find_on_path("dot");
    if (!dot)
        return fail(ErrorKind::kNotFound,
                    "Graphviz `dot` is not on PATH: install graphviz, or write the graph with "
                    "--format dot and render it elsewhere");
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0)
        return fail(ErrorKind::kIo, fmt::format("pipe: {}", std::strerror(errno)));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);  // dup2 clears CLOEXEC
    std::vector<std::string> args{"dot", "-Tsvg", "-o", svg_path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, dot->c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    if (rc != 0) {
        ::close(fds[1]);
        return fail(ErrorKind::kIo, fmt::format("cannot start {}: {}", *dot, std::strerror(rc)));
    }
    bool written = false;
    {
        IgnoreSigpipe guard;
        written = write_all(fds[1], dot_text);
    }
    ::close(fds[1]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return fail(ErrorKind::kIo, fmt::format("waitpid: {}", std::strerror(errno)));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && written) return {};
    if (WIFSIGNALED(status))
        return fail(ErrorKind::kIo, fmt::format("dot was killed by signal {}", WTERMSIG(status)));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return fail(
            ErrorKind::kIo,
            fmt::format(
                "dot -Tsvg -o {} failed with exit status {}", svg_path, WEXITSTATUS(status)));
    return fail(ErrorKind::kIo, "could not write the graph to dot");
}

}  // namespace lockhound::report
