/* xfw-bench-dpdk: the DPDK baseline of the benchmark suite. The same rules as the other
 * systems (ClassBench lines written by xfw-bench-workload) classified with rte_acl, first match
 * by priority, with per-rule packet and byte counters; or a drop-all loop (the DPDK floor).
 *
 *   xfw-bench-dpdk EAL-ARGS -- [--rules FILE --family v4|v6 | --drop-all] [--alg auto|NAME]
 *                              [--seconds S] [--runs N] [--check-ports N]
 *
 * It polls each port in turn on the main lcore. net_pcap vdevs: with rx_pcap=F the trace is
 * read once (the correctness pass); with infinite_rx=1 it is replayed from memory for --runs
 * windows of --seconds each (the classification cost without I/O). Without --seconds every
 * net_pcap port is read once; with it, only the first --check-ports ports are (so one process,
 * and one rte_acl build, serves both the correctness pass and the timed windows). Live vdevs (net_af_packet,
 * net_af_xdp): port 0 is polled until SIGINT/SIGTERM (or --seconds), and SIGUSR1 prints a
 * snapshot of the cumulative counts, so the caller can take differences around its traffic.
 *
 * It prints "ready" once polling starts, then one JSON object per window (or snapshot): the
 * port, the rte_acl algorithm in use, received packets, verdicts, per-rule counters (since the
 * window began; snapshots are cumulative) and TSC-measured nanoseconds per packet of
 * classification (key extraction, rte_acl and counting) and of the whole loop (receive,
 * classify, free).
 *
 * Every mbuf is freed after counting: "ACCEPT" means the appliance would forward it. */
#include <rte_acl.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BURST 32
#define MAX_RULES 200000

/* Classification keys: fields copied out of the packet in network order, laid out in 4-byte
 * groups as rte_acl wants (the first field one byte). Copying keeps rte_acl independent of
 * IPv4 options and IPv6 extension headers, as xfw's parser is. */
struct key4 {
	uint8_t proto, pad[3];
	uint32_t src, dst;
	uint16_t sport, dport;
};
struct key6 {
	uint8_t proto, pad[3];
	uint32_t src[4], dst[4];
	uint16_t sport, dport;
};

enum { F4_PROTO, F4_SRC, F4_DST, F4_SPORT, F4_DPORT, F4_NUM };
enum { F6_PROTO, F6_SRC0, F6_DST0 = F6_SRC0 + 4, F6_SPORT = F6_DST0 + 4, F6_DPORT, F6_NUM };

RTE_ACL_RULE_DEF(acl4_rule, F4_NUM);
RTE_ACL_RULE_DEF(acl6_rule, F6_NUM);

static struct rte_acl_field_def defs4[F4_NUM] = {
	{.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = F4_PROTO, .input_index = 0,
	 .offset = offsetof(struct key4, proto)},
	{.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F4_SRC, .input_index = 1,
	 .offset = offsetof(struct key4, src)},
	{.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = F4_DST, .input_index = 2,
	 .offset = offsetof(struct key4, dst)},
	{.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F4_SPORT, .input_index = 3,
	 .offset = offsetof(struct key4, sport)},
	{.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = F4_DPORT, .input_index = 3,
	 .offset = offsetof(struct key4, dport)},
};
static struct rte_acl_field_def defs6[F6_NUM];

static void init_defs6(void)
{
	defs6[F6_PROTO] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
		.field_index = F6_PROTO, .input_index = 0, .offset = offsetof(struct key6, proto)};
	for (int i = 0; i < 4; i++) {
		defs6[F6_SRC0 + i] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
			.field_index = F6_SRC0 + i, .input_index = 1 + i,
			.offset = offsetof(struct key6, src) + 4 * i};
		defs6[F6_DST0 + i] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
			.field_index = F6_DST0 + i, .input_index = 5 + i,
			.offset = offsetof(struct key6, dst) + 4 * i};
	}
	defs6[F6_SPORT] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
		.field_index = F6_SPORT, .input_index = 9, .offset = offsetof(struct key6, sport)};
	defs6[F6_DPORT] = (struct rte_acl_field_def){.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
		.field_index = F6_DPORT, .input_index = 9, .offset = offsetof(struct key6, dport)};
}

static volatile sig_atomic_t stop, dump;
static void on_signal(int sig) { stop = 1; (void)sig; }
static void on_usr1(int sig) { dump = 1; (void)sig; }

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "xfw-bench-dpdk: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static uint32_t mask_bits(int len, int chunk)
{
	int bits = len - 32 * chunk;
	return bits < 0 ? 0 : bits > 32 ? 32 : (uint32_t)bits;
}

struct rules {
	int count;
	bool *drop;
};

/* Reads ClassBench lines: "@src/len<TAB>dst/len<TAB>lo : hi<TAB>lo : hi<TAB>0xPP/0xMM<TAB>ACTION".
 * Line n (from 0) gets userdata n + 1 and priority count - n: the first line wins. */
static struct rte_acl_ctx *load_rules(const char *path, bool v6, struct rules *out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read %s", path);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f))
		if (line[0] == '@')
			n++;
	rewind(f);
	if (n > MAX_RULES)
		die("%s: too many rules", path);
	out->count = n;
	out->drop = calloc((size_t)n + 1, sizeof(bool));

	struct rte_acl_param prm = {
		.name = v6 ? "xfwbench6" : "xfwbench4",
		.socket_id = SOCKET_ID_ANY,
		.rule_size = v6 ? RTE_ACL_RULE_SZ(F6_NUM) : RTE_ACL_RULE_SZ(F4_NUM),
		.max_rule_num = (uint32_t)n + 1,
	};
	struct rte_acl_ctx *ctx = rte_acl_create(&prm);
	if (!ctx)
		die("rte_acl_create failed: %s", rte_strerror(rte_errno));

	int idx = 0, lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] != '@')
			continue;
		char src[64], dst[64], action[16];
		unsigned sl, dl, splo, sphi, dplo, dphi, proto, pmask;
		if (sscanf(line + 1, "%63[^/]/%u %63[^/]/%u %u : %u %u : %u %x/%x %15s", src, &sl, dst, &dl,
			   &splo, &sphi, &dplo, &dphi, &proto, &pmask, action) != 11) {
			fprintf(stderr, "xfw-bench-dpdk: %s line %d: not a ClassBench filter line\n", path, lineno);
			exit(2);
		}
		out->drop[idx + 1] = strcmp(action, "DROP") == 0;
		union {
			struct acl4_rule r4;
			struct acl6_rule r6;
		} u;
		memset(&u, 0, sizeof u);
		struct rte_acl_rule_data *data = &u.r4.data;
		data->userdata = (uint32_t)idx + 1;
		data->priority = n - idx; /* higher wins */
		data->category_mask = 1;
		struct rte_acl_field *fld = v6 ? u.r6.field : u.r4.field;
		fld[0].value.u8 = (uint8_t)proto;
		fld[0].mask_range.u8 = (uint8_t)pmask;
		if (!v6) {
			struct in_addr s, d;
			if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, dst, &d) != 1)
				die("bad IPv4 address in %s", path);
			fld[F4_SRC].value.u32 = ntohl(s.s_addr);
			fld[F4_SRC].mask_range.u32 = sl;
			fld[F4_DST].value.u32 = ntohl(d.s_addr);
			fld[F4_DST].mask_range.u32 = dl;
			fld[F4_SPORT].value.u16 = (uint16_t)splo;
			fld[F4_SPORT].mask_range.u16 = (uint16_t)sphi;
			fld[F4_DPORT].value.u16 = (uint16_t)dplo;
			fld[F4_DPORT].mask_range.u16 = (uint16_t)dphi;
		} else {
			struct in6_addr s, d;
			if (inet_pton(AF_INET6, src, &s) != 1 || inet_pton(AF_INET6, dst, &d) != 1)
				die("bad IPv6 address in %s", path);
			for (int i = 0; i < 4; i++) {
				uint32_t sw, dw;
				memcpy(&sw, s.s6_addr + 4 * i, 4);
				memcpy(&dw, d.s6_addr + 4 * i, 4);
				fld[F6_SRC0 + i].value.u32 = ntohl(sw);
				fld[F6_SRC0 + i].mask_range.u32 = mask_bits((int)sl, i);
				fld[F6_DST0 + i].value.u32 = ntohl(dw);
				fld[F6_DST0 + i].mask_range.u32 = mask_bits((int)dl, i);
			}
			fld[F6_SPORT].value.u16 = (uint16_t)splo;
			fld[F6_SPORT].mask_range.u16 = (uint16_t)sphi;
			fld[F6_DPORT].value.u16 = (uint16_t)dplo;
			fld[F6_DPORT].mask_range.u16 = (uint16_t)dphi;
		}
		int rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)&u, 1);
		if (rc != 0)
			die("rte_acl_add_rules: %s", strerror(-rc));
		idx++;
	}
	fclose(f);

	struct rte_acl_config cfg = {.num_categories = 1, .num_fields = v6 ? F6_NUM : F4_NUM};
	memcpy(cfg.defs, v6 ? defs6 : defs4, sizeof(struct rte_acl_field_def) * cfg.num_fields);
	int rc = rte_acl_build(ctx, &cfg);
	if (rc != 0)
		die("rte_acl_build failed: %s", strerror(-rc));
	return ctx;
}

static const struct {
	const char *name;
	enum rte_acl_classify_alg alg;
} algs[] = {
	{"avx512x32", RTE_ACL_CLASSIFY_AVX512X32}, {"avx512x16", RTE_ACL_CLASSIFY_AVX512X16},
	{"avx2", RTE_ACL_CLASSIFY_AVX2},           {"sse", RTE_ACL_CLASSIFY_SSE},
	{"scalar", RTE_ACL_CLASSIFY_SCALAR},
};

/* The fastest algorithm this CPU and EAL allow (--force-max-simd-bitwidth=512 lets AVX512 in),
 * or the one named; returns its name. */
static const char *choose_alg(struct rte_acl_ctx *ctx, const char *want)
{
	for (size_t i = 0; i < RTE_DIM(algs); i++) {
		if (strcmp(want, "auto") != 0 && strcmp(want, algs[i].name) != 0)
			continue;
		if (rte_acl_set_ctx_classify(ctx, algs[i].alg) == 0)
			return algs[i].name;
		if (strcmp(want, "auto") != 0)
			die("rte_acl algorithm %s is not available on this CPU/EAL", want);
	}
	die("no rte_acl algorithm available (%s)", want);
	return NULL;
}

/* Fills the key of one frame; false if it is not IPv4 (v6 = false) / IPv6. Ports are zero for
 * other protocols and non-first fragments, so port rules do not match them. */
static bool extract(const struct rte_mbuf *m, bool v6, void *key)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint32_t len = rte_pktmbuf_data_len(m);
	if (len < sizeof(struct rte_ether_hdr))
		return false;
	uint16_t type = rte_be_to_cpu_16(((const struct rte_ether_hdr *)p)->ether_type);
	uint32_t off = sizeof(struct rte_ether_hdr);
	uint8_t proto;
	uint32_t l4;
	bool first_fragment = true;
	if (!v6) {
		if (type != RTE_ETHER_TYPE_IPV4 || len < off + sizeof(struct rte_ipv4_hdr))
			return false;
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + off);
		struct key4 *k = key;
		memset(k, 0, sizeof *k);
		k->proto = proto = ip->next_proto_id;
		memcpy(&k->src, &ip->src_addr, 4);
		memcpy(&k->dst, &ip->dst_addr, 4);
		l4 = off + (uint32_t)(ip->version_ihl & 0xf) * 4;
		first_fragment = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0;
		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && first_fragment && len >= l4 + 4) {
			memcpy(&k->sport, p + l4, 2);
			memcpy(&k->dport, p + l4 + 2, 2);
		}
		return true;
	}
	if (type != RTE_ETHER_TYPE_IPV6 || len < off + sizeof(struct rte_ipv6_hdr))
		return false;
	const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(p + off);
	struct key6 *k = key;
	memset(k, 0, sizeof *k);
	k->proto = proto = ip->proto;
	memcpy(k->src, ip->src_addr, 16);
	memcpy(k->dst, ip->dst_addr, 16);
	l4 = off + sizeof(struct rte_ipv6_hdr);
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && len >= l4 + 4) {
		memcpy(&k->sport, p + l4, 2);
		memcpy(&k->dport, p + l4 + 2, 2);
	}
	return true;
}

struct counters {
	uint64_t *pkts, *bytes;
	uint64_t received, dropped, passed, other_family, classify_cycles, loop_cycles;
	uint64_t start;
};

static void reset(struct counters *c, int nrules)
{
	memset(c->pkts, 0, sizeof(uint64_t) * ((size_t)nrules + 1));
	memset(c->bytes, 0, sizeof(uint64_t) * ((size_t)nrules + 1));
	c->received = c->dropped = c->passed = c->other_family = c->classify_cycles = c->loop_cycles = 0;
	c->start = rte_rdtsc();
}

/* What was built before polling: the algorithm, the rule count, the build time and the DPDK heap
 * the rules and rte_acl's tries took (rte_malloc's allocated bytes before and after). */
struct classifier_info {
	const char *alg;
	int nrules;
	double build_ms;
	size_t memory_bytes;
};

static size_t heap_allocated_bytes(void)
{
	struct rte_malloc_socket_stats st;
	memset(&st, 0, sizeof st);
	rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
	return st.heap_allocsz_bytes;
}

static void print_window(uint16_t port, int run, const char *kind, const char *driver, bool drop_all,
			 const struct classifier_info *ci, const struct counters *c)
{
	const double hz = (double)rte_get_tsc_hz();
	struct rte_eth_stats st;
	memset(&st, 0, sizeof st);
	rte_eth_stats_get(port, &st);
	const double rx = (double)c->received;
	printf("{\"port\": %u, \"run\": %d, \"kind\": \"%s\", \"driver\": \"%s\", \"mode\": \"%s\", "
	       "\"rte_acl_alg\": \"%s\", \"rules\": %d, \"build_ms\": %.3f, \"memory_bytes\": %zu, \"received\": %" PRIu64
	       ", \"dropped\": %" PRIu64 ", \"passed\": %" PRIu64 ", \"other_family\": %" PRIu64 ", \"seconds\": %.6f, "
	       "\"busy_seconds\": %.6f, \"classify_ns_per_packet\": %.3f, \"loop_ns_per_packet\": %.3f, "
	       "\"port_ipackets\": %" PRIu64 ", \"port_imissed\": %" PRIu64 ", \"policy\": [%" PRIu64 ", %" PRIu64
	       "], \"rule_counts\": {",
	       port, run, kind, driver, drop_all ? "drop-all" : "acl", ci->alg, ci->nrules, ci->build_ms,
	       ci->memory_bytes, c->received, c->dropped,
	       c->passed, c->other_family, (double)(rte_rdtsc() - c->start) / hz, (double)c->loop_cycles / hz,
	       rx > 0 ? (double)c->classify_cycles * 1e9 / hz / rx : 0.0,
	       rx > 0 ? (double)c->loop_cycles * 1e9 / hz / rx : 0.0, st.ipackets, st.imissed, c->pkts[0], c->bytes[0]);
	bool first = true;
	for (int r = 1; r <= ci->nrules; r++) {
		if (!c->pkts[r])
			continue;
		printf("%s\"%d\": [%" PRIu64 ", %" PRIu64 "]", first ? "" : ", ", r, c->pkts[r], c->bytes[r]);
		first = false;
	}
	printf("}}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int eal = rte_eal_init(argc, argv);
	if (eal < 0)
		die("EAL initialisation failed: %s", rte_strerror(rte_errno));
	argc -= eal;
	argv += eal;

	const char *rules_path = NULL, *family = "v4", *alg_want = "auto";
	bool drop_all = false;
	double seconds = 0;
	int runs = 1;
	int check_ports = 0;
	static const struct option opts[] = {
		{"rules", required_argument, 0, 'r'}, {"family", required_argument, 0, 'f'},
		{"drop-all", no_argument, 0, 'd'},    {"alg", required_argument, 0, 'a'},
		{"seconds", required_argument, 0, 's'}, {"runs", required_argument, 0, 'n'},
		{"check-ports", required_argument, 0, 'c'},
		{0, 0, 0, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rules_path = optarg; break;
		case 'f': family = optarg; break;
		case 'd': drop_all = true; break;
		case 'a': alg_want = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'n': runs = atoi(optarg); break;
		case 'c': check_ports = atoi(optarg); break;
		default: die("unknown option (see the usage in %s)", "bench/dpdk/acl_app.c");
		}
	}
	if (!drop_all == !rules_path)
		die("give --rules FILE or --drop-all%s", "");
	if (strcmp(family, "v4") != 0 && strcmp(family, "v6") != 0)
		die("--family \"%s\": expected v4 or v6", family);
	if (runs < 1)
		die("--runs must be at least 1%s", "");
	if (check_ports < 0)
		die("--check-ports must not be negative%s", "");
	const bool v6 = strcmp(family, "v6") == 0;
	init_defs6();

	const uint16_t nports = rte_eth_dev_count_avail();
	if (nports < 1)
		die("no port: give a --vdev (net_pcap0,rx_pcap=F / net_af_packet0,iface=X / net_af_xdp0,iface=X)%s", "");

	struct rules rules = {0};
	struct rte_acl_ctx *ctx = NULL;
	const char *alg = "none";
	const uint64_t build_start = rte_rdtsc();
	const size_t heap_before = heap_allocated_bytes();
	if (!drop_all) {
		ctx = load_rules(rules_path, v6, &rules);
		alg = choose_alg(ctx, alg_want);
	}
	const struct classifier_info ci = {
		.alg = alg,
		.nrules = rules.count,
		.build_ms = (double)(rte_rdtsc() - build_start) * 1e3 / (double)rte_get_tsc_hz(),
		.memory_bytes = heap_allocated_bytes() - heap_before,
	};

	struct rte_mempool *pool = rte_pktmbuf_pool_create("xfwbench_mbufs", 16383, 256, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!pool)
		die("cannot create the mbuf pool: %s (raise -m)", rte_strerror(rte_errno));
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof conf);
	for (uint16_t port = 0; port < nports; port++)
		if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
		    rte_eth_rx_queue_setup(port, 0, 1024, (unsigned)rte_eth_dev_socket_id(port), NULL, pool) < 0 ||
		    rte_eth_tx_queue_setup(port, 0, 1024, (unsigned)rte_eth_dev_socket_id(port), NULL) < 0 ||
		    rte_eth_dev_start(port) < 0)
			die("cannot configure and start a port (%s)", rte_strerror(rte_errno));

	struct counters cnt = {
		.pkts = calloc((size_t)rules.count + 1, sizeof(uint64_t)),
		.bytes = calloc((size_t)rules.count + 1, sizeof(uint64_t)),
	};
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);

	const uint64_t hz = rte_get_tsc_hz();
	struct rte_mbuf *burst[BURST];
	union {
		struct key4 k4[BURST];
		struct key6 k6[BURST];
	} keys;
	const uint8_t *key_ptrs[BURST];
	uint32_t results[BURST];

	for (uint16_t port = 0; port < nports && !stop; port++) {
		struct rte_eth_dev_info info;
		rte_eth_dev_info_get(port, &info);
		const bool pcap = strcmp(info.driver_name, "net_pcap") == 0;
		/* A net_pcap port read once ends with its file: rx_burst reads the file synchronously, so
		 * an empty burst means the end; 20 ms without frames leaves a wide margin. */
		const bool pcap_once = pcap && (seconds == 0 || port < check_ports);
		const int port_runs = pcap && !pcap_once ? runs : 1;
		for (int run = 0; run < port_runs && !stop; run++) {
			reset(&cnt, rules.count);
			const uint64_t deadline =
				seconds > 0 && !pcap_once ? cnt.start + (uint64_t)(seconds * (double)hz) : UINT64_MAX;
			uint64_t last_rx = cnt.start;
			while (!stop) {
				const uint64_t t0 = rte_rdtsc();
				if (t0 >= deadline)
					break;
				if (dump) {
					dump = 0;
					print_window(port, run, "snapshot", info.driver_name, drop_all, &ci, &cnt);
				}
				const uint16_t n = rte_eth_rx_burst(port, 0, burst, BURST);
				if (n == 0) {
					if (pcap_once && t0 - last_rx > hz / 50)
						break;
					continue;
				}
				last_rx = t0;
				cnt.received += n;
				if (!drop_all) {
					const uint64_t c0 = rte_rdtsc();
					uint32_t k = 0;
					struct rte_mbuf *classified[BURST];
					for (uint16_t i = 0; i < n; i++) {
						void *key = v6 ? (void *)&keys.k6[k] : (void *)&keys.k4[k];
						if (extract(burst[i], v6, key)) {
							key_ptrs[k] = key;
							classified[k++] = burst[i];
						} else {
							cnt.other_family++;
							cnt.passed++;
						}
					}
					if (k)
						rte_acl_classify(ctx, key_ptrs, results, k, 1);
					for (uint32_t i = 0; i < k; i++) {
						const uint32_t r = results[i]; /* 0: no rule, the policy (ACCEPT) */
						cnt.pkts[r]++;
						cnt.bytes[r] += rte_pktmbuf_pkt_len(classified[i]);
						if (r && rules.drop[r])
							cnt.dropped++;
						else
							cnt.passed++;
					}
					cnt.classify_cycles += rte_rdtsc() - c0;
				} else {
					cnt.dropped += n;
				}
				rte_pktmbuf_free_bulk(burst, n);
				cnt.loop_cycles += rte_rdtsc() - t0;
			}
			print_window(port, run, "window", info.driver_name, drop_all, &ci, &cnt);
		}
	}

	for (uint16_t port = 0; port < nports; port++) {
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	if (ctx)
		rte_acl_free(ctx);
	rte_eal_cleanup();
	return 0;
}
