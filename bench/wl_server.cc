// wl_server.cc - a server whose threads free each other's objects.
//
// Every thread is both a client and a worker.  As a client it sends
// requests: a request header and a body of mixed size (program_sizes, 16 B
// up to 256 KiB), to a worker drawn from a fixed sequence (often another
// thread).  As a worker it takes the requests in its mailbox, reads the body,
// frees the header and the body (allocated by the client), and answers with
// a response header and a small payload (tiny_sizes) of its own, which the
// client frees when it receives it.  So per request four objects, of which
// three are freed by a thread other than the one that allocated them
// whenever client and worker differ: the pattern of a server handing
// requests from I/O threads to workers and answers back.
//
// A client keeps at most kInflight requests outstanding and, at the limit,
// serves its mailbox until answers come back; every thread serves until
// every answer of the run has arrived.  Own threads, timed from "go" to the
// last join (manual time), as in wl_prodcons.cc; items = requests.
//
// Checksum (the first iteration): a worker stamps each answer with a digest
// of the request's tag and body size as read back from the body; clients add
// up mix64 of the answers they read back, an order-free sum that is the same
// whichever worker served what.
#include <chrono>
#include <thread>

#include "common.h"

namespace bench {

constexpr int kRequestsPerThread = 2000;
constexpr int kInflight = 64;

struct Msg {
	Msg *next;
	uint32_t is_answer;
	uint32_t client;
	size_t len;    // of data
	char *data;    // the request's body or the answer's payload
};

struct alignas(kCacheLine) ServerMailbox {
	std::atomic<Msg *> head;
};
static ServerMailbox inbox[kMaxThreads];
// Answers not yet received by their client, over all threads.
static std::atomic<long> unanswered;
static std::atomic<int> server_ready;
static std::atomic<bool> server_go;
static std::atomic<uint64_t> answer_sum;

static void post(int to, Msg *m)
{
	Msg *head = inbox[to].head.load(std::memory_order_relaxed);

	do
		m->next = head;
	while (!inbox[to].head.compare_exchange_weak(head, m, std::memory_order_release,
						     std::memory_order_relaxed));
}

static Msg *new_msg(size_t len, uint32_t is_answer, uint32_t client)
{
	Msg *m = static_cast<Msg *>(shim.malloc(sizeof(Msg)));
	m->is_answer = is_answer;
	m->client = client;
	m->len = len;
	m->data = static_cast<char *>(shim.malloc(len));
	touch(m->data, len);
	return m;
}

static void free_msg(Msg *m)
{
	shim.free(m->data);
	shim.free(m);
}

struct ClientState {
	int self;
	size_t s;          // index into the answer-size table
	long received;
	uint64_t sum;
};

// Serve the mailbox: answer requests, consume answers.  Returns how many
// messages were handled.
static long serve(ClientState *c)
{
	Msg *m = inbox[c->self].head.exchange(nullptr, std::memory_order_acquire);
	long n = 0;

	while (m != nullptr) {
		Msg *next = m->next;
		if (m->is_answer) {
			c->sum += mix64(readback(m->data));
			c->received++;
			free_msg(m);
			unanswered.fetch_sub(1, std::memory_order_relaxed);
		} else {
			uint64_t digest = mix64(readback(m->data) ^ m->len);
			int client = static_cast<int>(m->client);
			free_msg(m);
			Msg *a = new_msg(tiny_sizes.size[c->s++ & kSizeMask], 1,
					 static_cast<uint32_t>(client));
			stamp(a->data, digest);
			post(client, a);
		}
		m = next;
		n++;
	}
	return n;
}

static void server_thread(int self, int threads)
{
	ClientState c = {self, static_cast<size_t>(self) * 389, 0, 0};
	size_t body = static_cast<size_t>(self) * 1553;
	int sent = 0;

	server_ready.fetch_add(1);
	while (!server_go.load(std::memory_order_acquire))
		sched_yield();

	for (;;) {
		long did = 0;
		if (sent < kRequestsPerThread && sent - c.received < kInflight) {
			uint64_t tag = tag_of(static_cast<uint64_t>(self), static_cast<uint64_t>(sent));
			Msg *m = new_msg(program_sizes.size[body++ & kSizeMask], 0,
					 static_cast<uint32_t>(self));
			stamp(m->data, tag);
			post(static_cast<int>(tag % static_cast<uint64_t>(threads)), m);
			sent++;
			did++;
		}
		did += serve(&c);
		if (sent == kRequestsPerThread && unanswered.load(std::memory_order_acquire) == 0)
			break;
		if (did == 0)
			sched_yield();
	}
	answer_sum.fetch_add(c.sum);
}

static void server(benchmark::State &state)
{
	int threads = static_cast<int>(state.range(0));
	std::thread pool[kMaxThreads];
	uint64_t first_sum = 0;
	bool first = true;

	mem_begin(state);
	for (auto _ : state) {
		unanswered.store(static_cast<long>(threads) * kRequestsPerThread);
		answer_sum.store(0);
		server_ready.store(0);
		server_go.store(false);
		for (int t = 0; t < threads; t++)
			pool[t] = std::thread(server_thread, t, threads);
		while (server_ready.load() != threads)
			sched_yield();

		auto t0 = std::chrono::steady_clock::now();
		server_go.store(true, std::memory_order_release);
		for (int t = 0; t < threads; t++)
			pool[t].join();
		auto t1 = std::chrono::steady_clock::now();
		state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
		if (first)
			first_sum = answer_sum.load();
		first = false;
	}
	state.SetItemsProcessed(state.iterations() * threads * kRequestsPerThread);
	checksum_report(state, first_sum, static_cast<uint64_t>(threads) * kRequestsPerThread);
	mem_end(state);
}
BENCHMARK(server)->ArgName("threads")->RangeMultiplier(2)->Range(1, kMaxThreads)->UseManualTime();

} // namespace bench
