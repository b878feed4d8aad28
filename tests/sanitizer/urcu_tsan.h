/*
 * urcu_tsan.h - liburcu's atomics as the compiler's __atomic builtins, for
 * the ThreadSanitizer build only (configure --enable-tsan passes
 * "-include" this file to every compilation).
 *
 * liburcu 0.13 (Debian 12) implements CMM_LOAD_SHARED/CMM_STORE_SHARED,
 * uatomic_read/uatomic_set as volatile accesses and the read-modify-writes
 * as inline assembly (lock cmpxchg, lock xadd). TSan sees neither as
 * atomic: every counter read without the lock (statistics, the decay
 * clock, a barn's count) would be reported as a race, and every hand-off
 * through a cmpxchg as unsynchronised. Here the same operations are the
 * builtins TSan instruments, with the ordering x86 gives the originals:
 * a load is an acquire, a store a release (TSO), a read-modify-write
 * sequentially consistent. The barriers become fences (no-ops for TSan,
 * which orders by the accesses above). liburcu 0.14 offers the same with
 * CONFIG_RCU_USE_ATOMIC_BUILTINS.
 *
 * Included before the file's own headers: the headers taken here do not
 * depend on _LGPL_SOURCE, and their include guards keep the redefinitions.
 */
#ifndef BUDDY_URCU_TSAN_H
#define BUDDY_URCU_TSAN_H

#include <urcu/arch.h>
#include <urcu/compiler.h>
#include <urcu/system.h>
#include <urcu/uatomic.h>

#undef CMM_LOAD_SHARED
#define CMM_LOAD_SHARED(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#undef CMM_STORE_SHARED
#define CMM_STORE_SHARED(x, v)						\
	__extension__ ({						\
		__typeof__(x) _buddy_v = (v);				\
		__atomic_store_n(&(x), _buddy_v, __ATOMIC_RELEASE);	\
		_buddy_v;						\
	})

#undef uatomic_read
#define uatomic_read(addr)	__atomic_load_n((addr), __ATOMIC_ACQUIRE)
#undef uatomic_set
#define uatomic_set(addr, v)						\
	__atomic_store_n((addr), (v), __ATOMIC_RELEASE)
#undef uatomic_cmpxchg
#define uatomic_cmpxchg(addr, old, _new)				\
	__extension__ ({						\
		__typeof__(*(addr)) _buddy_old = (old);			\
		__atomic_compare_exchange_n((addr), &_buddy_old, (_new), 0, \
					    __ATOMIC_SEQ_CST,		\
					    __ATOMIC_SEQ_CST);		\
		_buddy_old;						\
	})
#undef uatomic_xchg
#define uatomic_xchg(addr, v)						\
	__atomic_exchange_n((addr), (v), __ATOMIC_SEQ_CST)
#undef uatomic_add_return
#define uatomic_add_return(addr, v)					\
	__atomic_add_fetch((addr), (v), __ATOMIC_SEQ_CST)
#undef uatomic_sub_return
#define uatomic_sub_return(addr, v)					\
	__atomic_sub_fetch((addr), (v), __ATOMIC_SEQ_CST)
#undef uatomic_add
#define uatomic_add(addr, v)	((void)uatomic_add_return((addr), (v)))
#undef uatomic_sub
#define uatomic_sub(addr, v)	((void)uatomic_sub_return((addr), (v)))
#undef uatomic_inc
#define uatomic_inc(addr)	uatomic_add((addr), 1)
#undef uatomic_dec
#define uatomic_dec(addr)	uatomic_sub((addr), 1)

#undef cmm_smp_mb
#define cmm_smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif /* BUDDY_URCU_TSAN_H */
