// Profiling aid: a one-thread kernel that keeps the stream busy while the host queues a whole step behind it, so
// that the step's kernels then run back to back (as from a graph) and the events between them time the kernels,
// not the host's launch rate.
#include "common.cuh"

extern "C" __global__ void hold_stream(long long cycles) {
    follow_previous_kernel();
    const long long start = clock64();
    while (clock64() - start < cycles) {
    }
}
