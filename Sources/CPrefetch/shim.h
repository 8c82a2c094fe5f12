// Software prefetch, which Swift cannot issue itself: the decode kernel streams the KV
// cache, and without huge pages the hardware prefetcher restarts at every 4 KiB page.
#ifndef ATTNLAB_CPREFETCH_H
#define ATTNLAB_CPREFETCH_H

/// Asks for the cache line holding p to be brought towards L1 for reading (never faults).
static inline __attribute__((always_inline)) void attnlab_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
