#include "tests/hostile/raw_h2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "absl/time/clock.h"

namespace idgate::testing {
namespace {

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3,
                  kSettings = 0x4, kPing = 0x6, kGoaway = 0x7,
                  kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;
constexpr size_t kMaxFrame = 16384;

void AppendInt(std::string* out, uint64_t value, int prefix_bits,
               uint8_t first_byte_flags) {
  const uint64_t max = (1u << prefix_bits) - 1;
  if (value < max) {
    out->push_back(static_cast<char>(first_byte_flags | value));
    return;
  }
  out->push_back(static_cast<char>(first_byte_flags | max));
  value -= max;
  while (value >= 128) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Literal header field without indexing, new name, no Huffman.
void AppendLiteral(std::string* out, const std::string& name,
                   const std::string& value) {
  out->push_back(0x00);
  AppendInt(out, name.size(), 7, 0);
  *out += name;
  AppendInt(out, value.size(), 7, 0);
  *out += value;
}

}  // namespace

RawH2::RawH2(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (send(fd_, preface.data(), preface.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(preface.size()) ||
      !WriteFrame(kSettings, 0, 0, "")) {
    close(fd_);
    fd_ = -1;
  }
}

RawH2::~RawH2() {
  if (fd_ >= 0) close(fd_);
}

RawH2::Headers RawH2::GrpcHeaders(const std::string& path,
                                  const Headers& extra) {
  Headers h = {{":method", "POST"},
               {":scheme", "http"},
               {":path", path},
               {":authority", "127.0.0.1"},
               {"content-type", "application/grpc"},
               {"te", "trailers"}};
  for (const auto& kv : extra) h.push_back(kv);
  return h;
}

bool RawH2::WriteFrame(uint8_t type, uint8_t flags, uint32_t stream,
                       const std::string& payload) {
  if (fd_ < 0) return false;
  std::string frame;
  frame.push_back(static_cast<char>((payload.size() >> 16) & 0xff));
  frame.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
  frame.push_back(static_cast<char>(payload.size() & 0xff));
  frame.push_back(static_cast<char>(type));
  frame.push_back(static_cast<char>(flags));
  frame.push_back(static_cast<char>((stream >> 24) & 0x7f));
  frame.push_back(static_cast<char>((stream >> 16) & 0xff));
  frame.push_back(static_cast<char>((stream >> 8) & 0xff));
  frame.push_back(static_cast<char>(stream & 0xff));
  frame += payload;
  size_t sent = 0;
  while (sent < frame.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    const ssize_t n =
        send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawH2::SendHeaders(uint32_t id, const Headers& headers, bool end_stream) {
  std::string block;
  for (const auto& [name, value] : headers) AppendLiteral(&block, name, value);
  const uint8_t end = end_stream ? kEndStream : 0;
  if (block.size() <= kMaxFrame)
    return WriteFrame(kHeaders, end | kEndHeaders, id, block);
  // Larger blocks continue in CONTINUATION frames.
  if (!WriteFrame(kHeaders, end, id, block.substr(0, kMaxFrame))) return false;
  for (size_t at = kMaxFrame; at < block.size(); at += kMaxFrame) {
    const bool last = at + kMaxFrame >= block.size();
    if (!WriteFrame(kContinuation, last ? kEndHeaders : 0, id,
                    block.substr(at, kMaxFrame)))
      return false;
  }
  return true;
}

bool RawH2::SendData(uint32_t id, const std::string& payload, bool end_stream) {
  if (payload.empty())
    return WriteFrame(kData, end_stream ? kEndStream : 0, id, "");
  for (size_t at = 0; at < payload.size(); at += kMaxFrame) {
    const bool last = at + kMaxFrame >= payload.size();
    if (!WriteFrame(kData, last && end_stream ? kEndStream : 0, id,
                    payload.substr(at, kMaxFrame))) {
      return false;
    }
  }
  return true;
}

std::string RawH2::GrpcFrame(const std::string& message, bool compressed,
                             int64_t declared_length) {
  const uint64_t length = declared_length >= 0
                              ? static_cast<uint64_t>(declared_length)
                              : message.size();
  std::string out;
  out.push_back(compressed ? 1 : 0);
  out.push_back(static_cast<char>((length >> 24) & 0xff));
  out.push_back(static_cast<char>((length >> 16) & 0xff));
  out.push_back(static_cast<char>((length >> 8) & 0xff));
  out.push_back(static_cast<char>(length & 0xff));
  return out + message;
}

bool RawH2::ReadFrame(absl::Time deadline, uint8_t* type, uint8_t* flags,
                      uint32_t* stream, std::string* payload) {
  while (true) {
    if (in_.size() >= 9) {
      const auto* h = reinterpret_cast<const unsigned char*>(in_.data());
      const size_t length = (size_t{h[0]} << 16) | (size_t{h[1]} << 8) | h[2];
      if (in_.size() >= 9 + length) {
        *type = h[3];
        *flags = h[4];
        *stream = ((uint32_t{h[5]} << 24) | (uint32_t{h[6]} << 16) |
                   (uint32_t{h[7]} << 8) | h[8]) &
                  0x7fffffffu;
        *payload = in_.substr(9, length);
        in_.erase(0, 9 + length);
        return true;
      }
    }
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0 || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000))) <= 0)
      continue;
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
  }
}

std::map<uint32_t, RawH2::StreamEnd> RawH2::Await(
    const std::vector<uint32_t>& ids, absl::Duration timeout) {
  std::map<uint32_t, StreamEnd> ends;
  std::set<uint32_t> open(ids.begin(), ids.end());
  for (uint32_t id : ids) ends[id];
  const absl::Time deadline = absl::Now() + timeout;
  uint8_t type, flags;
  uint32_t stream;
  std::string payload;
  // Received DATA is credited back at once, so answers never stall.
  while (!open.empty() &&
         ReadFrame(deadline, &type, &flags, &stream, &payload)) {
    switch (type) {
      case kSettings:
        if (!(flags & kAck)) WriteFrame(kSettings, kAck, 0, "");
        break;
      case kPing:
        if (!(flags & kAck)) WriteFrame(kPing, kAck, 0, payload);
        break;
      case kGoaway:
        closed_ = true;
        return ends;
      case kData:
        if (!payload.empty()) {
          std::string increment(4, '\0');
          increment[0] = static_cast<char>((payload.size() >> 24) & 0x7f);
          increment[1] = static_cast<char>((payload.size() >> 16) & 0xff);
          increment[2] = static_cast<char>((payload.size() >> 8) & 0xff);
          increment[3] = static_cast<char>(payload.size() & 0xff);
          WriteFrame(0x8, 0, 0, increment);
        }
        if ((flags & kEndStream) && ends.count(stream)) {
          ends[stream].ended = true;
          open.erase(stream);
        }
        break;
      case kHeaders:
      case kContinuation:
        if (ends.count(stream)) {
          ends[stream].header_bytes += payload;
          if (flags & kEndStream) {
            ends[stream].ended = true;
            open.erase(stream);
          }
        }
        break;
      case kRstStream:
        if (ends.count(stream)) {
          auto& e = ends[stream];
          e.ended = true;
          e.reset = true;
          if (payload.size() >= 4) {
            e.rst_code =
                (uint32_t{static_cast<unsigned char>(payload[0])} << 24) |
                (uint32_t{static_cast<unsigned char>(payload[1])} << 16) |
                (uint32_t{static_cast<unsigned char>(payload[2])} << 8) |
                static_cast<unsigned char>(payload[3]);
          }
          open.erase(stream);
        }
        break;
      default:
        break;
    }
  }
  return ends;
}

}  // namespace idgate::testing
