package org.autoglm.kernels.cuda;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * A reusable {@code CUlaunchConfig} for {@code cuLaunchKernelEx} asking for programmatic dependent launch: the
 * kernel may begin launching while the previous kernel in the stream finishes (every kernel of ours waits for it in
 * {@code follow_previous_kernel()}, common.cuh). Layouts from cuda.h (CUDA 12+): the config is seven 32-bit
 * dimensions, the stream at byte 32, the attribute array at 40 and its length at 48; an attribute is a 32-bit id,
 * padding to 8 bytes and a 64-byte value. Not thread-safe.
 */
final class LaunchConfig {

    // cuda.h layouts (checked by LaunchConfigLayoutTest against the installed header)
    static final int CONFIG_BYTES = 56;
    static final int CONFIG_STREAM = 32;
    static final int CONFIG_ATTRS = 40;
    static final int CONFIG_NUM_ATTRS = 48;
    static final int ATTRIBUTE_BYTES = 72;
    static final int ATTRIBUTE_VALUE = 8;

    private final Memory config = new Memory(CONFIG_BYTES);
    private final Memory attribute = new Memory(ATTRIBUTE_BYTES);

    LaunchConfig(long stream) {
        config.clear();
        attribute.clear();
        attribute.setInt(0, CuDriver.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        attribute.setInt(ATTRIBUTE_VALUE, 1);   // value.programmaticStreamSerializationAllowed
        config.setLong(CONFIG_STREAM, stream);
        config.setPointer(CONFIG_ATTRS, attribute);
        config.setInt(CONFIG_NUM_ATTRS, 1);
    }

    /** The config for a 1-D block of {@code block} threads. */
    Pointer of(int gridX, int gridY, int gridZ, int block, int sharedBytes) {
        config.setInt(0, gridX);
        config.setInt(4, gridY);
        config.setInt(8, gridZ);
        config.setInt(12, block);
        config.setInt(16, 1);
        config.setInt(20, 1);
        config.setInt(24, sharedBytes);
        return config;
    }
}
