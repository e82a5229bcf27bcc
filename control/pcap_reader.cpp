// libpcap-based capture reader.
#include "control/pcap_reader.hpp"

#include <pcap/pcap.h>

namespace xfw {

Expected<std::vector<std::vector<uint8_t>>> read_pcap_frames(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
    if (!p) return bad_input("cannot read pcap " + path + ": " + errbuf);
    std::vector<std::vector<uint8_t>> frames;
    if (const int link_type = pcap_datalink(p); link_type != DLT_EN10MB) {
        pcap_close(p);
        return bad_input(path + ": link type " + std::to_string(link_type) +
                         " is not Ethernet; capture on an Ethernet interface (tcpdump -i IFACE -w FILE)");
    }
    struct pcap_pkthdr* header;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(p, &header, &data)) == 1) {
        if (header->caplen < header->len) {
            pcap_close(p);
            return bad_input(path + ": packet " + std::to_string(frames.size() + 1) + " was captured truncated (" +
                             std::to_string(header->caplen) + " of " + std::to_string(header->len) +
                             " bytes); capture with a larger snap length (tcpdump -s 0)");
        }
        frames.emplace_back(data, data + header->caplen);
    }
    std::string err = rc == -1 ? pcap_geterr(p) : "";
    pcap_close(p);
    if (rc == -1) return bad_input(path + ": " + err);
    return frames;
}

}  // namespace xfw
