package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import org.autoglm.kernels.cuda.CuDriver;

/**
 * A decode step captured once (stream capture of every launch of the forward pass, and of sampling when asked)
 * and replayed per step; the host only rewrites the metadata the launches read.
 */
final class DecodeGraph implements AutoCloseable {

    private final long exec;

    private DecodeGraph(long exec) {
        this.exec = exec;
    }

    /** Captures what {@code body} launches on {@code stream}. */
    static DecodeGraph capture(long stream, Runnable body) {
        check(CuDriver.cuStreamBeginCapture_v2(stream, CuDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture");
        long[] graph = new long[1];
        try {
            body.run();
        } catch (RuntimeException e) {
            CuDriver.cuStreamEndCapture(stream, graph);
            if (graph[0] != 0) CuDriver.cuGraphDestroy(graph[0]);
            throw e;
        }
        check(CuDriver.cuStreamEndCapture(stream, graph), "cuStreamEndCapture");
        try {
            long[] exec = new long[1];
            check(CuDriver.cuGraphInstantiateWithFlags(exec, graph[0], 0), "cuGraphInstantiateWithFlags");
            return new DecodeGraph(exec[0]);
        } finally {
            CuDriver.cuGraphDestroy(graph[0]);
        }
    }

    void launch(long stream) {
        int rc = CuDriver.cuGraphLaunch(exec, stream);
        if (rc != 0) check(rc, "cuGraphLaunch");
    }

    @Override
    public void close() {
        CuDriver.cuGraphExecDestroy(exec);
    }
}
