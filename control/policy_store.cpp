// The content-addressed policy store: <state-dir>/policies/<sha256>.wasm.
#include "control/policy_store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

namespace xfw {

namespace fs = std::filesystem;

namespace {

// Policies are small programs; refuse anything that could not be one before reading it all.
constexpr uintmax_t kMaxPolicyFileBytes = 16u << 20;

std::string store_dir(const std::string& state_dir) { return state_dir + "/policies"; }
std::string stored_path(const std::string& state_dir, const std::string& digest) {
    return store_dir(state_dir) + "/" + digest + ".wasm";
}

Expected<std::vector<uint8_t>> read_file(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return bad_input("cannot read policy " + path + ": " + ec.message());
    if (size > kMaxPolicyFileBytes)
        return bad_input("policy " + path + " is " + std::to_string(size) + " bytes; xfw accepts modules up to " +
                         std::to_string(kMaxPolicyFileBytes) + " bytes");
    std::ifstream in(path, std::ios::binary);
    if (!in) return bad_input("cannot open policy " + path + ": " + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return bad_input("cannot read policy " + path);
    return bytes;
}

bool is_digest(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string sha256_hex(const std::vector<uint8_t>& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

Expected<std::string> store_policy_file(const std::string& state_dir, const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    const std::string digest = sha256_hex(*bytes);
    const std::string dest = stored_path(state_dir, digest);
    if (fs::exists(dest)) return digest;
    std::error_code ec;
    fs::create_directories(store_dir(state_dir), ec);
    if (ec) return runtime_error("cannot create " + store_dir(state_dir) + ": " + ec.message());
    // Temp file, fsync, rename: a crash leaves either no copy or a whole one.
    const std::string tmp = dest + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < bytes->size()) {
        ssize_t n = ::write(fd, bytes->data() + done, bytes->size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return runtime_error("cannot write " + tmp + ": " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(tmp.c_str(), dest.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return runtime_error("cannot store policy copy " + dest + ": " + std::strerror(err));
    }
    return digest;
}

Expected<std::vector<uint8_t>> read_stored_policy(const std::string& state_dir, const std::string& digest) {
    if (!is_digest(digest)) return runtime_error("internal: bad policy digest \"" + digest + "\"");
    const std::string path = stored_path(state_dir, digest);
    auto bytes = read_file(path);
    if (!bytes)
        return runtime_error("the stored copy of a policy is missing or unreadable (" + path +
                             "); re-add the rule with its --policy file");
    if (sha256_hex(*bytes) != digest)
        return runtime_error("the stored copy of a policy is damaged (" + path +
                             " does not match its digest); re-add the rule with its --policy file");
    return bytes;
}

namespace {

// Runs `fn` on every policy of `ruleset`, prefixing errors with the chain and rule.
template <class Fn>
Status for_each_policy(Ruleset& ruleset, Fn&& fn) {
    for (Chain& chain : ruleset.chains)
        for (size_t i = 0; i < chain.rules.size(); ++i)
            for (PolicyRef* p : chain.rules[i].policies()) {
                Status st = fn(*p);
                if (!st)
                    return Error{chain.name + " rule " + std::to_string(i + 1) + ": " + st.error().message,
                                 st.error().exit_code};
            }
    return {};
}

}  // namespace

Status store_new_policies(const std::string& state_dir, Ruleset& ruleset) {
    return for_each_policy(ruleset, [&](PolicyRef& p) -> Status {
        if (!p.digest.empty() && p.module) return {};
        if (p.digest.empty()) {
            auto digest = store_policy_file(state_dir, p.path);
            if (!digest) return digest.error();
            p.digest = *digest;
        }
        auto bytes = read_stored_policy(state_dir, p.digest);
        if (!bytes) return bytes.error();
        p.module = std::make_shared<const std::vector<uint8_t>>(std::move(bytes).value());
        return {};
    });
}

Status read_policy_files(Ruleset& ruleset) {
    return for_each_policy(ruleset, [&](PolicyRef& p) -> Status {
        auto bytes = read_file(p.path);
        if (!bytes) return bytes.error();
        p.digest = sha256_hex(*bytes);
        p.module = std::make_shared<const std::vector<uint8_t>>(std::move(bytes).value());
        return {};
    });
}

Status load_stored_policies(const std::string& state_dir, Ruleset& ruleset) {
    return for_each_policy(ruleset, [&](PolicyRef& p) -> Status {
        auto bytes = read_stored_policy(state_dir, p.digest);
        if (!bytes) return bytes.error();
        p.module = std::make_shared<const std::vector<uint8_t>>(std::move(bytes).value());
        return {};
    });
}

void prune_policy_store(const std::string& state_dir, const Ruleset& ruleset) {
    std::set<std::string> used;
    for (const Chain& chain : ruleset.chains)
        for (const Rule& r : chain.rules)
            for (const PolicyRef* p : r.policies()) used.insert(p->digest + ".wasm");
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(store_dir(state_dir), ec)) {
        const std::string name = entry.path().filename().string();
        if (!used.count(name)) fs::remove(entry.path(), ec);
    }
}

}  // namespace xfw
