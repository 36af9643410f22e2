package org.autoglm.kernels.cuda;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Memory;
import java.util.HashMap;
import java.util.Map;

/** A loaded module (one compiled source) and its kernels by name. */
public final class KernelModule implements AutoCloseable {

    private final String source;
    private final long module;
    private final Map<String, Long> functions = new HashMap<>();

    public KernelModule(String source, byte[] image) {
        this.source = source;
        Memory m = new Memory(image.length + 1L);
        m.write(0, image, 0, image.length);
        m.setByte(image.length, (byte) 0);
        long[] out = new long[1];
        check(CuDriver.cuModuleLoadData(out, m), "cuModuleLoadData(" + source + ")");
        this.module = out[0];
    }

    /** The kernel {@code name} ({@code extern "C"} in the source). */
    public long function(String name) {
        return functions.computeIfAbsent(name, n -> {
            long[] out = new long[1];
            check(CuDriver.cuModuleGetFunction(out, module, n), "cuModuleGetFunction(" + source + ": " + n + ")");
            return out[0];
        });
    }

    /** The device address and size of the module's global {@code name}, or null when it has none. */
    public long[] global(String name) {
        long[] address = new long[1];
        long[] bytes = new long[1];
        return CuDriver.cuModuleGetGlobal_v2(address, bytes, module, name) == 0 ? new long[] {address[0], bytes[0]}
                : null;
    }

    @Override
    public void close() {
        CuDriver.cuModuleUnload(module);
    }
}
