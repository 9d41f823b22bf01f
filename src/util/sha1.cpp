#include "util/sha1.h"

#include <cstring>
#include <vector>

#include "mert/error.h"

namespace mert {
namespace {

inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void compress(uint32_t h[5], const uint8_t* block) {
  uint32_t w[80];
  for (int i = 0; i < 16; ++i)
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 | uint32_t(block[4 * i + 2]) << 8 |
           uint32_t(block[4 * i + 3]);
  for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; ++i) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    const uint32_t t = rotl(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

}  // namespace

std::array<uint8_t, 20> sha1(const std::string& bytes) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  const size_t n = bytes.size();
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t i = 0;
  for (; i + 64 <= n; i += 64) compress(h, p + i);
  // Tail: the rest, 0x80, zeros, then the bit length as a big-endian 64-bit number.
  uint8_t tail[128] = {};
  const size_t rest = n - i;
  std::memcpy(tail, p + i, rest);
  tail[rest] = 0x80;
  const size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  const uint64_t bits = uint64_t(n) * 8;
  for (int b = 0; b < 8; ++b) tail[tail_len - 1 - b] = uint8_t(bits >> (8 * b));
  for (size_t off = 0; off < tail_len; off += 64) compress(h, tail + off);
  std::array<uint8_t, 20> out{};
  for (int w = 0; w < 5; ++w)
    for (int b = 0; b < 4; ++b) out[size_t(4 * w + b)] = uint8_t(h[w] >> (24 - 8 * b));
  return out;
}

std::string sha1_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t v : sha1(bytes)) {
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

uint64_t sha1_mod(const std::string& bytes, uint64_t n) {
  if (n == 0 || n > (uint64_t(1) << 48)) throw Error("sha1_mod: modulus must be in [1, 2^48]");
  uint64_t r = 0;
  for (uint8_t v : sha1(bytes)) r = (r * 256 + v) % n;
  return r;
}

}  // namespace mert
