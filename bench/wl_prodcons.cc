// wl_prodcons.cc - producer/consumer: objects freed by a thread other than
// the one that allocated them.
//
// Threads form a ring: thread t allocates a batch of 32 objects (16 B..2 KiB),
// links them through their first word (which touches them) and hands the
// chain to thread t+1; then it frees every object handed to it by thread t-1.
// So every free is a remote free, the pattern of a pipeline or a message
// queue.  At 1 thread the ring closes on itself and the frees are local;
// that row is the baseline the others are compared with.
//
// A mailbox holds at most 64 batches; a producer facing a full one drains its
// own mailbox and yields until there is room.  That back-pressure is why this
// workload runs its own threads instead of Google Benchmark's: a producer
// may have to wait for its consumer, and a consumer must keep draining after
// its own last batch until every producer is done, which Google Benchmark's
// end-of-loop barrier would not allow.  Each iteration starts the threads,
// times from "go" to the last join (manual time), and the run reports
// allocations per second over all threads.
//
// Each mailbox is a Treiber stack of objects; the consumer takes the whole
// stack with one exchange, so there is no ABA problem.
//
// Checksum (the first iteration): each object carries its tag in its second
// word (the first is the link); consumers add up mix64 of the tags they
// free, an order-free sum that is the same whichever thread frees what.
#include <chrono>
#include <thread>

#include "common.h"

namespace bench {

constexpr size_t kBatch = 32;
constexpr long kMailboxCap = 64 * kBatch;
// Batches each thread produces per iteration: ~64k objects, some milliseconds.
constexpr int kBatchesPerThread = 2000;

struct alignas(kCacheLine) Mailbox {
	std::atomic<void *> head;
	std::atomic<long> count;
};
static Mailbox mailbox[kMaxThreads];
static std::atomic<int> producing;
static std::atomic<int> ready;
static std::atomic<bool> go;
// The first iteration's sum of mix64(tag) over every object freed.
static std::atomic<uint64_t> tag_sum;
static bool checking;

static inline uint64_t &tag_word(void *obj)
{
	return static_cast<uint64_t *>(obj)[1];
}

static inline void *&next_of(void *obj)
{
	return *static_cast<void **>(obj);
}

// Free every object in `t`'s mailbox; returns how many.
static long drain(int t, uint64_t *sum)
{
	void *obj = mailbox[t].head.exchange(nullptr, std::memory_order_acquire);
	long n = 0;

	while (obj != nullptr) {
		void *next = next_of(obj);
		if (__builtin_expect(checking, 0))
			*sum += mix64(tag_word(obj));
		shim.free(obj);
		obj = next;
		n++;
	}
	if (n != 0)
		mailbox[t].count.fetch_sub(n, std::memory_order_relaxed);
	return n;
}

static void push(int to, void *first, void *last)
{
	void *head = mailbox[to].head.load(std::memory_order_relaxed);

	mailbox[to].count.fetch_add(kBatch, std::memory_order_relaxed);
	do
		next_of(last) = head;
	while (!mailbox[to].head.compare_exchange_weak(head, first, std::memory_order_release,
						       std::memory_order_relaxed));
}

static void worker(int self, int threads)
{
	int to = (self + 1) % threads;
	size_t s = static_cast<size_t>(self) * 733;
	uint64_t sum = 0;

	ready.fetch_add(1);
	while (!go.load(std::memory_order_acquire))
		sched_yield();

	for (int b = 0; b < kBatchesPerThread; b++) {
		void *first = nullptr, *last = nullptr;
		for (size_t k = 0; k < kBatch; k++) {
			size_t size = small_sizes.size[s++ & kSizeMask];
			void *obj = shim.malloc(size);
			touch(obj, size);
			if (__builtin_expect(checking, 0))
				tag_word(obj) = tag_of(static_cast<uint64_t>(self),
						       static_cast<uint64_t>(b) * kBatch + k);
			next_of(obj) = first;
			first = obj;
			if (last == nullptr)
				last = obj;
		}
		while (to != self && mailbox[to].count.load(std::memory_order_relaxed) >= kMailboxCap) {
			if (drain(self, &sum) == 0)
				sched_yield();
		}
		push(to, first, last);
		drain(self, &sum);
	}
	// Every push happens before its producer's decrement, so once the
	// count is zero and the mailbox is empty, nothing more can arrive.
	producing.fetch_sub(1);
	while (producing.load() > 0 || mailbox[self].head.load() != nullptr) {
		if (drain(self, &sum) == 0)
			sched_yield();
	}
	tag_sum.fetch_add(sum);
}

static void prodcons(benchmark::State &state)
{
	int threads = static_cast<int>(state.range(0));
	std::thread pool[kMaxThreads];

	tag_sum.store(0);
	checking = true;
	mem_begin(state);
	for (auto _ : state) {
		producing.store(threads);
		ready.store(0);
		go.store(false);
		for (int t = 0; t < threads; t++)
			pool[t] = std::thread(worker, t, threads);
		while (ready.load() != threads)
			sched_yield();

		auto t0 = std::chrono::steady_clock::now();
		go.store(true, std::memory_order_release);
		for (int t = 0; t < threads; t++)
			pool[t].join();
		auto t1 = std::chrono::steady_clock::now();
		state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
		checking = false;
	}
	checksum_report(state, tag_sum.load(),
			static_cast<uint64_t>(threads) * kBatchesPerThread * kBatch);
	state.SetItemsProcessed(state.iterations() * threads * kBatchesPerThread *
				static_cast<int64_t>(kBatch));
	mem_end(state);
}
BENCHMARK(prodcons)->ArgName("threads")->RangeMultiplier(2)->Range(1, kMaxThreads)->UseManualTime();

} // namespace bench
