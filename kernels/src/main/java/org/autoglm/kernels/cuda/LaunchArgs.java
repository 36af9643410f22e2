package org.autoglm.kernels.cuda;

import com.sun.jna.Memory;

/**
 * Builds {@code cuLaunchKernel}'s argument array without allocating per launch: one 8-byte slot per argument
 * and an array of pointers to the slots, reused (the driver copies the values at launch). Not thread-safe.
 */
public final class LaunchArgs {

    private static final int MAX_ARGS = 32;

    private final Memory values = new Memory(8L * MAX_ARGS);
    private final Memory pointers = new Memory(8L * MAX_ARGS);
    private int count;

    public LaunchArgs() {
        for (int i = 0; i < MAX_ARGS; i++) {
            pointers.setPointer(8L * i, values.share(8L * i));
        }
    }

    public LaunchArgs reset() {
        count = 0;
        return this;
    }

    /** A device pointer or a 64-bit integer. */
    public LaunchArgs ptr(long value) {
        values.setLong(8L * slot(), value);
        return this;
    }

    public LaunchArgs i32(int value) {
        values.setInt(8L * slot(), value);
        return this;
    }

    public LaunchArgs f32(float value) {
        values.setFloat(8L * slot(), value);
        return this;
    }

    private int slot() {
        if (count == MAX_ARGS) throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        return count++;
    }

    /** Launches {@code function} on {@code runtime} with the arguments added since {@link #reset()}. */
    public void launch(KernelRuntime runtime, long function, String name, int gridX, int gridY, int gridZ, int block,
            int sharedBytes) {
        runtime.launch(function, name, gridX, gridY, gridZ, block, sharedBytes, pointers);
    }
}
