package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/patterns.md shows each example file verbatim, so what readers copy is what {@link
 * ExamplesTest} compiles and runs. After editing an example, run this test with {@code
 * -Dpatterns.update=true} to copy the files into the page.
 */
class PatternsDocTest {
    static final Path DOC = Path.of("..", "docs", "patterns.md");
    static final Path EXAMPLES = Path.of("src", "test", "java", "dev", "courier", "client", "examples");

    private static final Pattern BLOCK =
            Pattern.compile("<!-- example: (\\w+\\.java) -->\\n```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void shouldShowEveryExampleFileVerbatim() throws IOException {
        String doc = Files.readString(DOC);
        if (Boolean.getBoolean("patterns.update")) {
            doc = withExamplesCopiedIn(doc);
            Files.writeString(DOC, doc);
        }
        Map<String, String> blocks = blocks(doc);

        List<Path> files = exampleFiles();
        assertThat(blocks.keySet())
                .as("an example block in %s for each file in %s, and no other", DOC, EXAMPLES)
                .containsExactlyInAnyOrderElementsOf(
                        files.stream().map(f -> f.getFileName().toString()).toList());
        for (Path file : files) {
            assertThat(blocks.get(file.getFileName().toString()))
                    .as("%s differs from %s; run this test with -Dpatterns.update=true", DOC, file)
                    .isEqualTo(Files.readString(file));
        }
    }

    private static Map<String, String> blocks(String doc) {
        Map<String, String> blocks = new LinkedHashMap<>();
        Matcher matcher = BLOCK.matcher(doc);
        while (matcher.find()) {
            blocks.put(matcher.group(1), matcher.group(2));
        }
        return blocks;
    }

    private static String withExamplesCopiedIn(String doc) throws IOException {
        StringBuilder updated = new StringBuilder();
        Matcher matcher = BLOCK.matcher(doc);
        while (matcher.find()) {
            String code = Files.readString(EXAMPLES.resolve(matcher.group(1)));
            String block = "<!-- example: " + matcher.group(1) + " -->\n```java\n" + code + "```";
            matcher.appendReplacement(updated, Matcher.quoteReplacement(block));
        }
        matcher.appendTail(updated);
        return updated.toString();
    }

    private static List<Path> exampleFiles() throws IOException {
        try (Stream<Path> files = Files.list(EXAMPLES)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }
}
