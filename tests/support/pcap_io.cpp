#include "tests/support/pcap_io.hpp"

#include <pcap/pcap.h>

#include <exception>
#include <memory>

namespace xfw::test {

namespace {

constexpr int kSnaplen = 65535;
constexpr long kFirstTimestamp = 1'700'000'000;

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

struct DumperCloser {
    void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};
using DumperHandle = std::unique_ptr<pcap_dumper_t, DumperCloser>;

Status write_pcap_impl(const std::string& path, std::span<const Frame> frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].size() > static_cast<size_t>(kSnaplen))
            return Error{"write_pcap " + path + ": frame " + std::to_string(i) + " is " +
                         std::to_string(frames[i].size()) + " bytes, more than the snaplen " +
                         std::to_string(kSnaplen)};
    }
    PcapHandle pcap(pcap_open_dead(DLT_EN10MB, kSnaplen));
    if (!pcap) return Error{"write_pcap " + path + ": pcap_open_dead failed"};
    DumperHandle dumper(pcap_dump_open(pcap.get(), path.c_str()));
    if (!dumper) return Error{"write_pcap " + path + ": " + pcap_geterr(pcap.get())};
    for (size_t i = 0; i < frames.size(); ++i) {
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = kFirstTimestamp + static_cast<long>(i / 1000);
        hdr.ts.tv_usec = static_cast<long>(i % 1000) * 1000;
        hdr.caplen = static_cast<bpf_u_int32>(frames[i].size());
        hdr.len = hdr.caplen;
        pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &hdr, frames[i].data());
    }
    if (pcap_dump_flush(dumper.get()) != 0)
        return Error{"write_pcap " + path + ": writing the file failed (disk full?)"};
    return Status::success();
}

Expected<std::vector<Frame>> read_pcap_impl(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    PcapHandle pcap(pcap_open_offline(path.c_str(), errbuf));
    if (!pcap) return Error{"read_pcap " + path + ": " + errbuf};
    if (pcap_datalink(pcap.get()) != DLT_EN10MB)
        return Error{"read_pcap " + path + ": link type " +
                     std::to_string(pcap_datalink(pcap.get())) + " is not Ethernet (DLT_EN10MB)"};
    std::vector<Frame> frames;
    for (;;) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(pcap.get(), &hdr, &data);
        if (rc == 1) {
            frames.emplace_back(data, data + hdr->caplen);
        } else if (rc == PCAP_ERROR_BREAK) {
            break;  // end of file
        } else {
            return Error{"read_pcap " + path + ": record " + std::to_string(frames.size()) +
                         ": " + pcap_geterr(pcap.get())};
        }
    }
    return frames;
}

}  // namespace

Status write_pcap(const std::string& path, std::span<const Frame> frames) {
    try {
        return write_pcap_impl(path, frames);
    } catch (const std::exception& e) {
        return Error{"write_pcap " + path + ": " + e.what()};
    }
}

Expected<std::vector<Frame>> read_pcap(const std::string& path) {
    try {
        return read_pcap_impl(path);
    } catch (const std::exception& e) {
        return Error{"read_pcap " + path + ": " + e.what()};
    }
}

}  // namespace xfw::test
