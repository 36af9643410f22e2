package org.autoglm.models;

/**
 * A checkpoint that cannot be used: missing or malformed file, unknown model type, missing field, missing
 * tensor, wrong shape. The message names the file and the field or tensor, and what to do.
 */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
