package org.autoglm.models.chat;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The filters and tests a Jinja template uses, found by scanning its {@code {{ }}} and {@code {% %}} tags
 * with string literals blanked out. Jinjava renders an unknown filter as an empty string without any error;
 * checking the names once at load time turns that silent corruption of the prompt into a clear message.
 */
record TemplateNames(Set<String> filters, Set<String> tests) {

    private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern TEST = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern FILTER_BLOCK = Pattern.compile("^\\s*filter\\s+([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern RAW = Pattern.compile("^[-+]?\\s*raw\\s*[-+]?$");
    private static final Pattern END_RAW = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");

    static TemplateNames scan(String source) {
        Set<String> filters = new LinkedHashSet<>();
        Set<String> tests = new LinkedHashSet<>();
        int i = 0;
        while ((i = source.indexOf('{', i)) >= 0 && i + 1 < source.length()) {
            char kind = source.charAt(i + 1);
            if (kind == '#') {
                int end = source.indexOf("#}", i + 2);
                i = end < 0 ? source.length() : end + 2;
                continue;
            }
            if (kind != '{' && kind != '%') {
                i++;
                continue;
            }
            String close = kind == '{' ? "}}" : "%}";
            StringBuilder code = new StringBuilder();
            int j = i + 2;
            while (j < source.length() && !source.startsWith(close, j)) {
                char c = source.charAt(j);
                if (c == '\'' || c == '"') {
                    j = skipString(source, j);
                    code.append("''");
                } else {
                    code.append(c);
                    j++;
                }
            }
            String tag = code.toString();
            collect(FILTER, tag, filters);
            collect(TEST, tag, tests);
            if (kind == '%') {
                collect(FILTER_BLOCK, tag, filters);
                if (RAW.matcher(tag.strip()).matches()) {
                    Matcher end = END_RAW.matcher(source);
                    j = end.find(j) ? end.start() : source.length();
                }
            }
            i = j;
        }
        return new TemplateNames(filters, tests);
    }

    private static void collect(Pattern pattern, String text, Set<String> names) {
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
    }

    /** Index just past the string literal starting at {@code start}. */
    private static int skipString(String s, int start) {
        char quote = s.charAt(start);
        int j = start + 1;
        while (j < s.length() && s.charAt(j) != quote) {
            j += s.charAt(j) == '\\' ? 2 : 1;
        }
        return Math.min(j + 1, s.length());
    }
}
