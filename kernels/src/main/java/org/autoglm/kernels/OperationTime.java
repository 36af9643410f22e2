package org.autoglm.kernels;

/** GPU time of one kind of operation in a profiled step ({@link CudaBackend#profileStep}). */
public record OperationTime(String operation, double microsPerStep, int launchesPerStep) {}
