package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import org.autoglm.kernels.cuda.CuDriver;

/** {@link KernelTimer}'s marks as CUDA events on one stream. */
final class EventClock implements KernelTimer.Clock, AutoCloseable {

    private final long stream;
    private final long[] events;

    EventClock(long stream, int capacity) {
        this.stream = stream;
        this.events = new long[capacity];
        for (int i = 0; i < capacity; i++) {
            long[] e = new long[1];
            check(CuDriver.cuEventCreate(e, 0), "cuEventCreate");
            events[i] = e[0];
        }
    }

    @Override
    public void mark(int index) {
        check(CuDriver.cuEventRecord(events[index], stream), "cuEventRecord");
    }

    @Override
    public double millisBetween(int from, int to) {
        float[] ms = new float[1];
        check(CuDriver.cuEventElapsedTime(ms, events[from], events[to]), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public int capacity() {
        return events.length;
    }

    @Override
    public void close() {
        for (long e : events) CuDriver.cuEventDestroy_v2(e);
    }
}
