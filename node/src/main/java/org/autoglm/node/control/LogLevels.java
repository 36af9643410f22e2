package org.autoglm.node.control;

import java.lang.reflect.Field;
import java.util.Map;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * {@code set-log-level} on slf4j-simple, our logging backend: it reads levels from system properties when a logger is
 * created and offers no API to change them later, so the property is set for loggers still to come and the level of
 * existing ones is set on their field.
 */
final class LogLevels {

    private LogLevels() {}

    /** Sets {@code level} (trace ... off) for {@code prefix} and the loggers under it; returns how many were changed. */
    static int set(String prefix, String level) {
        int value = switch (level) {
            case "trace" -> 0;
            case "debug" -> 10;
            case "info" -> 20;
            case "warn" -> 30;
            case "error" -> 40;
            case "off" -> 50;
            default -> throw new IllegalArgumentException("unknown level '" + level + "'");
        };
        if (prefix.isEmpty()) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        } else {
            System.setProperty("org.slf4j.simpleLogger.log." + prefix, level);
        }
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        try {
            Field map = findField(factory.getClass(), "loggerMap");
            map.setAccessible(true);
            int changed = 0;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) map.get(factory)).entrySet()) {
                String name = String.valueOf(e.getKey());
                if (prefix.isEmpty() || name.equals(prefix) || name.startsWith(prefix + ".")) {
                    Field current = findField(e.getValue().getClass(), "currentLogLevel");
                    current.setAccessible(true);
                    current.setInt(e.getValue(), value);
                    changed++;
                }
            }
            return changed;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("the logging backend (" + factory.getClass().getName() + ") does not let"
                    + " its levels change at run time: " + e);
        }
    }

    private static Field findField(Class<?> type, String name) throws NoSuchFieldException {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                return c.getDeclaredField(name);
            } catch (NoSuchFieldException e) {
                // look further up
            }
        }
        throw new NoSuchFieldException(type.getName() + "." + name);
    }
}
