package org.autoglm.kernels.cuda;

/** A failure of the CUDA driver, NVRTC or cuBLAS, or a missing library; the message says which call and why. */
public class CudaException extends RuntimeException {

    /** The driver's CUDA_ERROR_OUT_OF_MEMORY. */
    public static final int OUT_OF_MEMORY = 2;

    private final int code;

    public CudaException(String message) {
        this(message, -1);
    }

    public CudaException(String message, int code) {
        super(message);
        this.code = code;
    }

    /** The library's status code, or -1 when there is none. */
    public int code() {
        return code;
    }
}
