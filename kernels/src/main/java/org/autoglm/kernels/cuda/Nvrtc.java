package org.autoglm.kernels.cuda;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/** NVRTC ({@code libnvrtc}), the runtime CUDA C compiler. Called a few times at start-up: interface mapping. */
public interface Nvrtc extends Library {

    /** Loads libnvrtc (CUDA 12 or 13), with its builtins library from the same folder. */
    static Nvrtc load() {
        return Native.load(CudaLibraries.load("nvrtc", "nvrtc-builtins").getFile().getPath(), Nvrtc.class);
    }

    int nvrtcVersion(int[] major, int[] minor);
    int nvrtcGetNumSupportedArchs(int[] count);
    int nvrtcGetSupportedArchs(int[] archs);
    String nvrtcGetErrorString(int result);
    int nvrtcCreateProgram(PointerByReference program, String source, String name, int numHeaders, String[] headers,
            String[] includeNames);
    int nvrtcCompileProgram(Pointer program, int numOptions, String[] options);
    int nvrtcGetProgramLogSize(Pointer program, long[] size);
    int nvrtcGetProgramLog(Pointer program, byte[] log);
    int nvrtcGetCUBINSize(Pointer program, long[] size);
    int nvrtcGetCUBIN(Pointer program, byte[] cubin);
    int nvrtcGetPTXSize(Pointer program, long[] size);
    int nvrtcGetPTX(Pointer program, byte[] ptx);
    int nvrtcDestroyProgram(PointerByReference program);
}
