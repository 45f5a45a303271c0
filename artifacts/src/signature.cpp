#include "polc/artifacts/signature.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace polc::artifacts {

namespace fs = std::filesystem;

namespace {

// Domain separation: a signature made for a polc manifest means nothing
// anywhere else, and vice versa.
constexpr std::string_view kSignedPrefix = "polc manifest signature 1\n";
constexpr size_t kSignatureBytes = 64;
constexpr std::string_view kIdHeader = "polc-public-key";
constexpr std::string_view kExpiresHeader = "expires";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextFree>;

// OpenSSL's reason for the last failure, or `fallback`; clears its queue.
std::string openSslError(const std::string& fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return fallback + " (" + text + ")";
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string bytes;
  for (size_t i = 0; i < text.size(); i += 2) {
    int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(char(high << 4 | low));
  }
  return bytes;
}

std::string signedMessage(std::string_view manifestSha256) {
  return std::string(kSignedPrefix) + std::string(manifestSha256) + "\n";
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, size_t(length)) : std::string();
}

Expected<PublicKey> rawPublicKey(EVP_PKEY* key) {
  PublicKey raw{};
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size())
    return Error{openSslError("cannot read the raw Ed25519 public key")};
  return raw;
}

std::string dayText(std::chrono::sys_days day) {
  std::chrono::year_month_day date{day};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", int(date.year()), unsigned(date.month()),
                unsigned(date.day()));
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

Expected<Pkey> readPrivateKey(const fs::path& file) {
  auto text = readFile(file);
  if (!text) return Error{text.error()};
  Bio bio(BIO_new_mem_buf(text->data(), int(text->size())));
  if (!bio) return Error{openSslError("out of memory")};
  // No passphrase callback: OpenSSL would otherwise prompt on the terminal.
  auto noPassphrase = [](char*, int, int, void*) { return 0; };
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (!key)
    return Error{openSslError(file.string() +
                              ": not a PEM private key (an encrypted key is not supported)")};
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return Error{file.string() + ": not an Ed25519 key (make one with `polc keygen`)"};
  return key;
}

Expected<std::string> sign(EVP_PKEY* key, std::string_view message) {
  MdContext context(EVP_MD_CTX_new());
  std::array<unsigned char, kSignatureBytes> signature{};
  size_t length = signature.size();
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      length != signature.size())
    return Error{openSslError("cannot sign")};
  return hexOf(signature.data(), signature.size());
}

bool signatureVerifies(const PublicKey& publicKey, const std::string& signature,
                       std::string_view message) {
  Pkey key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, publicKey.data(), publicKey.size()));
  MdContext context(EVP_MD_CTX_new());
  bool verifies =
      key && context &&
      EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();
  return verifies;
}

struct SignatureFile {
  std::string key;
  std::string manifestSha256;
  std::string signature; // raw bytes
};

Expected<SignatureFile> parseSignatureFile(const std::string& text, const fs::path& file) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto malformed = [&](const std::string& why) {
    return Error{file.string() + ": malformed signature: " + why};
  };
  if (json.is_discarded()) return malformed("not JSON (truncated?)");
  if (!json.is_object()) return malformed("not a JSON object");
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto found = json.find(name);
    return found == json.end() ? nullptr : &*found;
  };
  const auto* schema = field("schema");
  if (!schema || !schema->is_number_integer()) return malformed("no integer \"schema\"");
  if (schema->get<int64_t>() != kSignatureSchema)
    return malformed("schema " + schema->dump() + ", this polc reads schema " +
                     std::to_string(kSignatureSchema));
  for (const char* name : {"algorithm", "key", "manifest_sha256", "signature"})
    if (!field(name) || !field(name)->is_string())
      return malformed(std::string("no string \"") + name + "\"");
  if (field("algorithm")->get<std::string>() != "ed25519")
    return malformed("algorithm \"" + field("algorithm")->get<std::string>() +
                     "\", this polc verifies \"ed25519\"");
  SignatureFile parsed{
      field("key")->get<std::string>(), field("manifest_sha256")->get<std::string>(), {}};
  auto raw = unhex(field("signature")->get<std::string>());
  if (!raw || raw->size() != kSignatureBytes)
    return malformed("\"signature\" is not " + std::to_string(kSignatureBytes) +
                     " bytes in lower-case hex (truncated?)");
  parsed.signature = std::move(*raw);
  return parsed;
}

// Creates `path` with mode 0600 (O_EXCL: a file already there, or one
// raced in, is never written through) and fsyncs it.
Status writePrivateFile(const fs::path& path, std::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot create " + path.string() + ": " + std::strerror(errno)};
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += size_t(n);
  }
  int error = written == contents.size() ? 0 : errno;
  if (!error && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && !error) error = errno;
  if (error) {
    ::unlink(path.c_str());
    return Error{"cannot write " + path.string() + ": " + std::strerror(error)};
  }
  return okStatus();
}

} // namespace

std::optional<std::chrono::sys_days> parseDay(std::string_view text) {
  int year = 0;
  unsigned month = 0, day = 0;
  char tail = 0;
  if (text.size() != 10 ||
      std::sscanf(std::string(text).c_str(), "%4d-%2u-%2u%c", &year, &month, &day, &tail) != 3)
    return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date);
}

Expected<std::pair<fs::path, fs::path>> writeKeyPair(const fs::path& prefix, const KeyPair& pair,
                                                     bool overwrite) {
  fs::path privateFile = prefix.string() + ".key", publicFile = prefix.string() + ".pub";
  std::error_code ec;
  for (const auto& file : {privateFile, publicFile})
    if (fs::exists(file, ec) && !overwrite)
      return Error{file.string() + " exists; not replacing a key (--force replaces it)"};
  if (overwrite) fs::remove(privateFile, ec);
  if (auto ok = writePrivateFile(privateFile, pair.privateKeyPem); !ok) return Error{ok.error()};
  if (auto ok = writeFile(publicFile, pair.publicKeyText); !ok) return Error{ok.error()};
  return std::pair{privateFile, publicFile};
}

std::string keyId(const PublicKey& key) {
  return sha256Hex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()))
      .substr(0, 16);
}

Expected<KeyPair> generateKeyPair(std::optional<std::chrono::sys_days> expires) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Error{openSslError("cannot generate an Ed25519 key")};
  auto raw = rawPublicKey(key.get());
  if (!raw) return Error{raw.error()};
  Bio privateBio(BIO_new(BIO_s_mem())), publicBio(BIO_new(BIO_s_mem()));
  if (!privateBio || !publicBio ||
      PEM_write_bio_PrivateKey(privateBio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1 ||
      PEM_write_bio_PUBKEY(publicBio.get(), key.get()) != 1)
    return Error{openSslError("cannot write the key pair as PEM")};
  KeyPair pair{keyId(*raw), bioText(privateBio.get()), {}};
  pair.publicKeyText = std::string(kIdHeader) + ": " + pair.id + "\n";
  if (expires) pair.publicKeyText += std::string(kExpiresHeader) + ": " + dayText(*expires) + "\n";
  pair.publicKeyText += bioText(publicBio.get());
  return pair;
}

Expected<TrustedKey> parsePublicKey(std::string_view text, const fs::path& file) {
  TrustedKey trusted;
  trusted.file = file;
  std::optional<std::string> statedId;
  // Header lines ("name: value") before the PEM block; other lines are free text.
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("-----BEGIN")) break;
    auto colon = line.find(':');
    if (line.starts_with('#') || colon == std::string::npos) continue;
    auto name = trim(std::string_view(line).substr(0, colon));
    auto value = trim(std::string_view(line).substr(colon + 1));
    if (name == kIdHeader) {
      statedId = std::string(value);
    } else if (name == kExpiresHeader) {
      trusted.expires = parseDay(value);
      if (!trusted.expires)
        return Error{file.string() + ": expires: \"" + std::string(value) +
                     "\" is not a date (YYYY-MM-DD)"};
    } else {
      return Error{file.string() + ": unknown header \"" + std::string(name) + "\" (known: " +
                   std::string(kIdHeader) + ", " + std::string(kExpiresHeader) + ")"};
    }
  }
  Bio bio(BIO_new_mem_buf(text.data(), int(text.size())));
  Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Error{openSslError(file.string() + ": no PEM public key")};
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    return Error{file.string() + ": not an Ed25519 public key"};
  auto raw = rawPublicKey(key.get());
  if (!raw) return Error{file.string() + ": " + raw.error()};
  trusted.key = *raw;
  trusted.id = keyId(*raw);
  if (statedId && *statedId != trusted.id)
    return Error{file.string() + ": header says key " + *statedId + ", the PEM block is key " +
                 trusted.id + " (was the file edited?)"};
  return trusted;
}

Expected<std::vector<TrustedKey>> readTrustedKeys(const fs::path& fileOrDirectory) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(fileOrDirectory, ec)) {
    for (const auto& entry : fs::directory_iterator(fileOrDirectory, ec))
      if (entry.path().extension() == ".pub") files.push_back(entry.path());
    if (ec) return Error{"cannot list " + fileOrDirectory.string() + ": " + ec.message()};
    if (files.empty())
      return Error{"no trusted keys in " + fileOrDirectory.string() + " (no *.pub file)"};
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(fileOrDirectory);
  }
  std::vector<TrustedKey> keys;
  for (const auto& file : files) {
    auto text = readFile(file);
    if (!text) return Error{"trusted key: " + text.error()};
    auto key = parsePublicKey(*text, file);
    if (!key) return Error{"trusted key " + key.error()};
    keys.push_back(std::move(*key));
  }
  return keys;
}

Expected<std::string> signBuildOutput(const fs::path& dir, const fs::path& privateKeyFile) {
  auto key = readPrivateKey(privateKeyFile);
  if (!key) return Error{key.error()};
  std::string manifestSha256;
  auto manifest = readManifest(dir, &manifestSha256);
  if (!manifest) return Error{manifest.error()};
  // Signing vouches for every file: never for a directory that does not match.
  if (auto verified = verifyManifest(dir, *manifest); !verified)
    return verified.failure().withContext("not signing " + dir.string() + ": ");
  auto raw = rawPublicKey(key->get());
  if (!raw) return Error{raw.error()};
  auto signature = sign(key->get(), signedMessage(manifestSha256));
  if (!signature) return Error{signature.error()};
  nlohmann::json file = {{"schema", kSignatureSchema},
                         {"algorithm", "ed25519"},
                         {"key", keyId(*raw)},
                         {"manifest_sha256", manifestSha256},
                         {"signature", *signature}};
  if (auto written = writeFile(dir / kSignatureFile, dumpJson(file)); !written)
    return Error{written.error()};
  return keyId(*raw);
}

Expected<std::string> verifySignature(const fs::path& dir, std::string_view manifestSha256,
                                      const std::vector<TrustedKey>& trust,
                                      std::chrono::system_clock::time_point now) {
  auto path = dir / kSignatureFile;
  std::error_code ec;
  if (!fs::exists(path, ec))
    return Error{
        dir.string() + " is not signed (no " + kSignatureFile +
        "), and only bundles signed by a trusted key are loaded; sign it with `polc sign " +
        dir.string() + " --key KEY`"};
  auto text = readFile(path);
  if (!text) return Error{text.error()};
  auto parsed = parseSignatureFile(*text, path);
  if (!parsed) return Error{parsed.error()};
  auto key = std::find_if(trust.begin(), trust.end(),
                          [&](const TrustedKey& trusted) { return trusted.id == parsed->key; });
  if (key == trust.end()) {
    std::string trusted;
    for (const auto& each : trust) trusted += (trusted.empty() ? "" : ", ") + each.id;
    return Error{path.string() + ": signed by key " + parsed->key +
                 ", which is not trusted (trusted: " + trusted + ")"};
  }
  if (key->expires && now >= *key->expires + std::chrono::days(1))
    return Error{path.string() + ": signed by key " + key->id + ", which expired after " +
                 dayText(*key->expires) + " (" + key->file.string() + ")"};
  if (parsed->manifestSha256 != manifestSha256)
    return Error{path.string() + ": signs a manifest.json with digest " + parsed->manifestSha256 +
                 ", not this one (" + std::string(manifestSha256) +
                 "): the manifest changed after it was signed"};
  if (!signatureVerifies(key->key, parsed->signature, signedMessage(manifestSha256)))
    return Error{path.string() + ": the signature does not verify with key " + key->id +
                 ": forged or corrupted"};
  return key->id;
}

} // namespace polc::artifacts
