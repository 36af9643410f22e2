package org.autoglm.kernels.cuda;

/** A device allocation: its address and size. Closing frees it (the owning device frees leftovers on close). */
public final class DeviceBuffer implements AutoCloseable {

    private final CudaDevice device;
    private final long address;
    private final long bytes;

    DeviceBuffer(CudaDevice device, long address, long bytes) {
        this.device = device;
        this.address = address;
        this.bytes = bytes;
    }

    public long address() {
        return address;
    }

    /** The address {@code offset} bytes in. */
    public long at(long offset) {
        if (offset < 0 || offset > bytes) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside a buffer of " + bytes + " bytes");
        }
        return address + offset;
    }

    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        device.release(this);
    }
}
