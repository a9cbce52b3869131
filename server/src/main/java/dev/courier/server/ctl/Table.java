package dev.courier.server.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Prints JSON objects as an aligned text table, picking fields by (dotted) path. */
final class Table {
    private final List<String> headers = new ArrayList<>();
    private final List<String> paths = new ArrayList<>();

    /** Adds a column titled {@code header} showing the field at {@code path} ("a.b" for nested). */
    Table column(String header, String path) {
        headers.add(header);
        paths.add(path);
        return this;
    }

    void print(JsonNode rows, PrintWriter out) {
        List<String[]> cells = new ArrayList<>();
        for (JsonNode row : rows) {
            String[] line = new String[paths.size()];
            for (int i = 0; i < paths.size(); i++) {
                line[i] = text(row, paths.get(i));
            }
            cells.add(line);
        }
        int[] widths = new int[headers.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = headers.get(i).length();
            for (String[] line : cells) {
                widths[i] = Math.max(widths[i], line[i].length());
            }
        }
        printLine(headers.toArray(String[]::new), widths, out);
        for (String[] line : cells) {
            printLine(line, widths, out);
        }
        out.flush();
    }

    private static void printLine(String[] values, int[] widths, PrintWriter out) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append("  ");
            }
            line.append(values[i]);
            if (i < values.length - 1) {
                line.append(" ".repeat(widths[i] - values[i].length()));
            }
        }
        out.println(line);
    }

    static String text(JsonNode row, String path) {
        JsonNode node = row;
        for (String part : path.split("\\.")) {
            node = node == null ? null : node.get(part);
        }
        if (node == null || node.isNull() || node.isMissingNode()) {
            return "";
        }
        if (node.isFloatingPointNumber()) {
            return String.format(java.util.Locale.ROOT, "%.1f", node.asDouble());
        }
        return node.isValueNode() ? node.asText() : node.toString();
    }
}
