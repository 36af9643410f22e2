package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed, range-checked access to the fields of a request object. Every failure is a 400 that names the
 * parameter and says what was expected; JSON {@code null} counts as absent, as in OpenAI's API.
 */
final class Params {

    private final ObjectNode body;

    Params(ObjectNode body) {
        this.body = body;
    }

    boolean has(String name) {
        JsonNode v = body.get(name);
        return v != null && !v.isNull();
    }

    JsonNode node(String name) {
        JsonNode v = body.get(name);
        return v == null || v.isNull() ? null : v;
    }

    String string(String name, String fallback) {
        JsonNode v = node(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw ApiError.invalid(name, "'" + name + "' must be a string.");
        }
        return v.textValue();
    }

    boolean bool(String name, boolean fallback) {
        JsonNode v = node(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw ApiError.invalid(name, "'" + name + "' must be true or false.");
        }
        return v.booleanValue();
    }

    double number(String name, double fallback, double min, double max) {
        JsonNode v = node(name);
        if (v == null) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw ApiError.invalid(name, "'" + name + "' must be a number.");
        }
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) {
            throw ApiError.invalid(name, "'" + name + "' must be between " + plain(min) + " and " + plain(max)
                    + ", got " + v.asText() + ".");
        }
        return d;
    }

    /** An integer in [min, max], or {@code fallback} when absent (fallback may be null). */
    Integer integer(String name, Integer fallback, long min, long max) {
        JsonNode v = node(name);
        if (v == null) {
            return fallback;
        }
        return toInt(v, name, min, max);
    }

    Long longValue(String name) {
        JsonNode v = node(name);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiError.invalid(name, "'" + name + "' must be a 64-bit integer.");
        }
        return v.longValue();
    }

    /** A string or a list of strings (OpenAI's {@code stop}); at most {@code maxItems}. */
    List<String> stringOrList(String name, int maxItems) {
        JsonNode v = node(name);
        if (v == null) {
            return List.of();
        }
        if (v.isTextual()) {
            return List.of(v.textValue());
        }
        if (!v.isArray()) {
            throw ApiError.invalid(name, "'" + name + "' must be a string or a list of strings.");
        }
        if (v.size() > maxItems) {
            throw ApiError.invalid(name, "'" + name + "' may have at most " + maxItems + " entries.");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : v) {
            if (!item.isTextual()) {
                throw ApiError.invalid(name, "'" + name + "' must be a string or a list of strings.");
            }
            out.add(item.textValue());
        }
        return out;
    }

    static int toInt(JsonNode v, String name, long min, long max) {
        boolean integral = v.isIntegralNumber() || (v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue()));
        if (!integral) {
            throw ApiError.invalid(name, "'" + name + "' must be an integer.");
        }
        if (!v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw ApiError.invalid(name, "'" + name + "' must be between " + min + " and " + max
                    + ", got " + v.asText() + ".");
        }
        return (int) v.longValue();
    }

    private static String plain(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
