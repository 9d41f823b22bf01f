#pragma once
// SHA-1 (FIPS 180-4) of a byte string. Not for security: published dataset split rules hash
// names with it (jukemir / MARBLE: int(sha1(artist).hexdigest(), 16) % n), and reproducing
// those splits needs the same function.
#include <array>
#include <cstdint>
#include <string>

namespace mert {

std::array<uint8_t, 20> sha1(const std::string& bytes);
std::string sha1_hex(const std::string& bytes);
// The digest read as one big-endian 160-bit integer, modulo n (n > 0): Python's
// int(hashlib.sha1(bytes).hexdigest(), 16) % n.
uint64_t sha1_mod(const std::string& bytes, uint64_t n);

}  // namespace mert
