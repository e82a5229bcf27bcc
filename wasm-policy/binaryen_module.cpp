// Guarded binaryen read (see binaryen_module.hpp).
#include "wasm-policy/binaryen_module.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace xfw::wasm {

namespace {

// Exit status of the reading child when binaryen read the module (binaryen itself exits with
// 1 on a parse error; a signal is also a parse failure).
constexpr int kChildRead = 0;

BinaryenModuleRef read_in_process(std::span<const uint8_t> bytes) {
    std::vector<char> copy(bytes.begin(), bytes.end());
    BinaryenModuleRef module = BinaryenModuleRead(copy.data(), copy.size());
    BinaryenModuleSetFeatures(module, BinaryenFeatureAll());
    return module;
}

std::string tidy(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // binaryen prints whole function bodies on validation failures; the first lines say why.
    size_t lines = 0, cut = 0;
    for (; cut < text.size() && lines < 12; ++cut)
        if (text[cut] == '\n') ++lines;
    if (cut < text.size()) text = text.substr(0, cut) + "  ...";
    return text;
}

std::string read_all(int fd) {
    std::string output;
    char buffer[4096];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (output.size() < (1 << 16)) output.append(buffer, static_cast<size_t>(n));
    }
    return output;
}

// Reads the module in a child process. The child only parses (binaryen's reader uses no
// threads), so forking is safe even when binaryen's thread pool exists in this process.
Status read_in_child(std::span<const uint8_t> bytes) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    std::fflush(nullptr);
    pid_t child = fork();
    if (child < 0) {
        int err = errno;
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return runtime_error(std::string("cannot fork to read the module: ") + std::strerror(err));
    }
    if (child == 0) {
        dup2(pipe_fds[1], STDERR_FILENO);
        dup2(pipe_fds[1], STDOUT_FILENO);
        BinaryenModuleRef module = read_in_process(bytes);
        (void)module;  // the child exits without tearing it down
        std::fflush(nullptr);
        _exit(kChildRead);
    }
    close(pipe_fds[1]);
    std::string output = read_all(pipe_fds[0]);
    close(pipe_fds[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == kChildRead) return {};
    return bad_input("malformed WebAssembly binary: " +
                     (output.empty() ? std::string("binaryen could not read it") : tidy(output)));
}

// Validates in this process with binaryen's report (printed on stderr) captured.
Status validate(BinaryenModuleRef module) {
    FILE* capture = std::tmpfile();
    if (!capture) return runtime_error(std::string("cannot create a temporary file: ") + std::strerror(errno));
    std::fflush(nullptr);
    const int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(fileno(capture), STDOUT_FILENO);
    dup2(fileno(capture), STDERR_FILENO);
    const bool valid = BinaryenModuleValidate(module);
    std::fflush(nullptr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    std::rewind(capture);
    std::string output = read_all(fileno(capture));
    std::fclose(capture);
    if (valid) return {};
    return bad_input("the module fails WebAssembly validation:\n" + tidy(output));
}

}  // namespace

Expected<ModulePtr> read_module(std::span<const uint8_t> bytes) {
    // One binaryen worker thread: policies are small, and a process that forks (above) is
    // better off without a thread pool.
    setenv("BINARYEN_CORES", "1", 0);
    XFW_TRY(read_in_child(bytes));
    ModulePtr module(read_in_process(bytes));
    XFW_TRY(validate(module.get()));
    return module;
}

}  // namespace xfw::wasm
