package org.autoglm.models.chat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, byte for byte, for the values a chat template sees (maps, lists, strings,
 * numbers, booleans, null). Templates print tool schemas with {@code tojson}, and the model was trained on
 * Python's spacing (", " and ": "), key order and float spelling, so Jackson's compact output would change
 * the prompt.
 */
final class PythonJson {

    private PythonJson() {}

    /**
     * @param indent     null for one line; an Integer (spaces) or a String per level otherwise
     * @param separators item and key separators, or null for Python's defaults
     */
    static String dumps(Object value, boolean ensureAscii, Object indent, List<String> separators, boolean sortKeys) {
        String indentUnit = indent == null ? null
                : indent instanceof Number n ? " ".repeat(Math.max(0, n.intValue())) : indent.toString();
        String itemSeparator = separators != null ? separators.get(0) : indentUnit != null ? "," : ", ";
        String keySeparator = separators != null ? separators.get(1) : ": ";
        StringBuilder out = new StringBuilder();
        new Writer(out, ensureAscii, indentUnit, itemSeparator, keySeparator, sortKeys).write(value, 0);
        return out.toString();
    }

    private record Writer(StringBuilder out, boolean ensureAscii, String indent, String itemSeparator,
                          String keySeparator, boolean sortKeys) {

        void write(Object value, int depth) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean b) {
                out.append(b ? "true" : "false");
            } else if (value instanceof CharSequence s) {
                string(s.toString());
            } else if (value instanceof Double || value instanceof Float) {
                out.append(floatRepr(((Number) value).doubleValue()));
            } else if (value instanceof BigDecimal d) {
                out.append(floatRepr(d.doubleValue()));
            } else if (value instanceof Number n) {
                out.append(n instanceof BigInteger ? n.toString() : Long.toString(n.longValue()));
            } else if (value instanceof Map<?, ?> map) {
                object(map, depth);
            } else if (value instanceof Collection<?> c) {
                array(new ArrayList<>(c), depth);
            } else if (value instanceof Object[] a) {
                array(List.of(a), depth);
            } else {
                string(value.toString());
            }
        }

        private void object(Map<?, ?> map, int depth) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            List<Map.Entry<String, Object>> entries = new ArrayList<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                entries.add(Map.entry(keyString(e.getKey()), e.getValue() == null ? NULL : e.getValue()));
            }
            if (sortKeys) {
                entries.sort(Map.Entry.comparingByKey());
            }
            out.append('{');
            for (int i = 0; i < entries.size(); i++) {
                out.append(i == 0 ? "" : itemSeparator);
                newline(depth + 1);
                string(entries.get(i).getKey());
                out.append(keySeparator);
                Object v = entries.get(i).getValue();
                write(v == NULL ? null : v, depth + 1);
            }
            newline(depth);
            out.append('}');
        }

        private void array(List<?> items, int depth) {
            if (items.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < items.size(); i++) {
                out.append(i == 0 ? "" : itemSeparator);
                newline(depth + 1);
                write(items.get(i), depth + 1);
            }
            newline(depth);
            out.append(']');
        }

        private void newline(int depth) {
            if (indent != null) {
                out.append('\n').append(indent.repeat(depth));
            }
        }

        private String keyString(Object key) {
            if (key == null) {
                return "null";
            }
            if (key instanceof Boolean b) {
                return b ? "true" : "false";
            }
            if (key instanceof Double || key instanceof Float) {
                return floatRepr(((Number) key).doubleValue());
            }
            return key.toString();
        }

        private void string(String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }
    }

    private static final Object NULL = new Object();

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale(); // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
        }
        String plain = exact.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }
}
