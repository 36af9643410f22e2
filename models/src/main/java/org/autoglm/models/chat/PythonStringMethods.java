package org.autoglm.models.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods for template expressions such as {@code content.split('</think>')[-1].strip()}
 * or {@code m.content.startswith('<tool_response>')}, which chat templates use and Jinjava lacks (it would
 * call Java's {@code String.split(regex)}, which drops trailing empty parts). Consulted before Jinjava's own
 * resolvers; only method calls on strings are handled here.
 */
final class PythonStringMethods extends ELResolver {

    private static final Set<String> METHODS = Set.of("startswith", "endswith", "strip", "lstrip", "rstrip",
            "split", "rsplit", "splitlines", "upper", "lower", "title", "capitalize", "replace", "find", "rfind",
            "count", "join", "isdigit", "isspace", "isalpha", "isalnum", "isupper", "islower");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name) || !METHODS.contains(name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(s, name, args);
        context.setPropertyResolved(true);
        return result;
    }

    private static Object call(String s, String name, Object[] args) {
        return switch (name) {
            case "startswith" -> anyOf(args, 0).stream().anyMatch(s::startsWith);
            case "endswith" -> anyOf(args, 0).stream().anyMatch(s::endsWith);
            case "strip" -> rstrip(lstrip(s, chars(args)), chars(args));
            case "lstrip" -> lstrip(s, chars(args));
            case "rstrip" -> rstrip(s, chars(args));
            case "split" -> split(s, string(args, 0), maxSplit(args), false);
            case "rsplit" -> split(s, string(args, 0), maxSplit(args), true);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n", -1)).subList(0, lineCount(s));
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT)
                    + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, string(args, 0), string(args, 1), args.length > 2 ? toInt(args[2]) : -1);
            case "find" -> (long) s.indexOf(string(args, 0));
            case "rfind" -> (long) s.lastIndexOf(string(args, 0));
            case "count" -> count(s, string(args, 0));
            case "join" -> join(s, args);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
            default -> throw new IllegalStateException(name);
        };
    }

    /** Python's str.split / rsplit: no separator splits on whitespace runs and drops empty parts. */
    static List<String> split(String s, String separator, int maxSplit, boolean fromRight) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            String[] words = s.strip().isEmpty() ? new String[0] : s.strip().split("\\s+");
            if (maxSplit < 0 || words.length <= maxSplit + 1) {
                return List.of(words);
            }
            // Rare (split(None, n)): keep it simple and exact for the common left-to-right case.
            String rest = s.stripLeading();
            for (int i = 0; i < maxSplit; i++) {
                int end = 0;
                while (end < rest.length() && !Character.isWhitespace(rest.charAt(end))) {
                    end++;
                }
                parts.add(rest.substring(0, end));
                rest = rest.substring(end).stripLeading();
            }
            parts.add(rest);
            return parts;
        }
        if (separator.isEmpty()) {
            throw new ChatTemplateException("chat template called split() with an empty separator");
        }
        if (!fromRight) {
            int from = 0;
            int at;
            while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(separator, from)) >= 0) {
                parts.add(s.substring(from, at));
                from = at + separator.length();
            }
            parts.add(s.substring(from));
            return parts;
        }
        int to = s.length();
        while (maxSplit < 0 || parts.size() < maxSplit) {
            int at = s.lastIndexOf(separator, to - separator.length());
            if (at < 0) {
                break;
            }
            parts.add(0, s.substring(at + separator.length(), to));
            to = at;
        }
        parts.add(0, s.substring(0, to));
        return parts;
    }

    static String lstrip(String s, String chars) {
        int start = 0;
        while (start < s.length() && strippable(s.charAt(start), chars)) {
            start++;
        }
        return s.substring(start);
    }

    static String rstrip(String s, String chars) {
        int end = s.length();
        while (end > 0 && strippable(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(0, end);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int done = 0; done < count; done++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            from = at + old.length();
        }
        return out.append(s.substring(from)).toString();
    }

    private static long count(String s, String part) {
        if (part.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(part); at >= 0; at = s.indexOf(part, at + part.length())) {
            n++;
        }
        return n;
    }

    private static String join(String separator, Object[] args) {
        List<String> parts = new ArrayList<>();
        if (args.length > 0 && args[0] instanceof Iterable<?> items) {
            items.forEach(item -> parts.add(String.valueOf(item)));
        }
        return String.join(separator, parts);
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousLetter = false;
        for (char c : s.toCharArray()) {
            out.append(previousLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousLetter = Character.isLetter(c);
        }
        return out.toString();
    }

    private static int lineCount(String s) {
        if (s.isEmpty()) {
            return 0;
        }
        int parts = s.split("\r\n|\r|\n", -1).length;
        // a trailing line break does not start another line
        return s.endsWith("\n") || s.endsWith("\r") ? parts - 1 : parts;
    }

    private static List<String> anyOf(Object[] args, int i) {
        if (args.length <= i || args[i] == null) {
            throw new ChatTemplateException("startswith/endswith need an argument");
        }
        if (args[i] instanceof Collection<?> options) {
            return options.stream().map(String::valueOf).toList();
        }
        return List.of(String.valueOf(args[i]));
    }

    private static String chars(Object[] args) {
        return args.length > 0 && args[0] != null ? String.valueOf(args[0]) : null;
    }

    private static String string(Object[] args, int i) {
        return args.length > i && args[i] != null ? String.valueOf(args[i]) : null;
    }

    private static int maxSplit(Object[] args) {
        return args.length > 1 && args[1] != null ? toInt(args[1]) : -1;
    }

    private static int toInt(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(String.valueOf(o));
    }

    // Only method calls are ours; every property lookup is left to Jinjava's resolvers.

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
